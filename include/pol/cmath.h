/* libpol — canonical binary32 math, one header for host and CUDA device.
 *
 * Every function here is `static inline` and compiles unchanged as C17 and
 * as CUDA device code, so the CPU kernels and the GPU kernels evaluate the
 * same operations in the same order and agree bit for bit. The algorithms,
 * constants and evaluation orders are normative: spec/arithmetic.md, section
 * "Transcendentals" (A-TR-*), restates them for a second implementation, and
 * spec/vectors/cmath.txt pins a set of outputs.
 *
 * Rules the code follows (A-FP-*):
 *   - binary32 only; every + - * / and sqrt rounds to nearest even;
 *     subnormals are kept;
 *   - a fused multiply-add happens only where pol_fma is written;
 *   - no libm transcendental is called; coefficients are hex-float
 *     literals, polynomials are evaluated by Horner's rule with pol_fma
 *     from the highest coefficient down;
 *   - every NaN result is the quiet NaN 0x7FC00000 (POL_NAN_BITS), whatever
 *     the NaN input was, so host and device return the same bits.
 *
 * On the device the arithmetic helpers below call the CUDA round-to-nearest
 * intrinsics (__fadd_rn, __fmul_rn, ...), which the compiler never contracts
 * or approximates. Device code must still be built without flush-to-zero
 * (no -ftz=true, no --use_fast_math), which nvcc does not reveal to the
 * preprocessor. On the host, C translation units must be compiled with
 * -ffp-contract=off and without -ffast-math; the latter is checked below.
 *
 * Accuracy, measured over every binary32 input against the exact result
 * (spec/arithmetic.md, A-TR-ACC): expf 0.76 ulp, expm1f 1.15, logf 0.84,
 * tanhf 1.49, cospif 0.88 on [0, 1]. tests/test_cmath.c samples these bounds.
 */
#ifndef POL_CMATH_H
#define POL_CMATH_H

#include <stdint.h>
#if !defined(__CUDA_ARCH__)
#include <math.h>   /* fmaf, sqrtf: correctly rounded, not transcendentals */
#include <string.h> /* memcpy for bit casts */
#endif

#if defined(__FAST_MATH__)
#error "libpol exact arithmetic must not be compiled with -ffast-math"
#endif

#if defined(__CUDACC__)
#define POL_HD __host__ __device__ static inline
#else
#define POL_HD static inline
#endif

#define POL_NAN_BITS 0x7FC00000u /* the one NaN libpol's math functions return */
#define POL_INF_BITS 0x7F800000u

/* ------------------------------------------------------------ bit casts -- */

POL_HD uint32_t pol_float_bits(float x)
{
#if defined(__CUDA_ARCH__)
    return __float_as_uint(x);
#else
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
#endif
}

POL_HD float pol_bits_float(uint32_t u)
{
#if defined(__CUDA_ARCH__)
    return __uint_as_float(u);
#else
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
#endif
}

/* ------------------------------------------------ correctly rounded ops --
 * One IEEE-754 operation each, round to nearest even. Written as functions
 * so that device code cannot be contracted into fma by nvcc's default
 * --fmad=true, and so the evaluation order reads off the source. */

POL_HD float pol_fadd(float a, float b)
{
#if defined(__CUDA_ARCH__)
    return __fadd_rn(a, b);
#else
    return a + b;
#endif
}

POL_HD float pol_fsub(float a, float b)
{
#if defined(__CUDA_ARCH__)
    return __fsub_rn(a, b);
#else
    return a - b;
#endif
}

POL_HD float pol_fmul(float a, float b)
{
#if defined(__CUDA_ARCH__)
    return __fmul_rn(a, b);
#else
    return a * b;
#endif
}

POL_HD float pol_fdiv(float a, float b)
{
#if defined(__CUDA_ARCH__)
    return __fdiv_rn(a, b);
#else
    return a / b;
#endif
}

POL_HD float pol_fsqrt(float a)
{
#if defined(__CUDA_ARCH__)
    return __fsqrt_rn(a);
#else
    return sqrtf(a);
#endif
}

