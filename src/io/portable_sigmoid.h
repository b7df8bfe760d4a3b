// exp and sigmoid in float32 with the same bits on the CPU and on the GPU, so post-processing on
// either backend ranks scores identically (detection top-k ties, Mask2Former's mask
// probabilities). Library expf differs between glibc and CUDA by an ulp here and there; this one
// is built only from IEEE-exact operations — double fma, rint, power-of-two scaling, the float
// add and divide — which every compiler must round the same way. No product meets a sum outside
// an explicit fma, so FMA contraction cannot change a result either.
//
// portable_expf(x) evaluates e^x in double (Cody-Waite reduction by ln 2, degree-13 Taylor
// polynomial; relative error below 1e-16) and rounds once to float: the correctly rounded expf
// except when e^x lies within ~1e-16 of a rounding midpoint, so it equals glibc's expf (< 0.502
// ulp) on all but a vanishing fraction of inputs. portable_sigmoid(x) is then exactly the CPU
// reference's formula 1 / (1 + exp(-x)) in float32, as torch writes it.
//
// On the host, fma is a libm call unless the compiler may assume FMA hardware; loops over many
// values use portable_sigmoid_n (portable_sigmoid.cpp), which runs an FMA build of the same code
// where the CPU has it (fma is exactly rounded either way: the bits do not change). Plain C++
// that nvcc also compiles for the device.
#pragma once
#include <math.h>
#include <stdint.h>
#include <string.h>

#ifdef __CUDACC__
#define KILN_HOST_DEVICE __host__ __device__
#else
#define KILN_HOST_DEVICE
#endif

namespace kiln {

KILN_HOST_DEVICE inline float portable_expf(float x) {
  if (!(x == x)) return x;             // NaN
  if (x > 89.0f) return INFINITY;      // e^88.73 already overflows float
  if (x < -104.0f) return 0.0f;        // below half the smallest subnormal
  const double t = double(x);
  const double n = rint(t * 1.4426950408889634);         // t / ln 2, to nearest
  double r = fma(-n, 0.6931471805599453, t);              // t - n ln2_hi
  r = fma(-n, 2.3190468138462996e-17, r);                 // - n ln2_lo: |r| <= 0.3466
  // e^r by Horner over 1/k!, k = 13..0: the k = 14 term is below 4e-18.
  double p = 1.6059043836821613e-10;
  p = fma(p, r, 2.08767569878681e-09);
  p = fma(p, r, 2.505210838544172e-08);
  p = fma(p, r, 2.755731922398589e-07);
  p = fma(p, r, 2.7557319223985893e-06);
  p = fma(p, r, 2.48015873015873e-05);
  p = fma(p, r, 0.0001984126984126984);
  p = fma(p, r, 0.001388888888888889);
  p = fma(p, r, 0.008333333333333333);
  p = fma(p, r, 0.041666666666666664);
  p = fma(p, r, 0.16666666666666666);
  p = fma(p, r, 0.5);
  p = fma(p, r, 1.0);
  p = fma(p, r, 1.0);
  // p * 2^n, exact (|n| <= 151 keeps every value a normal double; what ldexp gives without a
  // library call), then the one rounding to float.
  const uint64_t scale_bits = uint64_t(int64_t(n) + 1023) << 52;
#ifdef __CUDA_ARCH__
  const double scale = __longlong_as_double((long long)scale_bits);
#else
  double scale;
  memcpy(&scale, &scale_bits, sizeof scale);
#endif
  return float(p * scale);
}

// 1 / (1 + e^-x) in float32: each step rounded to nearest (the device intrinsics say so where
// nvcc could otherwise pick another form).
KILN_HOST_DEVICE inline float portable_sigmoid(float x) {
  const float e = portable_expf(-x);
#ifdef __CUDA_ARCH__
  return __fdiv_rn(1.0f, __fadd_rn(1.0f, e));
#else
  return 1.0f / (1.0f + e);
#endif
}

// An unsigned key that orders scores in [0, 1] (sigmoid outputs) as numbers, with NaN above
// everything, as torch.topk ranks it.
KILN_HOST_DEVICE inline uint32_t score_order_key(float score) {
  if (!(score == score)) return 0xffffffffu;
#ifdef __CUDA_ARCH__
  uint32_t bits = __float_as_uint(score);
#else
  uint32_t bits;
  memcpy(&bits, &score, sizeof bits);
#endif
  // Non-negative floats order as their bits; negatives (never from a sigmoid) as their negation.
  return (bits & 0x80000000u) ? 0x7fffffffu - (bits & 0x7fffffffu) : bits | 0x80000000u;
}

// y[i] = portable_sigmoid(x[i]) for i < n (host; x and y may be the same array).
void portable_sigmoid_n(const float* x, float* y, int64_t n);

}  // namespace kiln
