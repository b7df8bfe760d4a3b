// ResizeSum on the GPU with output_layout "tokens": Y [B, H*W, C], channels last like every
// token input, so each output pixel's C channels and each source pixel's are contiguous and the
// op streams: no shared memory, no barriers, no transposes (resize_sum.cu keeps the NCHW form).
//
// Floor (as resize_sum.cu's): SegFormer-B2's decode head at 1024² in fp16 reads stage 0's
// tokens at the output size (100.7 MB a batch item) and stages 1-3 (25.2 + 6.3 + 1.6 MB) and
// writes Y (100.7 MB): 234 MB a batch item, 1875 MB at batch 8: 0.625 ms at 3.0 TB/s.
//
// Design. One thread per unit: one 16-byte channel chunk (8 fp16 / 4 fp32 channels; V channels
// loaded one at a time where 16-byte access is not possible) of a pair of adjacent output
// pixels (ox, ox + 1) of one row; consecutive threads take consecutive chunks, so a warp's
// accesses are 512 contiguous bytes of one pixel. grid.y walks the rows (b, oy).
//  - The identity input (vec tokens at the output size with weights 1, 0; stage 0, over half
//    the bytes read) is a copy-add: both pixels' 16-byte loads issued first (streaming, evict-
//    first) and held while the other inputs are summed, so each thread keeps 32 bytes of DRAM
//    reads in flight through its whole unit.
//  - Every other input: per pixel its two source columns, each the row blend of two 16-byte
//    loads (L2 hits: a row's blocks read a few source rows, which stages 1-3 hold 4-16 output
//    pixels each). Pixel ox + 1 reuses a column of pixel ox when it reads the same one (same
//    rows and weights, so the same bits): a 2x upsample reads 3 columns a pair instead of 4, a
//    4x or 8x one 2 (half_pixel), which takes a third of the instructions.
// Numerics (as resize_sum.cu, bit for bit): per input col = fma(wy1, X[iy1], wy0*X[iy0]),
// acc += fma(wx1, col1, wx0*col0) in fp32 (__fmul_rn/__fmaf_rn), inputs in input order,
// zero-weight taps not read (count +0: weights are >= 0), the identity's acc += X; Relu as
// acc < 0 ? 0 : acc; one rounding to the storage type.
//
// Count (B2 fp16, a unit = 2 pixels x 8 channels): identity 2 loads + 16 conversions + 16 adds;
// a 2x input 3 columns (2 loads + 16 conversions + 16 fp32 each) + 2 x 24 fp32 + taps and
// addresses (~25), a 4x/8x input 2 columns: ~150 + 2 x ~125 + ~25 for Relu, packing, stores and
// the unit's indices: ~450 instructions a unit, ~28 per output element. 25.2M units at batch 8
// is 354M warp instructions, 0.38 ms of issue at 4 per SM per clock on 132 SMs at 1.755 GHz,
// under the 0.625 ms of memory. Prediction, unmeasured: ~80% of 3.0 TB/s, ~0.78 ms at batch 8
// (vs 1.59 ms for the NCHW kernel), ~0.10 ms at batch 1.
#include "ops/spatial/resize_sum_launch.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::spatial {
namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ float blend(float w0, float a, float w1, float b) { return __fmaf_rn(w1, b, __fmul_rn(w0, a)); }

template <class T>
using Cols = float[cuda::kVec16<T>];