/* a*b + c with a single rounding. */
POL_HD float pol_fma(float a, float b, float c)
{
#if defined(__CUDA_ARCH__)
    return __fmaf_rn(a, b, c);
#else
    return fmaf(a, b, c);
#endif
}

/* 2^k as a float, for -126 <= k <= 127 (normal powers of two only). */
POL_HD float pol__pow2i(int k)
{
    return pol_bits_float((uint32_t)(k + 127) << 23);
}

POL_HD int pol__isnan(float x)
{
    return (pol_float_bits(x) & 0x7FFFFFFFu) > POL_INF_BITS;
}

/* |x| by clearing the sign bit (exact, no flags). */
POL_HD float pol__fabs(float x)
{
    return pol_bits_float(pol_float_bits(x) & 0x7FFFFFFFu);
}

/* ------------------------------------------------------------------ exp --
 * A-TR-EXP. x = n*ln2 + r, n = nearest integer to x*log2(e) (ties to even),
 * |r| <= ln2/2 (a little more through rounding); exp(r) - 1 = r + r^2*P(r)
 * with P a degree-5 minimax fit; exp(x) = (1 + (exp(r) - 1)) * 2^n, the
 * scaling done in two exact-or-once-rounded steps so that results in the
 * subnormal range are rounded once. */

#define POL_CM_LOG2E 0x1.715476p+0f  /* log2(e) rounded */
#define POL_CM_LN2_HI 0x1.62e430p-1f /* ln2 rounded; n*LN2_HI is fused below */
#define POL_CM_LN2_LO -0x1.05c610p-29f /* ln2 - LN2_HI rounded */
#define POL_CM_SHIFT 0x1.8p+23f      /* 1.5*2^23: t + SHIFT - SHIFT = rint(t) */
#define POL_CM_EXP_MAX 0x1.62e42ep+6f /* largest x with finite exp(x) */
#define POL_CM_EXP_MIN -104.0f        /* exp(x) rounds to +0 below this */

/* P(r) ~ (exp(r) - 1 - r) / r^2 for |r| <= 0.3467 (degree 5, minimax). */
POL_HD float pol__exp_p(float r)
{
    float p = 0x1.a1174cp-13f;
    p = pol_fma(p, r, 0x1.6d1fd6p-10f);
    p = pol_fma(p, r, 0x1.111082p-7f);
    p = pol_fma(p, r, 0x1.55550ep-5f);
    p = pol_fma(p, r, 0x1.555556p-3f);
    return pol_fma(p, r, 0x1p-1f);
}

/* Cody-Waite reduction for |x| <= 104: returns n (as float, an integer) and
 * r = (x - n*LN2_HI) - n*LN2_LO. The first fma is exact (x and n*LN2_HI are
 * multiples of 2^-25 whenever n != 0, and |x - n*LN2_HI| < 1/2); the
 * second rounds once. *r_err receives the rounding error of the second step,
 * to working precision, for expm1. */
POL_HD float pol__exp_reduce(float x, float *r, float *r_err)
{
    float t = pol_fmul(x, POL_CM_LOG2E);
    float n = pol_fsub(pol_fadd(t, POL_CM_SHIFT), POL_CM_SHIFT);
    float r_hi = pol_fma(-n, POL_CM_LN2_HI, x);
    float rr = pol_fma(-n, POL_CM_LN2_LO, r_hi);
    *r = rr;
    *r_err = pol_fma(-n, POL_CM_LN2_LO, pol_fsub(r_hi, rr));
    return n;
}

/* exp(x). exp(NaN) = NaN, exp(-inf) = +0, exp(+inf) = +inf, exp(x) = +inf
 * for x > POL_CM_EXP_MAX, +0 for x < -104. */
