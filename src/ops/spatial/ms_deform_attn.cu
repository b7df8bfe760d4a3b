// MSDeformAttn on the GPU: one group of threads per (batch, query, head) walks every level and
// point, gathers the four bilinear neighbours of value with 16-byte loads along head_dim,
// weights them and writes its head_dim outputs once. The unfused export instead writes each
// level's samples [B*H, D, Q, P] (every channel plane read by a thread per point), stacks them,
// multiplies by the weights and reduces: five passes over a tensor P*L times the output's size.
//
// Layout. value [B, S, H, D] keeps one head's channels of a pixel contiguous (D*elem bytes:
// 64 B for Swin-T's D = 32 in fp16), so a group of D / vec threads (4 in fp16, 8 in fp32 for
// D = 32) reads a neighbour as one coalesced run; groups are powers of two inside a warp. Every
// thread of a group computes the same coordinates (its loads of sampling_locations and
// attention_weights hit one address: a broadcast), which costs less than sharing them.
//
// Numerics follow the CPU reference: x = loc_x * w - 0.5 as one fused multiply-add (one
// rounding, where grid_sample's ((2*loc - 1 + 1) * w - 1) / 2 rounds four times), bilinear
// weights (1-fy)(1-fx), (1-fy)fx, fy(1-fx), fy*fx, neighbours outside the level skipped, the
// point's sample times its attention weight summed in fp32 over levels and points in order.
// Coordinates that are NaN or outside (-1, w) x (-1, h) sample zero.
#include "kiln/status.h"
#include "ops/spatial/ms_deform_attn_launch.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::spatial {
namespace {

constexpr int kThreads = 256;


// T: value and output; L: sampling_locations; A: attention_weights; V: channels per access.
template <class T, class L, class A, int V>
__global__ void __launch_bounds__(kThreads) ms_deform_attn_kernel(const __grid_constant__ MsDeformAttnParams p) {
  const int g = p.group;
  const int gid = int(blockIdx.x) * (kThreads / g) + int(threadIdx.x) / g;  // (b, q, h), h fastest
  const int lane = int(threadIdx.x) & (g - 1);
  if (gid >= p.batch * p.queries * p.heads) return;
  const int b = gid / (p.queries * p.heads), h = gid % p.heads;
  const T* __restrict__ value = static_cast<const T*>(p.value);
  const L* __restrict__ loc = static_cast<const L*>(p.loc);
  const A* __restrict__ attn = static_cast<const A*>(p.attn);
  T* __restrict__ out = static_cast<T*>(p.out);
  const int pixel_stride = p.heads * p.head_dim;  // elements between neighbouring tokens of one head
  for (int c0 = lane * V; c0 < p.head_dim; c0 += g * V) {
    float acc[V];
#pragma unroll
    for (int j = 0; j < V; ++j) acc[j] = 0.f;
    int k = gid * p.levels * p.points;  // this group's first (level, point)
    for (int l = 0; l < p.levels; ++l) {
      const int hh = p.level_h[l], ww = p.level_w[l];
      const float fh = float(hh), fw = float(ww);
      const T* base = value + ((b * p.tokens + p.level_start[l]) * p.heads + h) * p.head_dim + c0;
#pragma unroll 4
      for (int pt = 0; pt < p.points; ++pt, ++k) {
        const float x = fmaf(cuda::load_f(loc, 2 * int64_t(k)), fw, -0.5f);
        const float y = fmaf(cuda::load_f(loc, 2 * int64_t(k) + 1), fh, -0.5f);
        const float a = cuda::load_f(attn, k);
        float s[V];
#pragma unroll
        for (int j = 0; j < V; ++j) s[j] = 0.f;
        if (x > -1.f && x < fw && y > -1.f && y < fh) {
          const float x0 = floorf(x), y0 = floorf(y);
          const float fx = x - x0, fy = y - y0;
          const int ix = int(x0), iy = int(y0);
          const float wts[4] = {(1.f - fy) * (1.f - fx), (1.f - fy) * fx, fy * (1.f - fx), fy * fx};
#pragma unroll
          for (int c = 0; c < 4; ++c) {
            const int cx = ix + (c & 1), cy = iy + (c >> 1);
            if (cx < 0 || cx >= ww || cy < 0 || cy >= hh) continue;
            float v[V];
            cuda::load_vec<T, V>(base + (cy * ww + cx) * pixel_stride, v);
#pragma unroll
            for (int j = 0; j < V; ++j) s[j] = fmaf(wts[c], v[j], s[j]);
          }
        }
#pragma unroll
        for (int j = 0; j < V; ++j) acc[j] = fmaf(a, s[j], acc[j]);
      }
    }
    cuda::store_vec<T, V>(out + gid * p.head_dim + c0, acc);
  }
}

template <class T, class L, class A>
void launch_typed(const MsDeformAttnParams& p, CudaStream stream) {
  const int64_t threads = int64_t(p.batch) * p.queries * p.heads * p.group;
  const unsigned blocks = unsigned((threads + kThreads - 1) / kThreads);
  if (p.vec > 1) ms_deform_attn_kernel<T, L, A, cuda::kVec16<T>><<<blocks, kThreads, 0, stream>>>(p);
  else ms_deform_attn_kernel<T, L, A, 1><<<blocks, kThreads, 0, stream>>>(p);
}

template <class T, class L>
void launch_attn(DType attn_dt, const MsDeformAttnParams& p, CudaStream stream) {
  if (attn_dt == DType::kF32) launch_typed<T, L, float>(p, stream);
  else launch_typed<T, L, __half>(p, stream);
}

template <class T>
void launch_loc(DType loc_dt, DType attn_dt, const MsDeformAttnParams& p, CudaStream stream) {
  if (loc_dt == DType::kF32) launch_attn<T, float>(attn_dt, p, stream);
  else launch_attn<T, __half>(attn_dt, p, stream);
}

}  // namespace

void launch_ms_deform_attn(DType value_dt, DType loc_dt, DType attn_dt, const MsDeformAttnParams& p,
                           CudaStream stream) {
  if (int64_t(p.batch) * p.queries * p.heads * p.head_dim == 0) return;
  for (DType dt : {value_dt, loc_dt, attn_dt}) KILN_ASSERT(dt == DType::kF32 || dt == DType::kF16);
  KILN_ASSERT(p.vec == 1 || (p.vec == 16 / int(dtype_size(value_dt)) && p.head_dim % p.vec == 0));
  KILN_ASSERT(p.group >= 1 && p.group <= 32 && (p.group & (p.group - 1)) == 0);
  if (value_dt == DType::kF32) launch_loc<float>(loc_dt, attn_dt, p, stream);
  else launch_loc<__half>(loc_dt, attn_dt, p, stream);
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::spatial
