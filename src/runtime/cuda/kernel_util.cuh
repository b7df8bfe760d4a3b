// Shared by the .cu files: launch geometry, index layouts up to rank 8, element loads and
// stores that go through float for fp16. Plain data only, so launchers pass them by value.
#pragma once
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/strided_layout.h"

namespace kiln::cuda {

constexpr int kThreads = 256;

// Grid for a grid-stride loop over n elements (capped; the loop covers the rest).
inline unsigned grid_for(int64_t n, int threads = kThreads) {
  int64_t blocks = (n + threads - 1) / threads;
  if (blocks > 65535 * 8) blocks = 65535 * 8;
  return unsigned(blocks < 1 ? 1 : blocks);
}

template <class T> __device__ __forceinline__ float load_f(const T* p, int64_t i) {
  if constexpr (std::is_same_v<T, __half>) return __half2float(p[i]);
  else return float(p[i]);
}
template <class T> __device__ __forceinline__ void store_f(T* p, int64_t i, float v) {
  if constexpr (std::is_same_v<T, __half>) p[i] = __float2half_rn(v);
  else p[i] = T(v);
}

// 16 bytes of T: the unit of vectorized elementwise kernels (8 halves, 4 floats).
template <class T> struct alignas(16) Vec16 {
  static constexpr int kCount = 16 / sizeof(T);
  T v[kCount];
};
inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

// 16 bytes of T (8 halves, 4 floats) as floats and back; fp16 rounds to nearest even.
template <class T> constexpr int kVec16 = 16 / int(sizeof(T));
template <class T> __device__ __forceinline__ void unpack16(const uint4& u, float (&f)[kVec16<T>]) {
  if constexpr (std::is_same_v<T, __half>) {
    const __half2* h = reinterpret_cast<const __half2*>(&u);
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const float2 t = __half22float2(h[k]);
      f[2 * k] = t.x, f[2 * k + 1] = t.y;
    }
  } else {
    f[0] = __uint_as_float(u.x), f[1] = __uint_as_float(u.y), f[2] = __uint_as_float(u.z), f[3] = __uint_as_float(u.w);
  }
}
template <class T> __device__ __forceinline__ uint4 pack16(const float (&f)[kVec16<T>]) {
  uint4 u;
  if constexpr (std::is_same_v<T, __half>) {
    __half2* h = reinterpret_cast<__half2*>(&u);
#pragma unroll
    for (int k = 0; k < 4; ++k) h[k] = __floats2half2_rn(f[2 * k], f[2 * k + 1]);
  } else {
    u = make_uint4(__float_as_uint(f[0]), __float_as_uint(f[1]), __float_as_uint(f[2]), __float_as_uint(f[3]));
  }
  return u;
}
// V consecutive elements of T as floats and back: one 16-byte access when V elements are 16
// bytes (the caller guarantees alignment), else V element accesses.
template <class T, int V> __device__ __forceinline__ void load_vec(const T* p, float (&f)[V]) {
  if constexpr (V == kVec16<T>) {
    unpack16<T>(__ldg(reinterpret_cast<const uint4*>(p)), f);
  } else {
#pragma unroll
    for (int k = 0; k < V; ++k) f[k] = load_f(p, k);
  }
}
template <class T, int V> __device__ __forceinline__ void store_vec(T* p, const float (&f)[V]) {
  if constexpr (V == kVec16<T>) {
    *reinterpret_cast<uint4*>(p) = pack16<T>(f);
  } else {
#pragma unroll
    for (int k = 0; k < V; ++k) store_f(p, k, f[k]);
  }
}

// Offset of linear index i (row-major over dims) under the given strides. 64-bit division is
// emulated on the GPU and costs more than the memory access it serves: layouts whose indices
// fit in 31 bits (nearly all) divide in 32 bits.
__device__ __forceinline__ int64_t strided_offset(const StridedLayout& l, const int64_t* strides, int64_t i) {
  int64_t off = 0;
  if (l.index32) {
    uint32_t u = uint32_t(i);
#pragma unroll
    for (int d = kMaxRank - 1; d >= 0; --d) {
      if (d >= l.rank) continue;
      const uint32_t dim = uint32_t(l.dims[d]);
      const uint32_t q = u / dim;
      off += int64_t(u - q * dim) * strides[d];
      u = q;
    }
    return off;
  }
#pragma unroll
  for (int d = kMaxRank - 1; d >= 0; --d) {
    if (d >= l.rank) continue;
    int64_t q = i / l.dims[d];
    off += (i - q * l.dims[d]) * strides[d];
    i = q;
  }
  return off;
}

// Block-wide sum / max of one float per thread (blockDim.x a multiple of 32, at most 1024);
// every thread gets the result. Uses 33 floats of shared memory; safe to call repeatedly.
__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
template <bool kMax> __device__ __forceinline__ float block_reduce(float v) {
  __shared__ float partial[33];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = kMax ? warp_max(v) : warp_sum(v);
  __syncthreads();  // a previous call may still be reading partial
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    float w = lane < warps ? partial[lane] : (kMax ? -INFINITY : 0.f);
    w = kMax ? warp_max(w) : warp_sum(w);
    if (lane == 0) partial[32] = w;
  }
  __syncthreads();
  return partial[32];
}

}  // namespace kiln::cuda
