// ResizeSumPointwiseConv in fp16: Y = W · act(Σ_i up(X_i)) + b with the summed map h never
// leaving the SM. The fp32 path (and C not a multiple of 8) runs ResizeSum + the Conv's GEMM
// instead (resize_sum_pointwise_conv_cuda.cpp).
//
// Floor (SegFormer-B2 decode head, 1024², batch 8, C = 768, Co = 150): the branch inputs are
// read once (~1070 MB: the 256² stage plus its 1/4, 1/16, 1/64) and the logits written once
// (157 MB fp16, 315 MB fp32 as fp16 engines keep model outputs): 0.41 / 0.46 ms at 3 TB/s;
// the GEMM is 8·65536·768·150·2 = 121 GFLOP, 0.16 ms at ~760 TFLOP/s. The unfused pair moves
// the 805 MB h twice more (ResizeSum 1.733 + Conv 0.315 ms measured on the H100).
//
// Design. W (150 x 768 fp16 = 230 KB) does not fit in shared memory beside a pixel tile, and a
// pixel tile of all 768 channels (128 px: 192 KB) leaves one block per SM and no overlap
// between summing and multiplying. So the block keeps its 128 x 160 output tile in registers
// (8 warps as 4 along pixels x 2 along Co, each 32 x 80: 2 x 10 m16n8 tiles, 80 fp32) and
// walks C in 64-channel steps, each with a 16 KB h chunk and a 20 KB W chunk, both double
// buffered (72 KB; the epilogue's fp32 staging tile, 84.5 KB, reuses it): 2 blocks per SM,
// so one block's summing (loads, FMAs) runs beside the other's mma.sync. Per step:
//   wait W(k), barrier; cp.async W(k+1) [160 x 64, rows past Co and channels past C zero];
//   mma on h(k), W(k) (ldmatrix, XOR-swizzled 128-byte rows: conflict-free);
//   sum h(k+1): thread = 8 channels (16 bytes) x 4 pixels, the ResizeSum kernel's taps and
//   numerics (fp32, Relu, rounded to fp16 as the unfused ResizeSum stores it), into smem.
// One barrier per step: a buffer written in step k+1 was last read in step k-1. An input at
// the output size with identity taps (SegFormer's stage 1) is one load and one add per value.
// Epilogue: fragments → smem [co][pixel] fp32 → + bias, each warp writes whole channel rows
// of 128 pixels (256 B fp16 / 512 B fp32) in NCHW, 8 or 16 bytes a lane.
// W is re-read from L2 by every block: 245 KB per 128 pixels, ~1 GB at batch 8 (L2, not DRAM).
//
// Prediction (unmeasured): the sum's FP32 work (~35 instructions per h value, 403 M values at
// batch 8) bounds it near 0.5 ms more than the bytes do; expect ~0.55-0.75 ms at batch 8
// (vs 2.05 ms unfused, ~3x) and ~0.08-0.11 ms at batch 1 (vs 0.275 ms).
#include "ops/attention/mma_f16.cuh"
#include "ops/spatial/resize_sum_pointwise_conv_launch.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::spatial {
namespace {

using attention::cp_async16;
using attention::cp_async_commit;
using attention::cp_async_wait;
using attention::ldmatrix_x4;
using attention::mma16816;

constexpr int kThreads = 256;
constexpr int kP = kResizeSumConvTileP, kN = kResizeSumConvTileN;
constexpr int kK = 64;                     // channels per step: 8 chunks of 16 bytes per row
constexpr int kPixPerThread = kP * (kK / 8) / kThreads;  // 4
constexpr int kWarpN = kN / 2, kNT = kWarpN / 8;         // 80 channels, 10 n8 tiles per warp
constexpr int kHBytes = kP * kK * 2, kWBytes = kN * kK * 2;
constexpr int kStageStride = kP + 4;       // fp32 staging row: conflict-free fragment writes
constexpr int kPipeBytes = 2 * (kHBytes + kWBytes);
constexpr int kStageBytes = kN * kStageStride * 4;
constexpr int kSmemBytes = kPipeBytes > kStageBytes ? kPipeBytes : kStageBytes;
static_assert(kP * (kK / 8) % kThreads == 0 && kN % 16 == 0 && kP == 4 * 32);

// Chunk slot of 16-byte chunk q in 128-byte row r: 8 rows at one chunk hit 8 bank groups.
__device__ __forceinline__ int swz(int r, int q) { return r * 8 + (q ^ (r & 7)); }

// One 64-channel step of h for this thread's 4 pixels: act(Σ up(X_i)) rounded to fp16 into hs.
__device__ __forceinline__ void sum_step(const ResizeSumConvParams& p, int b, int p0, int c0, __half* hs) {
  const ResizeSumParams& s = p.sum;
  const int q = threadIdx.x % 8, pr = threadIdx.x / 8;
  const int c = c0 + q * 8, C = s.channels;
  const bool c_ok = c < C;
#pragma unroll 1  // one pixel at a time: the output tile's 80 accumulators hold most registers
  for (int j = 0; j < kPixPerThread; ++j) {
    float acc[8] = {};
    // The pixel's row and column, recomputed per step: an array indexed in this rolled loop
    // would live in local memory.
    const int px = p0 + pr + j * (kThreads / 8);
    const bool ok = c_ok && px < s.height * s.width;
    const int oy = ok ? px / s.width : 0, ox = ok ? px - oy * s.width : 0;
#pragma unroll  // constant indices into p.sum.in: a dynamic one would copy p to local memory
    for (int i = 0; i < kResizeSumSlots; ++i) {
      if (i >= s.inputs) break;
      const ResizeSumSource& in = s.in[i];
      const __half* x = static_cast<const __half*>(in.x);
      if (p.identity[i] && in.vec) {  // at the output size: the pixel itself
        if (!ok) continue;
        float a[8];
        cuda::unpack16<__half>(__ldg(reinterpret_cast<const uint4*>(x + ((b * in.in_h + oy) * in.in_w + ox) * C + c)), a);
#pragma unroll
        for (int e = 0; e < 8; ++e) acc[e] += a[e];
        continue;
      }
      const int2 iy = ok ? reinterpret_cast<const int2*>(in.row_index)[oy] : make_int2(0, 0);
      const float2 wy = ok ? reinterpret_cast<const float2*>(in.row_weight)[oy] : make_float2(0.f, 0.f);
      const int2 ix = ok ? reinterpret_cast<const int2*>(in.col_index)[ox] : make_int2(0, 0);
      const float2 wx = ok ? reinterpret_cast<const float2*>(in.col_weight)[ox] : make_float2(0.f, 0.f);
      // A tap is read when both its weights are nonzero, as in resize_sum.cu.
      const bool r0 = wy.x != 0.f, r1 = wy.y != 0.f, k0 = wx.x != 0.f, k1 = wx.y != 0.f;
      if (in.tokens && in.vec) {
        const __half* row0 = x + (b * in.in_h + iy.x) * in.in_w * C + c;
        const __half* row1 = x + (b * in.in_h + iy.y) * in.in_w * C + c;
        const uint4 z = make_uint4(0, 0, 0, 0);
        const uint4 v00 = r0 && k0 ? __ldg(reinterpret_cast<const uint4*>(row0 + ix.x * C)) : z;
        const uint4 v01 = r0 && k1 ? __ldg(reinterpret_cast<const uint4*>(row0 + ix.y * C)) : z;
        const uint4 v10 = r1 && k0 ? __ldg(reinterpret_cast<const uint4*>(row1 + ix.x * C)) : z;
        const uint4 v11 = r1 && k1 ? __ldg(reinterpret_cast<const uint4*>(row1 + ix.y * C)) : z;
        float a00[8], a01[8], a10[8], a11[8];
        cuda::unpack16<__half>(v00, a00), cuda::unpack16<__half>(v01, a01);
        cuda::unpack16<__half>(v10, a10), cuda::unpack16<__half>(v11, a11);
#pragma unroll
        for (int e = 0; e < 8; ++e) {
          float t0 = wy.x * a00[e];
          t0 += wy.y * a10[e];
          float t1 = wy.x * a01[e];
          t1 += wy.y * a11[e];
          acc[e] += wx.x * t0 + wx.y * t1;
        }
      } else {
        // One element per tap (NCHW, or tokens not 16-byte aligned): row base + column * x
        // stride + channel * channel stride, as resize_sum.cu.
        const int hw = in.in_h * in.in_w;
        const int xs = in.tokens ? C : 1, cs = in.tokens ? 1 : hw;
        const int base0 = in.tokens ? (b * in.in_h + iy.x) * in.in_w * C : b * C * hw + iy.x * in.in_w;
        const int base1 = in.tokens ? (b * in.in_h + iy.y) * in.in_w * C : b * C * hw + iy.y * in.in_w;
#pragma unroll
        for (int e = 0; e < 8; ++e) {
          const int ce = (c + e) * cs;
          float a00 = 0.f, a01 = 0.f, a10 = 0.f, a11 = 0.f;
          if (r0 && k0) a00 = __half2float(x[base0 + ix.x * xs + ce]);
          if (r0 && k1) a01 = __half2float(x[base0 + ix.y * xs + ce]);
          if (r1 && k0) a10 = __half2float(x[base1 + ix.x * xs + ce]);
          if (r1 && k1) a11 = __half2float(x[base1 + ix.y * xs + ce]);
          float t0 = wy.x * a00;
          t0 += wy.y * a10;
          float t1 = wy.x * a01;
          t1 += wy.y * a11;
          acc[e] += wx.x * t0 + wx.y * t1;
        }
      }
    }
#pragma unroll
    for (int e = 0; e < 8; ++e) acc[e] = s.relu && acc[e] < 0.f ? 0.f : acc[e];
    // Channels past C and pixels past the image hold 0 (W's rows there are 0 too).
    const int r = pr + j * (kThreads / 8);
    reinterpret_cast<uint4*>(hs)[swz(r, q)] = ok ? cuda::pack16<__half>(acc) : make_uint4(0, 0, 0, 0);
  }
}

// W[n0 .. n0+kN, c0 .. c0+kK] into ws by cp.async; rows past Co and channels past C zero-filled.
__device__ __forceinline__ void load_w(const ResizeSumConvParams& p, int n0, int c0, __half* ws) {
  const __half* w = static_cast<const __half*>(p.w);
  const int C = p.sum.channels;
#pragma unroll
  for (int k = 0; k < kN * 8 / kThreads; ++k) {
    const int task = threadIdx.x + k * kThreads, r = task / 8, q = task % 8;
    const int n = n0 + r, c = c0 + q * 8;
    const bool ok = n < p.co && c < C;
    cp_async16(reinterpret_cast<uint4*>(ws) + swz(r, q), ok ? w + int64_t(n) * C + c : w, ok ? 16 : 0);
  }
  cp_async_commit();
}

// acc += h(step) · W(step)ᵀ for this warp's 32 x 80 piece.
__device__ __forceinline__ void mma_step(const __half* hs, const __half* ws, float (&acc)[2][kNT][4]) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int m0 = (warp % 4) * 32, n0 = (warp / 4) * kWarpN;
#pragma unroll
  for (int kk = 0; kk < kK / 16; ++kk) {
    uint32_t a[2][4];
#pragma unroll
    for (int mt = 0; mt < 2; ++mt) {
      const int r = m0 + mt * 16 + lane % 16;  // matrices: rows 0-7 | 8-15, then k 8-15
      ldmatrix_x4(a[mt], hs + swz(r, kk * 2 + lane / 16) * 8);
    }
#pragma unroll
    for (int np = 0; np < kNT / 2; ++np) {
      uint32_t bf[4];  // b0 b1 of n tile 2np, then of 2np+1
      const int j = lane / 8, r = n0 + np * 16 + (j >> 1) * 8 + lane % 8;
      ldmatrix_x4(bf, ws + swz(r, kk * 2 + (j & 1)) * 8);
#pragma unroll
      for (int mt = 0; mt < 2; ++mt) {
        mma16816(acc[mt][2 * np], a[mt], bf[0], bf[1]);
        mma16816(acc[mt][2 * np + 1], a[mt], bf[2], bf[3]);
      }
    }
  }
}

