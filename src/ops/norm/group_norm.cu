// GroupNorm / InstanceNormalization on the GPU: planes (n, group) of `len` contiguous elements
// split into chunks so that a few planes of millions of elements (Mask2Former's 32 groups at
// 1/4 resolution) still fill the GPU. Two kernels:
//   1. per chunk: its mean and M2 = Σ(x − mean)² (two passes over the chunk, the second from L2);
//   2. per chunk: the plane's statistics combined from every chunk's (Chan's formula, fp32),
//      then y = act((x − mean)·inv_std·scale[c] + B[c] [+ z]) over the chunk.
// 16-byte vectors where the plane, chunk, channel run and pointers allow.
#include "kiln/status.h"
#include "ops/linear/epilogue_math.cuh"
#include "ops/norm/norm_cuda.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::norm {
namespace {

using linear::EpilogueActivation;

struct Geometry {
  int64_t len = 0;      // elements per plane
  int64_t chunk = 0;    // elements per chunk (a multiple of the vector width)
  int chunks = 0;       // per plane
  int64_t groups = 0;   // planes per image
  int64_t spatial = 0;  // elements per channel
  int64_t channels_per_group = 0;
};

// Chunk [begin, end) of the block's plane.
struct Span {
  int64_t plane, begin, end;
};
__device__ __forceinline__ Span block_span(const Geometry& g) {
  const int64_t plane = blockIdx.x / g.chunks, k = blockIdx.x % g.chunks;
  const int64_t begin = k * g.chunk;
  return {plane, begin, min(g.len, begin + g.chunk)};
}

template <class T, int V>
__global__ void chunk_stats(const T* __restrict__ x, float2* __restrict__ partial, Geometry g) {
  const Span s = block_span(g);
  const T* p = x + s.plane * g.len;
  float sum = 0.f;
  for (int64_t i = s.begin + int64_t(threadIdx.x) * V; i < s.end; i += int64_t(blockDim.x) * V) {
    float f[V];
    cuda::load_vec<T, V>(p + i, f);
#pragma unroll
    for (int k = 0; k < V; ++k) sum += f[k];
  }
  const float n = float(s.end - s.begin);
  const float mean = cuda::block_reduce<false>(sum) / n;
  float sq = 0.f;
  for (int64_t i = s.begin + int64_t(threadIdx.x) * V; i < s.end; i += int64_t(blockDim.x) * V) {
    float f[V];
    cuda::load_vec<T, V>(p + i, f);
#pragma unroll
    for (int k = 0; k < V; ++k) sq += (f[k] - mean) * (f[k] - mean);
  }
  const float m2 = cuda::block_reduce<false>(sq);
  if (threadIdx.x == 0) partial[blockIdx.x] = make_float2(mean, m2);
}

// (count, mean, M2) of a union of two disjoint sets.
__device__ __forceinline__ void combine(float& n, float& mean, float& m2, float nb, float mb, float m2b) {
  const float total = n + nb;
  if (total == 0.f) return;
  const float d = mb - mean;
  mean += d * (nb / total);
  m2 += m2b + d * d * (n * nb / total);
  n = total;
}

template <class T, int V>
__global__ void chunk_apply(const T* __restrict__ x, const T* __restrict__ scale, const T* __restrict__ bias,
                            const T* __restrict__ z, T* __restrict__ y, const float2* __restrict__ partial, Geometry g,
                            float eps, EpilogueActivation act) {
  const Span s = block_span(g);
  __shared__ float stats[2];
  if (threadIdx.x < 32) {
    float n = 0.f, mean = 0.f, m2 = 0.f;
    for (int k = threadIdx.x; k < g.chunks; k += 32) {
      const float2 p = partial[s.plane * g.chunks + k];
      combine(n, mean, m2, float(min(g.chunk, g.len - k * g.chunk)), p.x, p.y);
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
      const float nb = __shfl_xor_sync(0xffffffffu, n, o), mb = __shfl_xor_sync(0xffffffffu, mean, o),
                  m2b = __shfl_xor_sync(0xffffffffu, m2, o);
      combine(n, mean, m2, nb, mb, m2b);
    }
    if (threadIdx.x == 0) {
      stats[0] = mean;
      stats[1] = rsqrtf(m2 / float(g.len) + eps);
    }
  }
  __syncthreads();
  const float mean = stats[0], inv = stats[1];
  const int64_t base = s.plane * g.len, c0 = (s.plane % g.groups) * g.channels_per_group;
  for (int64_t i = s.begin + int64_t(threadIdx.x) * V; i < s.end; i += int64_t(blockDim.x) * V) {
    const int64_t c = c0 + i / g.spatial;  // V divides spatial: one channel per vector
    const float sc = cuda::load_f(scale, c) * inv, b = cuda::load_f(bias, c);
    float f[V], r[V];
    cuda::load_vec<T, V>(x + base + i, f);
    if (z) cuda::load_vec<T, V>(z + base + i, r);
#pragma unroll
    for (int k = 0; k < V; ++k) f[k] = linear::activate_f(act, (f[k] - mean) * sc + b + (z ? r[k] : 0.f));
    cuda::store_vec<T, V>(y + base + i, f);
  }
}

// Chunks per plane: about 8 blocks per SM in all, chunks of at least 4096 elements.
Geometry geometry(const GroupNormArgs& a, int vec) {
  Geometry g;
  g.len = a.len;
  g.groups = a.groups;
  g.channels_per_group = a.channels / a.groups;
  g.spatial = a.len / g.channels_per_group;
  const int64_t want = std::max<int64_t>(1, (int64_t(a.sm_count) * 8 + a.planes - 1) / a.planes);
  int64_t chunk = std::max<int64_t>(4096, (a.len + want - 1) / want);
  chunk = (chunk + vec - 1) / vec * vec;
  g.chunks = int(std::min<int64_t>((a.len + chunk - 1) / chunk, kMaxGroupNormChunks));
  g.chunk = ((a.len + g.chunks - 1) / g.chunks + vec - 1) / vec * vec;
  g.chunks = int((a.len + g.chunk - 1) / g.chunk);
  return g;
}

template <class T, int V>
void launch_as(const GroupNormArgs& a, CudaStream s) {
  const Geometry g = geometry(a, V);
  const int64_t blocks = a.planes * g.chunks;
  KILN_ASSERT(blocks <= 0x7fffffff);
  const int threads = g.chunk / V >= 2048 ? 256 : 128;
  auto* partial = static_cast<float2*>(a.partials);
  chunk_stats<T, V><<<unsigned(blocks), threads, 0, s>>>(static_cast<const T*>(a.x), partial, g);
  chunk_apply<T, V><<<unsigned(blocks), threads, 0, s>>>(
      static_cast<const T*>(a.x), static_cast<const T*>(a.scale), static_cast<const T*>(a.bias),
      static_cast<const T*>(a.z), static_cast<T*>(a.y), partial, g, a.eps, a.act);
}

// 16 bytes of elements where every vector stays in one channel and the pointers allow, else 1.
int vector_width(DType dt, const GroupNormArgs& a) {
  const int v = 16 / int(dtype_size(dt));
  const int64_t spatial = a.len / (a.channels / a.groups);
  const bool ok = spatial % v == 0 && cuda::aligned16(a.x) && cuda::aligned16(a.y) && (!a.z || cuda::aligned16(a.z));
  return ok ? v : 1;
}

}  // namespace

int64_t group_norm_partials(DType dt, const GroupNormArgs& a) {
  return a.planes == 0 || a.len == 0 ? 0 : a.planes * geometry(a, vector_width(dt, a)).chunks;
}

void launch_group_norm(DType dt, const GroupNormArgs& a, CudaStream stream) {
  if (a.planes == 0 || a.len == 0) return;
  const bool vec = vector_width(dt, a) > 1;
  if (dt == DType::kF32) vec ? launch_as<float, 4>(a, stream) : launch_as<float, 1>(a, stream);
  else if (dt == DType::kF16) vec ? launch_as<__half, 8>(a, stream) : launch_as<__half, 1>(a, stream);
  else KILN_ASSERT(!"group norm dtype");
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::norm
