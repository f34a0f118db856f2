/* libpol — counter-based random numbers (spec/arithmetic.md, A-RNG-*).
 *
 * Every random value libpol uses is a pure function of
 * (seed, stream, step, index): there is no generator state to save, restore
 * or hash, a GPU thread computes its own values without talking to any
 * other, and a verifier recomputes any single value on its own.
 *
 * The block function is Philox4x32-10 (Salmon, Moraes, Dror, Shaw,
 * "Parallel random numbers: as easy as 1, 2, 3", SC'11), checked against the
 * Random123 known-answer vectors in tests/test_rng.c. Everything here except
 * pol_permutation is `static inline` and compiles for the CUDA device too.
 *
 * Contracts: pointer arguments are non-NULL unless stated.
 */
#ifndef POL_RNG_H
#define POL_RNG_H

#include <stdint.h>

#include "pol/cmath.h" /* POL_HD and the correctly rounded float ops */
#include "pol/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Stream ids (A-RNG-STREAM). Values are part of the spec: append only. */
typedef enum pol_stream {
    POL_STREAM_INIT = 1,    /* parameter initialisation; step = layer index */
    POL_STREAM_PERM = 2,    /* data order; step = epoch */
    POL_STREAM_DROPOUT = 3, /* reserved */
    POL_STREAM_VERIFY = 4,  /* verifier interval sample; step = 0 (spec/certificate.md) */
} pol_stream;

#define POL_PHILOX_M0 0xD2511F53u
#define POL_PHILOX_M1 0xCD9E8D57u
#define POL_PHILOX_W0 0x9E3779B9u /* golden ratio */
#define POL_PHILOX_W1 0xBB67AE85u /* sqrt(3) - 1 */

/* Philox4x32 with `rounds` rounds (10 is the canonical count; the tests
 * also check the published 7-round vectors). One round maps counter c and
 * key k to
 *   (hi(M1*c2) ^ c1 ^ k0, lo(M1*c2), hi(M0*c0) ^ c3 ^ k1, lo(M0*c0))
 * where hi/lo are the upper/lower 32 bits of the 64-bit product; between
 * rounds the key is bumped: k0 += W0, k1 += W1 (mod 2^32).
 * Out: out[0..3] (may alias ctr). */
POL_HD void pol_philox4x32(int rounds, const uint32_t ctr[4], const uint32_t key[2],
                           uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int i = 0; i < rounds; i++) {
        if (i > 0) {
            k0 += POL_PHILOX_W0;
            k1 += POL_PHILOX_W1;
        }
        uint64_t p0 = (uint64_t)POL_PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)POL_PHILOX_M1 * c2;
        c0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        c2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c1 = (uint32_t)p1;
        c3 = (uint32_t)p0;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

POL_HD void pol_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    pol_philox4x32(10, ctr, key, out);
}

/* The four words of block `block` of (seed, stream, step) (A-RNG-DRAW):
 * Philox4x32-10 with key = {seed mod 2^32, seed >> 32} and
 * counter = {block mod 2^32, block >> 32, step, stream}.
 * Word j of block b is the draw with index 4*b + j.
 * Out: out[0..3]. */
POL_HD void pol_rng_block(uint64_t seed, uint32_t stream, uint32_t step, uint64_t block,
                          uint32_t out[4])
{
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), step, stream};
    pol_philox4x32_10(ctr, key, out);
}

/* The canonical draw: word (index & 3) of block (index >> 2). */
POL_HD uint32_t pol_rng_u32(uint64_t seed, uint32_t stream, uint32_t step, uint64_t index)
{
    uint32_t w[4];
    pol_rng_block(seed, stream, step, index >> 2, w);
    return w[index & 3];
}

/* A-RNG-UNIT: (float)(u >> 8) * 2^-24, i.e. the top 24 bits as a float in
 * [0, 1 - 2^-24]; both operations are exact. */
POL_HD float pol_u32_to_unit(uint32_t u)
{
    return pol_fmul((float)(u >> 8), 0x1p-24f);
}

/* A-RNG-UNIFORM: lo + (hi - lo)*u with u = pol_u32_to_unit(draw), each of
 * the three operations rounded to nearest even, in that order. For finite
 * lo <= hi the result lies in [lo, hi]; it can equal hi through rounding. */
POL_HD float pol_rng_uniform(uint64_t seed, uint32_t stream, uint32_t step, uint64_t index,
                             float lo, float hi)
{
    float u = pol_u32_to_unit(pol_rng_u32(seed, stream, step, index));
    return pol_fadd(lo, pol_fmul(pol_fsub(hi, lo), u));
}

/* A-RNG-BOUNDED: an unbiased integer in [0, range) by Lemire's
 * multiply-and-reject. Draws words at indices *counter, *counter + 1, ...
 * (advancing *counter by one per word drawn):
 *   x = draw; m = x*range (64-bit); l = m mod 2^32;
 *   if l < range: t = (2^32 - range) mod range; while l < t: redraw x, m, l
 *   return m >> 32
 * range must be >= 1; range == 0 returns 0 and draws nothing. */
POL_HD uint32_t pol_rng_bounded(uint64_t seed, uint32_t stream, uint32_t step,
                                uint64_t *counter, uint32_t range)
{
    if (range == 0)
        return 0;
    uint64_t m = (uint64_t)pol_rng_u32(seed, stream, step, (*counter)++) * range;
    uint32_t l = (uint32_t)m;
    if (l < range) {
        uint32_t t = (uint32_t)(0u - range) % range;
        while (l < t) {
            m = (uint64_t)pol_rng_u32(seed, stream, step, (*counter)++) * range;
            l = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

/* A-RNG-PERM: the data order of epoch `epoch`. perm = identity, then a
 * Fisher-Yates shuffle from the top: counter = 0;
 *   for i = n-1 down to 1:
 *       j = pol_rng_bounded(seed, POL_STREAM_PERM, epoch, &counter, i + 1)
 *       swap(perm[i], perm[j])
 * Returns: POL_OK; POL_ERR_INVALID_ARG if perm is NULL and n > 0.
 * Out: perm[0..n-1], a permutation of 0..n-1. */
POL_WARN_UNUSED pol_status pol_permutation(uint64_t seed, uint32_t epoch, uint32_t n,
                                           uint32_t *perm);

#ifdef __cplusplus
}
#endif
#endif /* POL_RNG_H */