template <bool kF32Out>
__global__ void __launch_bounds__(kThreads, 2) resize_sum_conv_kernel(ResizeSumConvParams p, int tiles_per_image) {
  extern __shared__ __align__(16) unsigned char smem[];
  __half* hbuf = reinterpret_cast<__half*>(smem);                // [2][kP][kK]
  __half* wbuf = reinterpret_cast<__half*>(smem + 2 * kHBytes);  // [2][kN][kK]
  const int b = int(blockIdx.x) / tiles_per_image;
  const int p0 = (int(blockIdx.x) - b * tiles_per_image) * kP;
  const int n0 = int(blockIdx.y) * kN;
  const int hw = p.sum.height * p.sum.width, C = p.sum.channels;
  float acc[2][kNT][4] = {};
  const int steps = (C + kK - 1) / kK;
  load_w(p, n0, 0, wbuf);
  sum_step(p, b, p0, 0, hbuf);
  for (int k = 0; k < steps; ++k) {
    cp_async_wait<0>();
    __syncthreads();
    const int cur = k & 1, nxt = cur ^ 1;
    if (k + 1 < steps) load_w(p, n0, (k + 1) * kK, wbuf + nxt * kN * kK);
    mma_step(hbuf + cur * kP * kK, wbuf + cur * kN * kK, acc);
    if (k + 1 < steps) sum_step(p, b, p0, (k + 1) * kK, hbuf + nxt * kP * kK);
  }
  __syncthreads();  // every warp is done with the pipeline buffers

  // Epilogue: fragments → stage [n][pixel] fp32 → + bias → Y rows.
  float* stage = reinterpret_cast<float*>(smem);
  {
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, g = lane / 4, t = lane % 4;
    const int m0 = (warp % 4) * 32, wn = (warp / 4) * kWarpN;
#pragma unroll
    for (int mt = 0; mt < 2; ++mt)
#pragma unroll
      for (int nt = 0; nt < kNT; ++nt) {
        const int r = m0 + mt * 16 + g, n = wn + nt * 8 + 2 * t;
        stage[n * kStageStride + r] = acc[mt][nt][0];
        stage[(n + 1) * kStageStride + r] = acc[mt][nt][1];
        stage[n * kStageStride + r + 8] = acc[mt][nt][2];
        stage[(n + 1) * kStageStride + r + 8] = acc[mt][nt][3];
      }
  }
  __syncthreads();
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int px = p0 + lane * 4;
  for (int r = warp; r < kN; r += kThreads / 32) {
    const int n = n0 + r;
    if (n >= p.co) break;
    const float bias = !p.b ? 0.f : p.b_f32 ? static_cast<const float*>(p.b)[n] : __half2float(static_cast<const __half*>(p.b)[n]);
    const float4 v4 = *reinterpret_cast<const float4*>(stage + r * kStageStride + lane * 4);
    const float v[4] = {v4.x + bias, v4.y + bias, v4.z + bias, v4.w + bias};
    const int64_t at = (int64_t(b) * p.co + n) * hw + px;
    if (kF32Out) {
      float* y = static_cast<float*>(p.y) + at;
      if (p.vec_store && px + 4 <= hw) {
        *reinterpret_cast<float4*>(y) = make_float4(v[0], v[1], v[2], v[3]);
      } else {
#pragma unroll
        for (int e = 0; e < 4; ++e)
          if (px + e < hw) y[e] = v[e];
      }
    } else {
      __half* y = static_cast<__half*>(p.y) + at;
      if (p.vec_store && px + 4 <= hw) {
        uint2 u;
        u.x = attention::pack_half2(v[0], v[1]), u.y = attention::pack_half2(v[2], v[3]);
        *reinterpret_cast<uint2*>(y) = u;
      } else {
#pragma unroll
        for (int e = 0; e < 4; ++e)
          if (px + e < hw) y[e] = __float2half_rn(v[e]);
      }
    }
  }
}

template <bool kF32Out> void launch(const ResizeSumConvParams& p, CudaStream stream) {
  auto kernel = resize_sum_conv_kernel<kF32Out>;
  CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmemBytes));
  const int tiles = int((int64_t(p.sum.height) * p.sum.width + kP - 1) / kP);
  const dim3 grid(unsigned(int64_t(p.sum.batch) * tiles), unsigned((p.co + kN - 1) / kN));
  kernel<<<grid, kThreads, kSmemBytes, stream>>>(p, tiles);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

void launch_resize_sum_conv_f16(const ResizeSumConvParams& p, CudaStream stream) {
  if (p.sum.batch == 0 || p.co == 0 || p.sum.height == 0 || p.sum.width == 0) return;
  if (p.y_f32) launch<true>(p, stream);
  else launch<false>(p, stream);
}

}  // namespace kiln::spatial
