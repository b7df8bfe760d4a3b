// ResizeSumConv on the GPU: ResizeSum's tile (resize_sum_tile.cuh) fed straight into the 1x1
// conv on tensor cores, so the [B, C, H, W] sum between them never reaches memory.
//
// Floor, SegFormer-B2's decode head at 1024² in fp16, batch 8: stage 0's tokens at the output
// size (805 MB) and stages 1-3 (201 + 50 + 13 MB) read, the logits [8, 150, 256, 256] written
// (157 MB fp16, 315 MB fp32): ~1.23-1.38 GB, 0.41-0.46 ms at ~3.0 TB/s. The conv is
// 2·8·65536·768·150 = 121 GFLOP: 0.16 ms at the measured ~750 TFLOP/s. Unfused, ResizeSum also
// writes the 805 MB sum and the classifier reads it back.
//
// Design. Persistent blocks of 512 threads, one per SM (the conv's sums live in registers), walk
// the tiles: kTx pixels of one output row. Per 64-channel chunk of a tile:
//   1. ResizeSum's phase 1 (staging, barrier, sum in input order, Relu) with the identity input's
//      next chunk and W's next chunk arriving by cp.async meanwhile;
//   2. the chunk's sums, rounded to fp16 as the unfused graph stores them, into A [kTx][64]
//      (rows of 128 B, 16-byte chunk j at j ^ (row % 8): the 8 rows one ldmatrix reads, and the
//      8 chunks a quarter warp writes, fall in distinct banks); barrier;
//   3. acc[px][k] += A · Wchunkᵀ by mma.sync m16n8k16: warp (wm, wn) owns pixels 32 wm .. +32
//      and output channels 8 kNt wn .. + 8 kNt. W's chunk is [32 kNt][64] in the same swizzle,
//      rows past the classes zero.
// The next chunk's staging comes after its first barrier, which every thread reaches only after
// this chunk's MMAs: one A buffer suffices. After the last chunk, acc + bias goes straight from
// the fragments to NCHW: for each register a warp writes 4 output channels x 8 consecutive
// pixels (32-byte runs in fp32).
// Count per chunk and SM (B2): phase 1 ~5.4 k warp instructions (resize_sum.cu's count), the
// MMAs 16 warps x 40 = 640 mma.sync (2.6 MFLOP) plus 18 ldmatrix a warp.
#include <cuda_fp16.h>

#include "ops/attention/mma_f16.cuh"
#include "ops/spatial/resize_sum_conv_launch.h"
#include "ops/spatial/resize_sum_tile.cuh"
#include "runtime/cuda/resident_grid.cuh"