POL_HD float pol_expf(float x)
{
    if (pol__isnan(x))
        return pol_bits_float(POL_NAN_BITS);
    if (x > POL_CM_EXP_MAX)
        return pol_bits_float(POL_INF_BITS);
    if (x < POL_CM_EXP_MIN)
        return 0.0f;
    float r, r_err;
    float nf = pol__exp_reduce(x, &r, &r_err);
    int n = (int)nf; /* -150 <= n <= 128 */
    /* e = 1 + r + (r^2*P(r) + r_err), with 1 + r split exactly into hi + c */
    float lo = pol_fma(pol_fmul(r, r), pol__exp_p(r), r_err);
    float hi = pol_fadd(1.0f, r);
    float c = pol_fadd(pol_fsub(1.0f, hi), r);
    float e = pol_fadd(hi, pol_fadd(c, lo));
    int n1 = n / 2; /* both halves within [-75, 64]: normal powers of two */
    int n2 = n - n1;
    return pol_fmul(pol_fmul(e, pol__pow2i(n1)), pol__pow2i(n2));
}

/* ---------------------------------------------------------------- expm1 --
 * A-TR-EXPM1. Same reduction and polynomial as pol_expf:
 *   n == 0:          the polynomial directly (r == x);
 *   1 <= |n| <= 24:  s = 2^n; exp(x) - 1 = s*(r + lo) + (s - 1), where
 *                    lo = r^2*P(r) + r_err; evaluated as
 *                    fma(s, lo, fma(s, r, s - 1)) (s - 1 is exact);
 *   n < -24:         (fma(s, em1, s)) - 1, em1 the polynomial of r;
 *   n > 24:          pol_expf(x) - 1. */
POL_HD float pol_expm1f(float x)
{
    if (pol__isnan(x))
        return pol_bits_float(POL_NAN_BITS);
    if (x > POL_CM_EXP_MAX)
        return pol_bits_float(POL_INF_BITS);
    if (x < -18.0f) /* exp(x) < 2^-25: the result rounds to -1 */
        return -1.0f;
    if (pol__fabs(x) < 0x1p-25f) /* +-0, subnormals, tiny: expm1(x) rounds to x */
        return x;
    float r, r_err;
    float nf = pol__exp_reduce(x, &r, &r_err);
    int n = (int)nf; /* -26 <= n <= 128 */
    if (n > 24)
        return pol_fsub(pol_expf(x), 1.0f);
    float r2 = pol_fmul(r, r);
    float p = pol__exp_p(r);
    if (n == 0)
        return pol_fma(r2, p, r); /* r == x, r_err == 0 */
    float s = pol__pow2i(n);
    if (n < -24)
        return pol_fsub(pol_fma(s, pol_fma(r2, p, r), s), 1.0f);
    float lo = pol_fma(r2, p, r_err);
    return pol_fma(s, lo, pol_fma(s, r, pol_fsub(s, 1.0f)));
}

/* ------------------------------------------------------------------ log --
 * A-TR-LOG. x = 2^k * m with m in [0x1.6a09e8p-1, 0x1.6a09e6p+0] (about
 * [sqrt(1/2), sqrt(2)]; subnormal x is first scaled by 2^25), f = m - 1
 * (exact), s = f/(2 + f), z = s^2, R = z*G(z) with G a degree-2 minimax fit
 * of (2*atanh(s)/s - 2)/z, hfsq = (0.5*f)*f. Then, using the identity
 * log(1+f) = f - (hfsq - s*(hfsq + R)):
 *   t = fma(s, hfsq + R, k*LN2_LO); rest = f - (hfsq - t);
 *   log(x) = k*LN2_HI + rest          (k*LN2_HI is exact).
 * log(NaN) = NaN, log(x < 0) = NaN, log(+-0) = -inf, log(+inf) = +inf. */

#define POL_CM_LOG_LN2_HI 0x1.62e4p-1f     /* 15 significant bits: k*LN2_HI exact */
#define POL_CM_LOG_LN2_LO 0x1.7f7d1cp-20f  /* ln2 - LOG_LN2_HI rounded */

