/* libFuzzer target: pol_task_parse (strict JSON task files). */
#include <stdint.h>
#include <stdlib.h>

#include "pol/task.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pol_task t;
    if (pol_task_parse(data, size, "/nonexistent", &t) == POL_OK)
        (void)pol_task_lr(&t, t.steps ? t.steps - 1 : 0);
    return 0;
}