namespace kiln::spatial {
namespace {

using namespace resize_tile;
using attention::ldmatrix_x4;
using attention::mma16816;

using T = __half;  // fp16 inputs only: the kernel's A operand is the fp16 sum
constexpr int V = cuda::kVec16<T>;
constexpr int kCk = int(kResizeSumConvChunk);
static_assert(kCk == kChunks * V && kThreads == 512 && kTx == 128);
constexpr int kIdentBuf = kTx * kChunks;  // uint4s an identity buffer

// Halves from the start of a 64-wide swizzled row-major tile to 16-byte chunk j of row r.
__device__ __forceinline__ int swz(int r, int j) { return r * kCk + ((j ^ (r & 7)) << 3); }

// W's chunk ch into buf [32 nt][64]: rows past the classes zero-filled.
template <int kNt>
__device__ __forceinline__ void fetch_w(const ResizeSumConvParams& pc, int ch, __half* buf) {
  const __half* w = static_cast<const __half*>(pc.w);
  const int C = pc.sum.channels;
  for (int i = int(threadIdx.x); i < 32 * kNt * kChunks; i += kThreads) {
    const int r = i / kChunks, j = i % kChunks;
    const bool ok = r < pc.classes;
    resize_tile::cp_async16(buf + swz(r, j), ok ? w + int64_t(r) * C + ch * kCk + j * 8 : w, ok ? 16 : 0);
  }
}

// Tile t (kTx pixels of one output row) at chunk ch.
__device__ __forceinline__ Tile tile_at(const ResizeSumParams& p, int t, int x_tiles, int ch) {
  Tile tl = tile_of(t, x_tiles, 1, p.height, kCk);
  tl.c0 = ch * kCk;
  return tl;
}

// acc[mt][nt] += A[32 wm + 16 mt ..][0..64) · W[8 kNt wn + 8 nt ..][0..64)ᵀ.
template <int kNt>
__device__ __forceinline__ void conv_chunk(const __half* a, const __half* w, float (&acc)[2][kNt][4]) {
  const int lane = int(threadIdx.x % 32), warp = int(threadIdx.x / 32), wm = warp % 4, wn = warp / 4;
#pragma unroll
  for (int kp = 0; kp < kCk / 32; ++kp) {  // two k16 steps per pass
    uint32_t af[2][2][4];                   // [k step][m tile]
#pragma unroll
    for (int s = 0; s < 2; ++s)
#pragma unroll
      for (int mt = 0; mt < 2; ++mt) {
        const int r = wm * 32 + mt * 16 + (lane & 15);
        ldmatrix_x4(af[s][mt], a + swz(r, kp * 4 + s * 2 + (lane >> 4)));
      }
#pragma unroll
    for (int nt = 0; nt < kNt; ++nt) {
      // Matrices j = 0..3: k 8j..8j+7 of this pass; rows are output channels, so each is a B
      // fragment as mma's col-major B wants it.
      const int r = wn * 8 * kNt + nt * 8 + (lane & 7);
      uint32_t b[4];
      ldmatrix_x4(b, w + swz(r, kp * 4 + (lane >> 3)));
#pragma unroll
      for (int mt = 0; mt < 2; ++mt) {
        mma16816(acc[mt][nt], af[0][mt], b[0], b[1]);
        mma16816(acc[mt][nt], af[1][mt], b[2], b[3]);
      }
    }
  }
}

// acc + bias from the fragments to Y [B, classes, H, W]: register i of (mt, nt) is pixel
// 32 wm + 16 mt + g (+8 for i >= 2), output channel 8 kNt wn + 8 nt + 2 t + i % 2.
template <int kNt>
__device__ __forceinline__ void store_tile(const ResizeSumConvParams& pc, const Tile& tl, const float (&acc)[2][kNt][4]) {
  const ResizeSumParams& p = pc.sum;
  const int lane = int(threadIdx.x % 32), warp = int(threadIdx.x / 32), wm = warp % 4, wn = warp / 4;
  const int g = lane / 4, t4 = lane % 4;
#pragma unroll
  for (int nt = 0; nt < kNt; ++nt)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int k = wn * 8 * kNt + nt * 8 + 2 * t4 + h;
      if (k >= pc.classes) continue;
      const float bias = pc.bias_f32 ? static_cast<const float*>(pc.bias)[k] : __half2float(static_cast<const __half*>(pc.bias)[k]);
      const int64_t row = ((int64_t(tl.b) * pc.classes + k) * p.height + tl.oy) * p.width;
#pragma unroll
      for (int mt = 0; mt < 2; ++mt)
#pragma unroll
        for (int hi = 0; hi < 2; ++hi) {
          const int ox = tl.x0 + wm * 32 + mt * 16 + g + 8 * hi;
          if (ox >= p.width) continue;
          const float v = acc[mt][nt][2 * hi + h] + bias;
          if (pc.y_f32) static_cast<float*>(pc.y)[row + ox] = v;
          else static_cast<__half*>(pc.y)[row + ox] = __float2half_rn(v);
        }
    }
}

template <int kNt>
__global__ void __launch_bounds__(kThreads, 1) resize_sum_conv_kernel(ResizeSumConvParams pc, int x_tiles, int tiles) {
  const ResizeSumParams& p = pc.sum;
  extern __shared__ uint4 smem[];
  char* sm = reinterpret_cast<char*>(smem);
  __half* a = reinterpret_cast<__half*>(sm + pc.a_off);
  __half* wbuf = reinterpret_cast<__half*>(sm + pc.w_off);
  constexpr int kWBuf = 32 * kNt * kCk;  // halves a W buffer
  uint4* ident_buf = reinterpret_cast<uint4*>(sm + p.ident_off);
  const int chunks = p.channels / kCk;
  const int q = int(threadIdx.x % kChunks), pr = int(threadIdx.x / kChunks);
  __shared__ StageDesc tab[kResizeSumSlots];
  load_stage_table(p, tab);
  __syncthreads();
  // Work item n = (tile, chunk) in this block's order; item n's identity chunk and W chunk use
  // buffer n % 2. Groups per item: identity (committed an item ahead, at the item's start), W
  // (committed after the item's first barrier, once no thread still reads its buffer).
  if (int(blockIdx.x) < tiles) {
    if (p.ident >= 0) fetch_ident<T>(p, tile_at(p, int(blockIdx.x), x_tiles, 0), ident_buf);
    cp_async_commit();
    fetch_w<kNt>(pc, 0, wbuf);
    cp_async_commit();
  }
  int n = 0;
  for (int t = int(blockIdx.x); t < tiles; t += int(gridDim.x)) {
    float acc[2][kNt][4] = {};
    for (int ch = 0; ch < chunks; ++ch, ++n) {
      const Tile tl = tile_at(p, t, x_tiles, ch);
      const bool last = ch + 1 == chunks;
      const int64_t tn = last ? int64_t(t) + gridDim.x : t;  // the next item's tile and chunk
      const int cn = last ? 0 : ch + 1;
      const bool more = tn < tiles;
      // Its buffer was last read by this same thread, in the previous item.
      if (p.ident >= 0 && more) fetch_ident<T>(p, tile_at(p, int(tn), x_tiles, cn), ident_buf + ((n + 1) & 1) * kIdentBuf);
      cp_async_commit();
      stage_tile<T>(p, tab, sm, tl);
      __syncthreads();  // also: every thread is past the previous item's MMAs (A, W buffer n+1)
      if (more) fetch_w<kNt>(pc, cn, wbuf + ((n + 1) & 1) * kWBuf);
      cp_async_commit();
      float s[kPix][V];
      // Pending after item n's groups: item n + 1's identity and W.
      sum_inputs<T, 2>(p, sm, tl, ident_buf + (n & 1) * kIdentBuf, s);
#pragma unroll
      for (int k = 0; k < kPix; ++k) {
        if (p.relu)
#pragma unroll
          for (int e = 0; e < V; ++e) s[k][e] = s[k][e] < 0.f ? 0.f : s[k][e];
        const int px = pr + k * kPixRows;
        *reinterpret_cast<uint4*>(a + swz(px, q)) = cuda::pack16<T>(s[k]);
      }
      cp_async_wait_all_but<2>();  // this thread's part of W chunk n
      __syncthreads();
      conv_chunk<kNt>(a, wbuf + (n & 1) * kWBuf, acc);
    }
    store_tile<kNt>(pc, tile_at(p, t, x_tiles, 0), acc);
  }
  asm volatile("cp.async.wait_all;\n" ::: "memory");  // none left in flight at exit
}

template <int kNt>
void launch(const ResizeSumConvParams& p, int x_tiles, int tiles, CudaStream stream) {
  auto kernel = resize_sum_conv_kernel<kNt>;
  const int smem = p.sum.smem_bytes;
  if (smem > 48 * 1024) CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  const int64_t resident = cuda::resident_blocks(kernel, kThreads, size_t(smem));
  const unsigned grid = unsigned(tiles < resident ? tiles : resident);
  kernel<<<grid, kThreads, size_t(smem), stream>>>(p, x_tiles, tiles);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

void launch_resize_sum_conv(const ResizeSumConvParams& p, CudaStream stream) {
  const int x_tiles = (p.sum.width + kTx - 1) / kTx;
  const int64_t tiles = resize_sum_conv_tiles(p.sum.batch, p.sum.height, p.sum.width);
  if (tiles == 0) return;
  switch (p.nt) {
    case 1: launch<1>(p, x_tiles, int(tiles), stream); break;
    case 2: launch<2>(p, x_tiles, int(tiles), stream); break;
    case 3: launch<3>(p, x_tiles, int(tiles), stream); break;
    case 4: launch<4>(p, x_tiles, int(tiles), stream); break;
    case 5: launch<5>(p, x_tiles, int(tiles), stream); break;
    default: KILN_ASSERT(!"resize_sum_conv nt");
  }
}

}  // namespace kiln::spatial