// Source column t of input s blended over the output row's source rows iy (weights wy), for
// channels c .. c + V - 1 (0 past C): 16-byte loads for vec tokens, else one element at a time.
template <class T>
__device__ __forceinline__ void column(const ResizeSumSource& s, int b, int2 iy, float2 wy, int t, int c, int C, Cols<T>& out) {
  constexpr int V = cuda::kVec16<T>;
  const T* x = static_cast<const T*>(s.x);
  float a0[V], a1[V];
  if (s.tokens && s.vec) {
    uint4 u0 = make_uint4(0, 0, 0, 0), u1 = u0;
    const T* p = x + t * C + c;
    if (wy.x != 0.f) u0 = __ldg(reinterpret_cast<const uint4*>(p + (b * s.in_h + iy.x) * s.in_w * C));
    if (wy.y != 0.f) u1 = __ldg(reinterpret_cast<const uint4*>(p + (b * s.in_h + iy.y) * s.in_w * C));
    cuda::unpack16<T>(u0, a0), cuda::unpack16<T>(u1, a1);
  } else {
    // Offset = row base + channel * channel stride.
    const int hw = s.in_h * s.in_w;
    const int cs = s.tokens ? 1 : hw;
    const int base0 = s.tokens ? ((b * s.in_h + iy.x) * s.in_w + t) * C : b * C * hw + iy.x * s.in_w + t;
    const int base1 = s.tokens ? ((b * s.in_h + iy.y) * s.in_w + t) * C : b * C * hw + iy.y * s.in_w + t;
#pragma unroll
    for (int e = 0; e < V; ++e) {
      const bool ok = c + e < C;
      a0[e] = ok && wy.x != 0.f ? cuda::load_f(x, base0 + (c + e) * cs) : 0.f;
      a1[e] = ok && wy.y != 0.f ? cuda::load_f(x, base1 + (c + e) * cs) : 0.f;
    }
  }
#pragma unroll
  for (int e = 0; e < V; ++e) out[e] = blend(wy.x, a0[e], wy.y, a1[e]);
}

template <class T>
__device__ __forceinline__ void zero(Cols<T>& f) {
#pragma unroll
  for (int e = 0; e < cuda::kVec16<T>; ++e) f[e] = 0.f;
}
template <class T>
__device__ __forceinline__ void copy(Cols<T>& to, const Cols<T>& from) {
#pragma unroll
  for (int e = 0; e < cuda::kVec16<T>; ++e) to[e] = from[e];
}

// acc[k] += input s at pixel ox + k (k < pixels).
template <class T>
__device__ __forceinline__ void add_input(const ResizeSumSource& s, int b, int oy, int ox, int pixels, int c, int C,
                                          float (&acc)[2][cuda::kVec16<T>]) {
  constexpr int V = cuda::kVec16<T>;
  const int2 iy = __ldg(reinterpret_cast<const int2*>(s.row_index) + oy);
  const float2 wy = __ldg(reinterpret_cast<const float2*>(s.row_weight) + oy);
  const int2 ia = __ldg(reinterpret_cast<const int2*>(s.col_index) + ox);
  const float2 wa = __ldg(reinterpret_cast<const float2*>(s.col_weight) + ox);
  const bool n0 = wa.x != 0.f, n1 = wa.y != 0.f;
  Cols<T> c0, c1;
  if (n0) column<T>(s, b, iy, wy, ia.x, c, C, c0);
  else zero<T>(c0);
  if (n1) column<T>(s, b, iy, wy, ia.y, c, C, c1);
  else zero<T>(c1);
#pragma unroll
  for (int e = 0; e < V; ++e) acc[0][e] = __fadd_rn(acc[0][e], blend(wa.x, c0[e], wa.y, c1[e]));
  if (pixels < 2) return;
  const int2 ib = __ldg(reinterpret_cast<const int2*>(s.col_index) + ox + 1);
  const float2 wb = __ldg(reinterpret_cast<const float2*>(s.col_weight) + ox + 1);
  Cols<T> d0, d1;
  if (wb.x == 0.f) zero<T>(d0);
  else if (n0 && ib.x == ia.x) copy<T>(d0, c0);
  else if (n1 && ib.x == ia.y) copy<T>(d0, c1);
  else column<T>(s, b, iy, wy, ib.x, c, C, d0);
  if (wb.y == 0.f) zero<T>(d1);
  else if (n1 && ib.y == ia.y) copy<T>(d1, c1);
  else if (n0 && ib.y == ia.x) copy<T>(d1, c0);
  else column<T>(s, b, iy, wy, ib.y, c, C, d1);
#pragma unroll
  for (int e = 0; e < V; ++e) acc[1][e] = __fadd_rn(acc[1][e], blend(wb.x, d0[e], wb.y, d1[e]));
}

