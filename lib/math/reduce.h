/* Internal: the canonical reductions now live in the public host/device
 * header pol/reduce.h, shared with the CUDA kernels. */
#ifndef POL_LIB_REDUCE_H
#define POL_LIB_REDUCE_H

#include "pol/reduce.h"

#endif
