// ResizeSum on the GPU: one pass that reads every input once per output tile and writes the
// NCHW output once.
//
// Floor: the bytes that must move. SegFormer-B2's decode head at 1024² in fp16 writes
// Y [1, 768, 256, 256] (100.7 MB) and reads stage 0's tokens at that resolution (100.7 MB) and
// stages 1-3 at 1/4, 1/16, 1/64 of it (25.2 + 6.3 + 1.6 MB): 234 MB, 49 µs at the H200's
// 4.8 TB/s (the unfused Resize/Add/Transpose nodes took about 1.1 ms; the previous version of
// this kernel, 2-byte accesses and a __syncthreads-staged tile per input, 0.44 ms).
//
// Design. A block owns 64 output pixels of one output row x 128 bytes of channels (64 fp16 or
// 32 fp32) and runs in two phases with one __syncthreads between them:
//  1. Sum, in the inputs' token layout: each of the 256 threads owns one 16-byte chunk of
//     channels (8 fp16 / 4 fp32) of 2 pixels (x and x+32); a warp covers 4 pixels x 128 B. For
//     every input, every thread computes its own taps' addresses and issues all of its loads
//     (2 pixels x 2 rows x 2 columns, 16 bytes each) before using any, so a thread has up to
//     128 bytes in flight: tokens are read as 16-byte vectors along the channels. Taps whose
//     weight is 0 are not read (predicated off): an input at the output size reads 1 tap, not
//     4, and upsampled inputs' repeated taps hit L1. No shared memory, no barrier per input;
//     any taps work (downsampling included). Tokens whose channels or pointer do not allow
//     16-byte loads, and NCHW inputs, load one element per tap through the same code.
//     Numerics as before: per column wy0*X[iy0] + wy1*X[iy1] in fp32, then
//     acc += wx0*col0 + wx1*col1 per input in input order.
//  2. Transpose: the finished values (Relu, rounded to the storage type) go to an 8 KB shared
//     tile [pixel][16-byte chunk], the chunk's slot XOR-swizzled by pixel / (elements per
//     chunk) so the 16-byte writes and the column reads are free of bank conflicts (checked by
//     enumerating the addresses); then each thread reads one
//     channel x 16 bytes of consecutive x and stores them as one 16-byte store (a warp writes
//     8 channel rows x 64 B in fp16), element stores where the width or y's alignment do not
//     allow that.
// ptxas (sm_90a): 64 registers fp16 / 63 fp32 under __launch_bounds__(256, 4), no spills,
// 8 KB static shared memory: 4 blocks, 1024 threads per SM, up to 128 KB of loads in flight.
// Prediction, unmeasured: ~0.075 ms for C=768 (~3.1 TB/s, ~5.8x), ~0.03 ms for C=256 (~6x).
#include "ops/spatial/resize_sum_launch.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::spatial {
namespace {

constexpr int kThreads = 256;
constexpr int kChunks = kResizeSumTileBytes / 16;        // 16-byte channel chunks per pixel
constexpr int kPixRows = kThreads / kChunks;              // pixels one pass of the block covers
constexpr int kPix = kResizeSumTileX / kPixRows;          // pixels per thread
static_assert(kThreads % kChunks == 0 && kResizeSumTileX % kPixRows == 0 && kChunks == 8);
// Phase 2 tasks: one channel x 16 bytes of x each.
constexpr int kStoreTasks = kResizeSumTileX * kChunks / kThreads;



// Slot of chunk q in pixel row px of the shared tile (rows are 128 B: all start at bank 0).
// A phase-2 warp reads one chunk from each of 32/V runs of V pixels at once: XOR by the run
// puts those on different banks.
template <class T>
__device__ __forceinline__ int slot(int q, int px) { return q ^ ((px / cuda::kVec16<T>) & (kChunks - 1)); }

// At most 64 registers: 4 blocks per SM.
template <class T>
__global__ void __launch_bounds__(kThreads, 4) resize_sum_kernel(ResizeSumParams p, int x_tiles, int c_tiles) {
  constexpr int V = cuda::kVec16<T>, kTileC = kChunks * V;
  __shared__ uint4 tile[kResizeSumTileX][kChunks];  // finished values, storage type
  // Block order: x tiles, then channel tiles, then rows: the blocks in flight together read
  // whole token rows and write whole 128-byte runs of NCHW rows.
  int blk = int(blockIdx.x);
  const int xt = blk % x_tiles;
  blk /= x_tiles;
  const int ct = blk % c_tiles, row = blk / c_tiles;
  const int b = row / p.height, oy = row - b * p.height;
  const int x0 = xt * kResizeSumTileX, c0 = ct * kTileC, C = p.channels;
  const int q = threadIdx.x % kChunks, pr = threadIdx.x / kChunks;
  const int c = c0 + q * V;  // this thread's first channel in phase 1
  const bool c_ok = c < C;
  float acc[kPix][V] = {};

#pragma unroll  // constant indices into p.in: a dynamic one would copy p to local memory
  for (int i = 0; i < kResizeSumSlots; ++i) {
    if (i >= p.inputs) break;
    const ResizeSumSource& s = p.in[i];
    const T* x = static_cast<const T*>(s.x);
    const int2 iy = reinterpret_cast<const int2*>(s.row_index)[oy];
    const float2 wy = reinterpret_cast<const float2*>(s.row_weight)[oy];
    int2 ix[kPix];
    float2 wx[kPix];
#pragma unroll
    for (int k = 0; k < kPix; ++k) {
      const int ox = x0 + pr + k * kPixRows;
      ix[k] = make_int2(0, 0), wx[k] = make_float2(0.f, 0.f);  // past the width: no taps
      if (ox < p.width) ix[k] = reinterpret_cast<const int2*>(s.col_index)[ox], wx[k] = reinterpret_cast<const float2*>(s.col_weight)[ox];
    }
    // A tap is read when both its weights are nonzero (skipped taps count as 0, which for
    // finite data is what multiplying by the 0 weight gives; the CPU reference skips them too).
    const bool r0 = c_ok && wy.x != 0.f, r1 = c_ok && wy.y != 0.f;
    if (s.tokens && s.vec) {
      const T* row0 = x + (b * s.in_h + iy.x) * s.in_w * C + c;
      const T* row1 = x + (b * s.in_h + iy.y) * s.in_w * C + c;
      uint4 v[kPix][2][2];  // pixel, row, column: all loads issued before any is used
#pragma unroll
      for (int k = 0; k < kPix; ++k) {
        const uint4 z = make_uint4(0, 0, 0, 0);
        v[k][0][0] = v[k][0][1] = v[k][1][0] = v[k][1][1] = z;
        if (r0 && wx[k].x != 0.f) v[k][0][0] = __ldg(reinterpret_cast<const uint4*>(row0 + ix[k].x * C));
        if (r0 && wx[k].y != 0.f) v[k][0][1] = __ldg(reinterpret_cast<const uint4*>(row0 + ix[k].y * C));
        if (r1 && wx[k].x != 0.f) v[k][1][0] = __ldg(reinterpret_cast<const uint4*>(row1 + ix[k].x * C));
        if (r1 && wx[k].y != 0.f) v[k][1][1] = __ldg(reinterpret_cast<const uint4*>(row1 + ix[k].y * C));
      }
#pragma unroll
      for (int k = 0; k < kPix; ++k) {
        float a00[V], a01[V], a10[V], a11[V];
        cuda::unpack16<T>(v[k][0][0], a00), cuda::unpack16<T>(v[k][0][1], a01), cuda::unpack16<T>(v[k][1][0], a10), cuda::unpack16<T>(v[k][1][1], a11);
#pragma unroll
        for (int e = 0; e < V; ++e) {
          float t0 = wy.x * a00[e];
          t0 += wy.y * a10[e];
          float t1 = wy.x * a01[e];
          t1 += wy.y * a11[e];
          acc[k][e] += wx[k].x * t0 + wx[k].y * t1;
        }
      }
    } else {
      // One element per tap: offset = row base + column * x stride + channel * c stride.
      const int hw = s.in_h * s.in_w;
      const int xs = s.tokens ? C : 1, cs = s.tokens ? 1 : hw;
      const int base0 = s.tokens ? (b * s.in_h + iy.x) * s.in_w * C : b * C * hw + iy.x * s.in_w;
      const int base1 = s.tokens ? (b * s.in_h + iy.y) * s.in_w * C : b * C * hw + iy.y * s.in_w;
#pragma unroll
      for (int k = 0; k < kPix; ++k) {
#pragma unroll
        for (int e = 0; e < V; ++e) {
          const bool e_ok = c + e < C;
          const int ce = (c + e) * cs;
          float a00 = 0.f, a01 = 0.f, a10 = 0.f, a11 = 0.f;
          if (e_ok && r0 && wx[k].x != 0.f) a00 = cuda::load_f(x, base0 + ix[k].x * xs + ce);
          if (e_ok && r0 && wx[k].y != 0.f) a01 = cuda::load_f(x, base0 + ix[k].y * xs + ce);
          if (e_ok && r1 && wx[k].x != 0.f) a10 = cuda::load_f(x, base1 + ix[k].x * xs + ce);
          if (e_ok && r1 && wx[k].y != 0.f) a11 = cuda::load_f(x, base1 + ix[k].y * xs + ce);
          float t0 = wy.x * a00;
          t0 += wy.y * a10;
          float t1 = wy.x * a01;
          t1 += wy.y * a11;
          acc[k][e] += wx[k].x * t0 + wx[k].y * t1;
        }
      }
    }
  }

  // Phase 2: through the shared tile to NCHW.
#pragma unroll
  for (int k = 0; k < kPix; ++k) {
    float f[V];
#pragma unroll
    for (int e = 0; e < V; ++e) f[e] = p.relu && acc[k][e] < 0.f ? 0.f : acc[k][e];
    const int px = pr + k * kPixRows;
    tile[px][slot<T>(q, px)] = cuda::pack16<T>(f);
  }
  __syncthreads();
  T* y = static_cast<T*>(p.y);
  const T* t = reinterpret_cast<const T*>(&tile[0][0]);
#pragma unroll
  for (int k = 0; k < kStoreTasks; ++k) {
    // A warp: V consecutive channels of one chunk x 32/V consecutive runs of V pixels.
    const int task = threadIdx.x + k * kThreads, lane = task % 32, grp = task / 32;
    const int cl = lane % V, xq = lane / V, cg = grp % kChunks, xg = grp / kChunks;
    const int xc = xg * (32 / V) + xq;  // which run of V pixels
    const int ch = c0 + cg * V + cl, ox = x0 + xc * V;
    if (ch >= C || ox >= p.width) continue;
    alignas(16) T v[V];
#pragma unroll
    for (int j = 0; j < V; ++j) v[j] = t[(xc * V + j) * kTileC + slot<T>(cg, xc * V + j) * V + cl];
    T* dst = y + ((b * C + ch) * p.height + oy) * p.width + ox;
    if (p.vec_store && ox + V <= p.width) {
      *reinterpret_cast<uint4*>(dst) = *reinterpret_cast<const uint4*>(v);
    } else {
#pragma unroll
      for (int j = 0; j < V; ++j)
        if (ox + j < p.width) dst[j] = v[j];
    }
  }
}

}  // namespace

void launch_resize_sum(DType dt, const ResizeSumParams& p, CudaStream stream) {
  const int64_t elem = dt == DType::kF32 ? 4 : 2;
  const int x_tiles = (p.width + kResizeSumTileX - 1) / kResizeSumTileX;
  const int c_tiles = int((p.channels + resize_sum_tile_c(elem) - 1) / resize_sum_tile_c(elem));
  const int64_t blocks = resize_sum_blocks(elem, p.batch, p.channels, p.height, p.width);
  if (blocks == 0) return;
  if (dt == DType::kF32) resize_sum_kernel<float><<<unsigned(blocks), kThreads, 0, stream>>>(p, x_tiles, c_tiles);
  else if (dt == DType::kF16) resize_sum_kernel<__half><<<unsigned(blocks), kThreads, 0, stream>>>(p, x_tiles, c_tiles);
  else KILN_ASSERT(!"resize_sum dtype");
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::spatial