template <class T>
// 80 registers, no spills (sm_90a, CUDA 13.0; 105 unbounded): 3 blocks, 768 threads an SM, 24 KB
// of identity reads in flight an SM (Little's law at 3 TB/s and ~0.6 µs asks ~14 KB).
__global__ void __launch_bounds__(kThreads, 3) resize_sum_tokens_kernel(ResizeSumParams p, int chunks, int pairs) {
  constexpr int V = cuda::kVec16<T>;
  const int u = int(blockIdx.x) * kThreads + int(threadIdx.x);
  if (u >= pairs * chunks) return;
  const int q = u % chunks, ox = 2 * (u / chunks), c = q * V, C = p.channels;
  const int pixels = ox + 1 < p.width ? 2 : 1;
  for (int row = int(blockIdx.y); row < p.batch * p.height; row += int(gridDim.y)) {
    const int b = row / p.height, oy = row - b * p.height;
    const int at = (row * p.width + ox) * C + c;  // element offset of pixel ox's chunk in Y
    uint4 id[2] = {make_uint4(0, 0, 0, 0), make_uint4(0, 0, 0, 0)};
    if (p.ident >= 0) {
      const T* x = static_cast<const T*>(p.ident_x) + at;
      id[0] = __ldcs(reinterpret_cast<const uint4*>(x));
      if (pixels == 2) id[1] = __ldcs(reinterpret_cast<const uint4*>(x + C));
    }
    float acc[2][V] = {};
#pragma unroll  // constant indices into p.in: a dynamic one would copy p to local memory
    for (int i = 0; i < kResizeSumSlots; ++i) {
      if (i >= p.inputs) break;
      if (i == p.ident) {
#pragma unroll
        for (int k = 0; k < 2; ++k) {
          float f[V];
          cuda::unpack16<T>(id[k], f);
#pragma unroll
          for (int e = 0; e < V; ++e) acc[k][e] = __fadd_rn(acc[k][e], f[e]);
        }
      } else {
        add_input<T>(p.in[i], b, oy, ox, pixels, c, C, acc);
      }
    }
    T* y = static_cast<T*>(p.y) + at;
#pragma unroll
    for (int k = 0; k < 2; ++k) {
      if (k >= pixels) break;
      float f[V];
#pragma unroll
      for (int e = 0; e < V; ++e) f[e] = p.relu && acc[k][e] < 0.f ? 0.f : acc[k][e];
      if (p.vec_store) {
        *reinterpret_cast<uint4*>(y + k * C) = cuda::pack16<T>(f);
      } else {
#pragma unroll
        for (int e = 0; e < V; ++e)
          if (c + e < C) cuda::store_f(y + k * C, e, f[e]);
      }
    }
  }
}

template <class T>
void launch(const ResizeSumParams& p, CudaStream stream) {
  constexpr int V = cuda::kVec16<T>;
  const int chunks = (p.channels + V - 1) / V, pairs = (p.width + 1) / 2;
  const int64_t rows = int64_t(p.batch) * p.height;
  const dim3 grid(unsigned((int64_t(pairs) * chunks + kThreads - 1) / kThreads), unsigned(rows < 65535 ? rows : 65535));
  resize_sum_tokens_kernel<T><<<grid, kThreads, 0, stream>>>(p, chunks, pairs);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

void launch_resize_sum_tokens(DType dt, const ResizeSumParams& p, CudaStream stream) {
  if (int64_t(p.batch) * p.height * p.width * p.channels == 0) return;
  if (dt == DType::kF32) launch<float>(p, stream);
  else if (dt == DType::kF16) launch<__half>(p, stream);
  else KILN_ASSERT(!"resize_sum dtype");
}

}  // namespace kiln::spatial
