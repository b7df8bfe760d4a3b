// CUDA binary arithmetic with numpy broadcasting (layouts from elementwise_cuda.cpp).
#include "kiln/status.h"
#include "ops/elementwise/elementwise_cuda.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::ew {
namespace {

using cuda::StridedLayout;

template <class T> __device__ __forceinline__ T apply(CudaBinary op, T x, T y) {
  if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
      case CudaBinary::kAdd: return x + y;
      case CudaBinary::kSub: return x - y;
      case CudaBinary::kMul: return x * y;
      case CudaBinary::kDiv: return x / y;
      case CudaBinary::kPow: return powf(x, y);
    }
  } else {
    switch (op) {
      case CudaBinary::kAdd: return T(uint64_t(x) + uint64_t(y));  // wraps like the CPU kernel
      case CudaBinary::kSub: return T(uint64_t(x) - uint64_t(y));
      case CudaBinary::kMul: return T(uint64_t(x) * uint64_t(y));
      case CudaBinary::kDiv: return y == 0 ? T(0) : y == T(-1) ? T(uint64_t(0) - uint64_t(x)) : T(x / y);
      case CudaBinary::kPow: return T(0);
    }
  }
  return T(0);
}

// Storage type S, math type M (float for fp16).
template <class S, class M>
__global__ void binary_contiguous(CudaBinary op, const S* __restrict__ a, const S* __restrict__ b,
                                  S* __restrict__ out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    if constexpr (std::is_same_v<S, __half>)
      out[i] = __float2half_rn(apply<float>(op, __half2float(a[i]), __half2float(b[i])));
    else
      out[i] = apply<M>(op, a[i], b[i]);
  }
}

template <class S, class M>
__global__ void binary_strided(CudaBinary op, const S* __restrict__ a, const S* __restrict__ b,
                               S* __restrict__ out, StridedLayout l, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t ia = cuda::strided_offset(l, l.strides[1], i);
    int64_t ib = cuda::strided_offset(l, l.strides[2], i);
    if constexpr (std::is_same_v<S, __half>)
      out[i] = __float2half_rn(apply<float>(op, __half2float(a[ia]), __half2float(b[ib])));
    else
      out[i] = apply<M>(op, a[ia], b[ib]);
  }
}

// The common broadcasts, without per-element index arithmetic beyond one modulo: one operand
// repeats with period `period` along the flat index (a scalar: period 1; a bias over the last
// axis: period = that axis) while the other is contiguous.
template <class S, class M>
__global__ void binary_periodic(CudaBinary op, const S* __restrict__ full, const S* __restrict__ rep,
                                bool rep_first, S* __restrict__ out, int64_t n, uint32_t period) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const uint32_t j = period == 1 ? 0u : uint32_t(i) % period;
    if constexpr (std::is_same_v<S, __half>) {
      float x = __half2float(full[i]), y = __half2float(rep[j]);
      out[i] = __float2half_rn(rep_first ? apply<float>(op, y, x) : apply<float>(op, x, y));
    } else {
      out[i] = rep_first ? apply<M>(op, rep[j], full[i]) : apply<M>(op, full[i], rep[j]);
    }
  }
}

// binary_periodic, 16 bytes per thread and step: `full` and `out` contiguous, `rep` repeating
// with a period that is 1 or a multiple of the vector width (all pointers 16-byte aligned).
template <class S, class M>
__global__ void binary_periodic_vec(CudaBinary op, const S* __restrict__ full, const S* __restrict__ rep,
                                    bool rep_first, S* __restrict__ out, int64_t vectors, uint32_t period) {
  using V = cuda::Vec16<S>;
  constexpr int kN = V::kCount;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < vectors;
       i += int64_t(gridDim.x) * blockDim.x) {
    const V x = reinterpret_cast<const V*>(full)[i];
    V y, r;
    if (period == 1) {
      for (int k = 0; k < kN; ++k) y.v[k] = rep[0];
    } else {
      y = reinterpret_cast<const V*>(rep)[(uint32_t(i) * kN % period) / kN];
    }
#pragma unroll
    for (int k = 0; k < kN; ++k) {
      const M a = M(cuda::load_f(x.v, k)), b = M(cuda::load_f(y.v, k));
      if constexpr (std::is_same_v<S, __half>)
        r.v[k] = __float2half_rn(rep_first ? apply<float>(op, b, a) : apply<float>(op, a, b));
      else
        r.v[k] = rep_first ? apply<M>(op, y.v[k], x.v[k]) : apply<M>(op, x.v[k], y.v[k]);
    }
    reinterpret_cast<V*>(out)[i] = r;
  }
}