POL_HD float pol_logf(float x)
{
    uint32_t u = pol_float_bits(x);
    if (pol__isnan(x))
        return pol_bits_float(POL_NAN_BITS);
    if ((u & 0x7FFFFFFFu) == 0)
        return pol_bits_float(POL_INF_BITS | 0x80000000u);
    if (u >> 31)
        return pol_bits_float(POL_NAN_BITS);
    if (u == POL_INF_BITS)
        return x;
    int k = 0;
    if (u < 0x00800000u) { /* subnormal: scale into the normal range, exactly */
        u = pol_float_bits(pol_fmul(x, 0x1p25f));
        k = -25;
    }
    k += (int)(u >> 23) - 127;
    uint32_t mb = u & 0x007FFFFFu;
    if (mb >= 0x3504F4u) { /* m >= sqrt(2): use m/2 */
        mb |= 0x3F000000u;
        k += 1;
    } else {
        mb |= 0x3F800000u;
    }
    float f = pol_fsub(pol_bits_float(mb), 1.0f);
    float s = pol_fdiv(f, pol_fadd(2.0f, f));
    float z = pol_fmul(s, s);
    float g = 0x1.31e03cp-2f;
    g = pol_fma(g, z, 0x1.995ed8p-2f);
    g = pol_fma(g, z, 0x1.55557ap-1f);
    float R = pol_fmul(z, g);
    float hfsq = pol_fmul(pol_fmul(0.5f, f), f);
    float kf = (float)k; /* exact: -149 <= k <= 128 */
    float t = pol_fma(s, pol_fadd(hfsq, R), pol_fmul(kf, POL_CM_LOG_LN2_LO));
    float rest = pol_fsub(f, pol_fsub(hfsq, t));
    return pol_fadd(pol_fmul(kf, POL_CM_LOG_LN2_HI), rest);
}

/* ----------------------------------------------------------------- tanh --
 * A-TR-TANH. Odd: tanh(x) = sign(x) * y(|x|), where y = 1 for |x| >= 10,
 * else t = pol_expm1f(|x| + |x|) and y = t / (t + 2). The sign is copied
 * bit-wise, so tanh(-0) = -0. tanh(NaN) = NaN. */
POL_HD float pol_tanhf(float x)
{
    if (pol__isnan(x))
        return pol_bits_float(POL_NAN_BITS);
    uint32_t sign = pol_float_bits(x) & 0x80000000u;
    float ax = pol__fabs(x);
    float y = 1.0f;
    if (ax < 10.0f) {
        float t = pol_expm1f(pol_fadd(ax, ax));
        float d = pol_fadd(t, 2.0f);
        float d_err = t <= 2.0f ? pol_fsub(t, pol_fsub(d, 2.0f))  /* exact: t + 2 - d */
                                : pol_fsub(2.0f, pol_fsub(d, t));
        float y0 = pol_fdiv(t, d);
        float rem = pol_fma(-y0, d, t); /* exact: t - y0*d */
        y = pol_fadd(y0, pol_fdiv(pol_fma(-y0, d_err, rem), d));
    }
    return pol_bits_float(pol_float_bits(y) | sign);
}

/* ---------------------------------------------------------------- cospi --
 * A-TR-COSPI. cos(pi*p) for p in [0, 1], the domain of the cosine
 * learning-rate schedule. Outside it p is clamped: p < 0 (and -0) acts as 0,
 * p > 1 as 1; NaN gives NaN.
 *   q = p <= 1/2 ? p : 1 - p             (exact), negate the result if p > 1/2
 *   q <= 1/4:  z = q*q; cos(pi*q) = fma(z, C(z), 1)
 *   q >  1/4:  w = 1/2 - q (exact); z = w*w;
 *              cos(pi*q) = sin(pi*w) = fma(w, PI_HI, w*fma(z, S(z), PI_LO))
 * C and S are degree-3 minimax fits of (cos(pi*q) - 1)/q^2 and
 * (sin(pi*w)/w - pi)/w^2 (pi as PI_HI + PI_LO) on [0, 1/16] in z. */

#define POL_CM_PI_HI 0x1.921fb6p+1f
#define POL_CM_PI_LO -0x1.777a5cp-24f