// Operand k of l as "contiguous" (strides of a row-major tensor) or "periodic" (zero strides on
// every dim but a contiguous trailing run): returns the period, or 0 when neither.
int64_t period_of(const StridedLayout& l, int k) {
  int d = l.rank - 1;
  int64_t expect = 1;
  while (d >= 0 && l.strides[k][d] == expect) expect *= l.dims[d--];
  for (; d >= 0; --d)
    if (l.strides[k][d] != 0) return 0;
  return expect;
}

template <class S, class M>
void launch(CudaBinary op, const void* a, const void* b, void* out, const StridedLayout& l,
            CudaStream stream) {
  int64_t n = 1;
  for (int d = 0; d < l.rank; ++d) n *= l.dims[d];
  auto pa = static_cast<const S*>(a);
  auto pb = static_cast<const S*>(b);
  auto po = static_cast<S*>(out);
  const int64_t pa_period = period_of(l, 1), pb_period = period_of(l, 2);
  constexpr int kN = cuda::Vec16<S>::kCount;
  // Vectorized when the shapes and pointers allow (most elementwise traffic in practice).
  auto vec_ok = [&](const void* full, const void* rep, int64_t period) {
    return l.index32 && n % kN == 0 && (period == 1 || period % kN == 0) && cuda::aligned16(full) &&
           cuda::aligned16(out) && (period == 1 || cuda::aligned16(rep));
  };
  const bool floats = std::is_same_v<S, float> || std::is_same_v<S, __half>;
  if (floats && pa_period == n && pb_period > 0 && vec_ok(a, b, pb_period))
    binary_periodic_vec<S, M><<<cuda::grid_for(n / kN), cuda::kThreads, 0, stream>>>(op, pa, pb, false, po, n / kN,
                                                                                    uint32_t(pb_period));
  else if (floats && pb_period == n && pa_period > 0 && vec_ok(b, a, pa_period))
    binary_periodic_vec<S, M><<<cuda::grid_for(n / kN), cuda::kThreads, 0, stream>>>(op, pb, pa, true, po, n / kN,
                                                                                    uint32_t(pa_period));
  else if (cuda::layout_is_contiguous(l, 3))
    binary_contiguous<S, M><<<cuda::grid_for(n), cuda::kThreads, 0, stream>>>(op, pa, pb, po, n);
  else if (l.index32 && pa_period == n && pb_period > 0)
    binary_periodic<S, M><<<cuda::grid_for(n), cuda::kThreads, 0, stream>>>(op, pa, pb, false, po, n, uint32_t(pb_period));
  else if (l.index32 && pb_period == n && pa_period > 0)
    binary_periodic<S, M><<<cuda::grid_for(n), cuda::kThreads, 0, stream>>>(op, pb, pa, true, po, n, uint32_t(pa_period));
  else
    binary_strided<S, M><<<cuda::grid_for(n), cuda::kThreads, 0, stream>>>(op, pa, pb, po, l, n);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

void launch_binary(CudaBinary op, DType dt, const void* a, const void* b, void* out,
                   const StridedLayout& l, CudaStream stream) {
  switch (dt) {
    case DType::kF32: return launch<float, float>(op, a, b, out, l, stream);
    case DType::kF16: return launch<__half, float>(op, a, b, out, l, stream);
    case DType::kI32: return launch<int32_t, int32_t>(op, a, b, out, l, stream);
    case DType::kI64: return launch<int64_t, int64_t>(op, a, b, out, l, stream);
    default: KILN_ASSERT(!"binary dtype");
  }
}

}  // namespace kiln::ew