POL_HD float pol_cospif(float p)
{
    if (pol__isnan(p))
        return pol_bits_float(POL_NAN_BITS);
    if (!(p > 0.0f))
        p = 0.0f;
    if (p > 1.0f)
        p = 1.0f;
    int neg = p > 0.5f;
    float q = neg ? pol_fsub(1.0f, p) : p;
    float y;
    if (q <= 0.25f) {
        float z = pol_fmul(q, q);
        float c = 0x1.d4d962p-3f;
        c = pol_fma(c, z, -0x1.55b286p+0f);
        c = pol_fma(c, z, 0x1.03c1b0p+2f);
        c = pol_fma(c, z, -0x1.3bd3ccp+2f);
        y = pol_fma(z, c, 1.0f);
    } else {
        float w = pol_fsub(0.5f, q);
        float z = pol_fmul(w, w);
        float c = 0x1.443816p-4f;
        c = pol_fma(c, z, -0x1.32ada6p-1f);
        c = pol_fma(c, z, 0x1.466b78p+1f);
        c = pol_fma(c, z, -0x1.4abbcep+2f);
        float tail = pol_fma(z, c, POL_CM_PI_LO);
        y = pol_fma(w, POL_CM_PI_HI, pol_fmul(w, tail));
    }
    return neg ? pol_bits_float(pol_float_bits(y) ^ 0x80000000u) : y;
}

/* ----------------------------------------------------------------- powi --
 * A-TR-POWI. b^t by square-and-multiply from the least significant bit:
 *   result = 1; base = b;
 *   while t != 0: if t & 1: result = result*base; base = base*base; t >>= 1
 * Every product rounds. pol_powif(b, 0) = 1 for every b. */
POL_HD float pol_powif(float b, uint64_t t)
{
    float result = 1.0f;
    float base = b;
    while (t != 0) {
        if (t & 1u)
            result = pol_fmul(result, base);
        base = pol_fmul(base, base);
        t >>= 1;
    }
    return result;
}

/* ----------------------------------------------------------------- GELU --
 * A-GELU. The tanh form, every operation rounded separately, in this order:
 *   x2 = x*x; x3 = x2*x; u = c*(x + a*x3); t = tanh(u);
 *   gelu(x)  = (0.5*x) * (1 + t)
 *   gelu'(x) = 0.5*(1 + t) + ((0.5*x)*(1 - t*t)) * (c*(1 + a3*x2))
 * with c = sqrt(2/pi), a = 0.044715, a3 = 0.134145 (each rounded to
 * binary32; a3 is the decimal 0.134145 rounded, not 3*a rounded). */

#define POL_GELU_C 0x1.988454p-1f   /* sqrt(2/pi) = 0.7978845608... rounded */
#define POL_GELU_A 0x1.6e4e26p-5f   /* 0.044715 rounded */
#define POL_GELU_A3 0x1.12ba9ep-3f  /* 0.134145 rounded */

POL_HD float pol_gelu_f(float x)
{
    float x2 = pol_fmul(x, x);
    float x3 = pol_fmul(x2, x);
    float u = pol_fmul(POL_GELU_C, pol_fadd(x, pol_fmul(POL_GELU_A, x3)));
    float t = pol_tanhf(u);
    return pol_fmul(pol_fmul(0.5f, x), pol_fadd(1.0f, t));
}

POL_HD float pol_gelu_grad_f(float x)
{
    float x2 = pol_fmul(x, x);
    float x3 = pol_fmul(x2, x);
    float u = pol_fmul(POL_GELU_C, pol_fadd(x, pol_fmul(POL_GELU_A, x3)));
    float t = pol_tanhf(u);
    float sech2 = pol_fsub(1.0f, pol_fmul(t, t));
    float du = pol_fmul(POL_GELU_C, pol_fadd(1.0f, pol_fmul(POL_GELU_A3, x2)));
    return pol_fadd(pol_fmul(0.5f, pol_fadd(1.0f, t)),
                    pol_fmul(pol_fmul(pol_fmul(0.5f, x), sech2), du));
}

#endif /* POL_CMATH_H */
