// ResizeSum on the GPU: one pass that reads every input once per output tile and writes the
// NCHW output once.
//
// Floor: the bytes that must move. SegFormer-B2's decode head at 1024² in fp16 writes
// Y [B, 768, 256, 256] (100.7 MB a batch item) and reads stage 0's tokens at that resolution
// (100.7 MB) and stages 1-3 at 1/4, 1/16, 1/64 of it (25.2 + 6.3 + 1.6 MB): 234 MB a batch item,
// 78 µs at batch 1 and 0.625 ms at batch 8 at the H100's ~3.0 TB/s copy rate.
//
// Why the previous version (64 x 64-channel tiles, 256 threads, every input tap by tap) ran at
// ~35% of that: each block was a chain of dependent round trips (per input: taps, then data;
// then the store phase) with only 32 bytes of DRAM loads in flight per thread during one of
// them, so an SM averaged far below the ~16 KB in flight that Little's law asks for; and every
// output paid 4 loads, 16 conversions and ~28 fp32 instructions per upsampled input.
//
// Design. Persistent blocks of 512 threads (two per SM) walk the tiles: kResizeSumTileX = 128
// pixels of one output row x 128 bytes of channels (64 fp16 / 32 fp32), consecutive blocks on
// the next x tile, then channel tile, then row, so the blocks in flight read whole token rows
// and write 256-byte (fp16) runs of NCHW rows. Thread (q, pr) owns 16-byte channel chunk q of
// pixels pr and pr + 64. Each tile:
//  - Identity input (vec tokens at the output size with weights 1, 0: SegFormer's stage 0, half
//    the bytes read): a straight 16-byte copy-add. Its tile is copied to shared memory with
//    cp.async one tile ahead (two buffers; each thread reads back only its own chunks, so no
//    barrier), so a block keeps 16 KB of DRAM reads in flight through each tile without
//    holding registers for them (holding them in registers spilled).
//  - Staged inputs (vec tokens whose column taps never decrease, as every linear mode's): the
//    block first blends the two source rows of the tile's columns once per column (fp32, to
//    shared memory) and copies the tile's column taps beside them; the (column, chunk) items of
//    all staged inputs form one list, so a thread issues the loads of its (at most 2 for B2)
//    items together: one L2 round trip a tile for all staged inputs. After one barrier each
//    output reads its two blended columns from shared memory (2 x 16-byte reads a tap, no bank
//    conflicts: 8 threads of a quarter warp read one pixel's 128 contiguous bytes). A 2x
//    upsampled 128-pixel tile blends 65 columns instead of 128 x 2, so an output costs 3 fp32
//    instructions a staged input instead of ~7 plus 2 conversions.
//  - Other inputs (NCHW, channels not a multiple of 8 fp16 / 4 fp32, decreasing taps, or past
//    the shared memory budget) are read tap by tap from global memory as before (direct path).
//  - The finished tile (Relu, rounded to the storage type) goes through a 16 KB shared tile
//    [pixel][16-byte chunk], XOR-swizzled by pixel / (elements per chunk) (conflict-free both
//    ways, checked by enumerating the addresses), and out as 16-byte stores along x.
// Numerics, every path: per input, col = fma(wy1, X[iy1], wy0*X[iy0]) and
// acc += fma(wx1, col1, wx0*col0) in fp32 (pinned with __fmul_rn/__fmaf_rn so the paths agree
// bit for bit; the previous kernel left the same contraction to nvcc), inputs in input order; zero-weight taps are not read (they count 0). The
// identity's acc += X equals that sum exactly (1*x + 0*0 = x; acc starts at +0, never -0).
//
// Count (B2 fp16, per 8 channels of one output pixel): staged inputs 5 LDS.128 + 24 fp32 each,
// their column blends ~40 instructions per 8 channels of a column (0.93 columns an output over
// the three), identity 16, finish and transpose ~25: ~170 instructions, ~21 per output, so
// ~0.28 ms of issue at batch 8 on 132 SMs at ~1.75 GHz, under the 0.625 ms of memory.
// ptxas (sm_90a, CUDA 13.0): 64 registers fp16 and fp32 under __launch_bounds__(512, 2), no
// spills, 384 B static shared memory; dynamic for B2 fp16: 16 KB output tile + 32 KB identity
// buffers + 35 KB staged (65 + 33 + 17 columns of 256 B, 3 x 2 KB taps) = 83 KB, so 2 blocks
// (1024 threads) an SM, and 32 KB of identity reads in flight an SM for most of each tile.
// Prediction, unmeasured: ~80% of 3.0 TB/s: ~0.78 ms at batch 8, ~0.10 ms at batch 1 (its
// 6144 tiles make ~23 per block, so the uneven last round costs ~4%).
#include "ops/spatial/resize_sum_launch.h"
#include "runtime/cuda/resident_grid.cuh"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::spatial {
namespace {

constexpr int kThreads = 512;
constexpr int kTx = kResizeSumTileX;
constexpr int kChunks = kResizeSumTileBytes / 16;  // 16-byte channel chunks per pixel
constexpr int kPixRows = kThreads / kChunks;       // pixels one pass of the block covers
constexpr int kPix = kTx / kPixRows;               // pixels per thread
static_assert(kThreads % kChunks == 0 && kTx % kPixRows == 0 && kChunks == 8 && kTx <= kThreads);
// Phase 2 tasks: one channel x 16 bytes of x each.
constexpr int kStoreTasks = kTx * kChunks / kThreads;
static_assert(kStoreTasks * kThreads == kTx * kChunks);
// Column blends issued together per thread (a 2x-upsampled tile needs 66 x 8 of them).
constexpr int kStageBatch = 2;

// Slot of chunk q in pixel row px of the output tile (rows are 128 B: all start at bank 0).
// A phase-2 warp reads one chunk from each of 32/V runs of V pixels at once: XOR by the run
// puts those on different banks.
template <class T>
__device__ __forceinline__ int slot(int q, int px) { return q ^ ((px / cuda::kVec16<T>) & (kChunks - 1)); }

// w0*a + w1*b with one rounding order on every path.
__device__ __forceinline__ float blend(float w0, float a, float w1, float b) { return __fmaf_rn(w1, b, __fmul_rn(w0, a)); }

struct Tile {
  int b, oy, x0, c0;
};
__device__ __forceinline__ Tile tile_of(int t, int x_tiles, int c_tiles, int height, int tile_c) {
  const int xt = t % x_tiles;
  t /= x_tiles;
  const int ct = t % c_tiles, row = t / c_tiles;
  const int b = row / height;
  return {b, row - b * height, xt * kTx, ct * tile_c};
}

// 16 bytes global -> shared without passing through registers; src_bytes 0 writes zeros.
__device__ __forceinline__ void cp_async16(void* dst, const void* src, int src_bytes) {
  const unsigned d = unsigned(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(d), "l"(src), "r"(src_bytes) : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
// Waits for all but the newest group of this thread's copies.
__device__ __forceinline__ void cp_async_wait_all_but_newest() { asm volatile("cp.async.wait_group 1;\n" ::: "memory"); }

// Starts copying this thread's chunks of the identity input in tile t to buf [kTx][kChunks]
// (zeros past the width and channels); each thread later reads back only what it copied.
template <class T>
__device__ __forceinline__ void fetch_ident(const ResizeSumParams& p, int t, int x_tiles, int c_tiles, uint4* buf) {
  constexpr int V = cuda::kVec16<T>;
  const Tile tl = tile_of(t, x_tiles, c_tiles, p.height, kChunks * V);
  const int q = int(threadIdx.x % kChunks), pr = int(threadIdx.x / kChunks), c = tl.c0 + q * V;
  const T* x = static_cast<const T*>(p.ident_x);
  const T* row = x + (tl.b * p.height + tl.oy) * p.width * p.channels + c;
#pragma unroll
  for (int k = 0; k < kPix; ++k) {
    const int px = pr + k * kPixRows, ox = tl.x0 + px;
    const bool ok = c < p.channels && ox < p.width;
    cp_async16(buf + px * kChunks + q, ok ? row + ox * p.channels : x, ok ? 16 : 0);
  }
}

// A staged input, as the block's threads find it in shared memory when they blend columns.
struct StageDesc {
  const void* x;
  const int32_t* row_index;
  const float* row_weight;
  const int32_t* col_index;
  int in_h, in_w, stage, first;  // first: its first (column, chunk) item
};

// A staged input's part of shared memory: kTx taps {i0 - lo, i1 - lo, wx0, wx1}, then its
// columns lo, lo+1, ... as fp32 [column][V/4][kChunks] float4s (chunk q's first 4 channels,
// then its next 4): a quarter warp's 16-byte accesses cover 128 contiguous bytes.
// The taps: threads below kTx copy one pixel's each.
__device__ __forceinline__ void stage_taps(const ResizeSumSource& s, char* sm, const Tile& tl, int width) {
  if (threadIdx.x >= kTx) return;
  const int lo = s.col_index[2 * tl.x0], ox = tl.x0 + int(threadIdx.x);
  int4 e = make_int4(0, 0, 0, 0);  // past the width: weights 0
  if (ox < width) {
    const int2 ix = reinterpret_cast<const int2*>(s.col_index)[ox];
    const float2 wx = reinterpret_cast<const float2*>(s.col_weight)[ox];
    e = make_int4(ix.x - lo, ix.y - lo, __float_as_int(wx.x), __float_as_int(wx.y));
  }
  reinterpret_cast<int4*>(sm + s.stage)[threadIdx.x] = e;
}

// The columns: the (column, chunk) items of every staged input in one list, so that a thread
// issues the loads of up to kStageBatch items, whichever inputs they belong to, before it waits
// for any (one round trip for all staged inputs, not one each).
template <class T>
__device__ __forceinline__ void stage_columns(const StageDesc* tab, int staged, int items, char* sm, const Tile& tl, int C) {
  constexpr int V = cuda::kVec16<T>, kF4 = V / 4;
  for (int base = 0; base < items; base += kStageBatch * kThreads) {
    uint4 a[kStageBatch][2];  // every load of the batch issued before any is used
    float2 wy[kStageBatch];
    int dst[kStageBatch];  // byte offset of the item's first float4; -1: none
#pragma unroll
    for (int u = 0; u < kStageBatch; ++u) {
      const int it = base + u * kThreads + int(threadIdx.x);
      a[u][0] = a[u][1] = make_uint4(0, 0, 0, 0), wy[u] = make_float2(0.f, 0.f), dst[u] = -1;
      if (it >= items) continue;
      int k = 0;
      while (k + 1 < staged && it >= tab[k + 1].first) ++k;
      const StageDesc& d = tab[k];
      const int r = it - d.first, j = r / kChunks, q = r % kChunks;
      const int lo = d.col_index[2 * tl.x0];
      if (j >= d.in_w - lo) continue;  // past the image's right edge: no tap reads it
      const int2 iy = reinterpret_cast<const int2*>(d.row_index)[tl.oy];
      wy[u] = reinterpret_cast<const float2*>(d.row_weight)[tl.oy];
      dst[u] = d.stage + int(kResizeSumTapBytes) + (j * kF4 * kChunks + q) * 16;
      const int c = tl.c0 + q * V;
      if (c >= C) continue;  // zeros: channels past C
      const T* x = static_cast<const T*>(d.x) + (lo + j) * C + c;
      if (wy[u].x != 0.f) a[u][0] = __ldg(reinterpret_cast<const uint4*>(x + (tl.b * d.in_h + iy.x) * d.in_w * C));
      if (wy[u].y != 0.f) a[u][1] = __ldg(reinterpret_cast<const uint4*>(x + (tl.b * d.in_h + iy.y) * d.in_w * C));
    }
#pragma unroll
    for (int u = 0; u < kStageBatch; ++u) {
      if (dst[u] < 0) continue;
      float f0[V], f1[V];
      cuda::unpack16<T>(a[u][0], f0), cuda::unpack16<T>(a[u][1], f1);
      float4* col = reinterpret_cast<float4*>(sm + dst[u]);
#pragma unroll
      for (int h = 0; h < kF4; ++h)
        col[h * kChunks] = make_float4(blend(wy[u].x, f0[4 * h], wy[u].y, f1[4 * h]), blend(wy[u].x, f0[4 * h + 1], wy[u].y, f1[4 * h + 1]),
                                       blend(wy[u].x, f0[4 * h + 2], wy[u].y, f1[4 * h + 2]), blend(wy[u].x, f0[4 * h + 3], wy[u].y, f1[4 * h + 3]));
    }
  }
}

// acc += a staged input at this thread's pixels.
template <class T>
__device__ __forceinline__ void add_staged(const ResizeSumSource& s, const char* sm, float (&acc)[kPix][cuda::kVec16<T>]) {
  constexpr int V = cuda::kVec16<T>, kF4 = V / 4;
  const int4* taps = reinterpret_cast<const int4*>(sm + s.stage);
  const float4* cols = reinterpret_cast<const float4*>(sm + s.stage + kResizeSumTapBytes);
  const int q = int(threadIdx.x % kChunks), pr = int(threadIdx.x / kChunks);
#pragma unroll
  for (int k = 0; k < kPix; ++k) {
    const int4 e = taps[pr + k * kPixRows];
    const float w0 = __int_as_float(e.z), w1 = __int_as_float(e.w);
    float4 c0[kF4], c1[kF4];
#pragma unroll
    for (int h = 0; h < kF4; ++h) {
      c0[h] = c1[h] = make_float4(0.f, 0.f, 0.f, 0.f);  // zero-weight taps are not read
      if (w0 != 0.f) c0[h] = cols[(e.x * kF4 + h) * kChunks + q];
      if (w1 != 0.f) c1[h] = cols[(e.y * kF4 + h) * kChunks + q];
    }
    const float* a0 = reinterpret_cast<const float*>(c0);
    const float* a1 = reinterpret_cast<const float*>(c1);
#pragma unroll
    for (int e2 = 0; e2 < V; ++e2) acc[k][e2] = __fadd_rn(acc[k][e2], blend(w0, a0[e2], w1, a1[e2]));
  }
}

// acc += an input read tap by tap from global memory (any layout, taps and alignment).
template <class T>
__device__ __forceinline__ void add_direct(const ResizeSumSource& s, const Tile& tl, int C, int width, float (&acc)[kPix][cuda::kVec16<T>]) {
  constexpr int V = cuda::kVec16<T>;
  const int q = int(threadIdx.x % kChunks), pr = int(threadIdx.x / kChunks);
  const int c = tl.c0 + q * V;
  const bool c_ok = c < C;
  const T* x = static_cast<const T*>(s.x);
  const int2 iy = reinterpret_cast<const int2*>(s.row_index)[tl.oy];
  const float2 wy = reinterpret_cast<const float2*>(s.row_weight)[tl.oy];
  int2 ix[kPix];
  float2 wx[kPix];
#pragma unroll
  for (int k = 0; k < kPix; ++k) {
    const int ox = tl.x0 + pr + k * kPixRows;
    ix[k] = make_int2(0, 0), wx[k] = make_float2(0.f, 0.f);  // past the width: no taps
    if (ox < width) ix[k] = reinterpret_cast<const int2*>(s.col_index)[ox], wx[k] = reinterpret_cast<const float2*>(s.col_weight)[ox];
  }
  const bool r0 = c_ok && wy.x != 0.f, r1 = c_ok && wy.y != 0.f;
  if (s.tokens && s.vec) {
    const T* row0 = x + (tl.b * s.in_h + iy.x) * s.in_w * C + c;
    const T* row1 = x + (tl.b * s.in_h + iy.y) * s.in_w * C + c;
    // One pixel at a time (its 4 loads issued together): the fallback leaves the registers to
    // the identity input's loads in flight.
#pragma unroll
    for (int k = 0; k < kPix; ++k) {
      uint4 v00 = make_uint4(0, 0, 0, 0), v01 = v00, v10 = v00, v11 = v00;
      if (r0 && wx[k].x != 0.f) v00 = __ldg(reinterpret_cast<const uint4*>(row0 + ix[k].x * C));
      if (r0 && wx[k].y != 0.f) v01 = __ldg(reinterpret_cast<const uint4*>(row0 + ix[k].y * C));
      if (r1 && wx[k].x != 0.f) v10 = __ldg(reinterpret_cast<const uint4*>(row1 + ix[k].x * C));
      if (r1 && wx[k].y != 0.f) v11 = __ldg(reinterpret_cast<const uint4*>(row1 + ix[k].y * C));
      float a00[V], a01[V], a10[V], a11[V];
      cuda::unpack16<T>(v00, a00), cuda::unpack16<T>(v01, a01), cuda::unpack16<T>(v10, a10), cuda::unpack16<T>(v11, a11);
#pragma unroll
      for (int e = 0; e < V; ++e)
        acc[k][e] = __fadd_rn(acc[k][e], blend(wx[k].x, blend(wy.x, a00[e], wy.y, a10[e]), wx[k].y, blend(wy.x, a01[e], wy.y, a11[e])));
    }
  } else {
    // One element per tap: offset = row base + column * x stride + channel * c stride.
    const int hw = s.in_h * s.in_w;
    const int xs = s.tokens ? C : 1, cs = s.tokens ? 1 : hw;
    const int base0 = s.tokens ? (tl.b * s.in_h + iy.x) * s.in_w * C : tl.b * C * hw + iy.x * s.in_w;
    const int base1 = s.tokens ? (tl.b * s.in_h + iy.y) * s.in_w * C : tl.b * C * hw + iy.y * s.in_w;
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
        acc[k][e] = __fadd_rn(acc[k][e], blend(wx[k].x, blend(wy.x, a00, wy.y, a10), wx[k].y, blend(wy.x, a01, wy.y, a11)));
      }
    }
  }
}

// At most 64 registers: two blocks, 1024 threads per SM.
template <class T>
__global__ void __launch_bounds__(kThreads, 2) resize_sum_kernel(ResizeSumParams p, int x_tiles, int c_tiles, int tiles) {
  constexpr int V = cuda::kVec16<T>, kTileC = kChunks * V;
  extern __shared__ uint4 smem[];
  uint4(*tile)[kChunks] = reinterpret_cast<uint4(*)[kChunks]>(smem);  // finished values, storage type
  char* sm = reinterpret_cast<char*>(smem);
  const int C = p.channels;
  const int q = int(threadIdx.x % kChunks), pr = int(threadIdx.x / kChunks);
  __shared__ StageDesc tab[kResizeSumSlots];  // the staged inputs, in input order
#pragma unroll
  for (int i = 0; i < kResizeSumSlots; ++i) {
    const ResizeSumSource& s = p.in[i];
    if (i < p.inputs && s.stage >= 0 && int(threadIdx.x) == i)
      tab[s.stage_rank] = {s.x, s.row_index, s.row_weight, s.col_index, s.in_h, s.in_w, s.stage, s.stage_first};
  }
  __syncthreads();  // the loop's first barrier comes after the first staging
  // The identity input's tiles, double-buffered: tile n + 1's copies are in flight while tile n
  // is summed.
  uint4* ident_buf = reinterpret_cast<uint4*>(sm + p.ident_off);
  constexpr int kIdentBuf = kTx * kChunks;  // uint4s a buffer
  if (p.ident >= 0 && int(blockIdx.x) < tiles) fetch_ident<T>(p, int(blockIdx.x), x_tiles, c_tiles, ident_buf);
  cp_async_commit();
  for (int t = int(blockIdx.x), n = 0; t < tiles; t += int(gridDim.x), ++n) {
    const int64_t tn = int64_t(t) + gridDim.x;  // the next tile (64-bit: tiles may near 2^31)
    // Its buffer was last read by this same thread, in the previous tile.
    if (p.ident >= 0 && tn < tiles) fetch_ident<T>(p, int(tn), x_tiles, c_tiles, ident_buf + ((n + 1) & 1) * kIdentBuf);
    cp_async_commit();
    const Tile tl = tile_of(t, x_tiles, c_tiles, p.height, kTileC);

    // Phase 1: stage, then sum in input order.
#pragma unroll  // constant indices into p.in: a dynamic one would copy p to local memory
    for (int i = 0; i < kResizeSumSlots; ++i) {
      if (i >= p.inputs) break;
      if (p.in[i].stage >= 0) stage_taps(p.in[i], sm, tl, p.width);
    }
    stage_columns<T>(tab, p.staged, p.stage_items, sm, tl, C);
    __syncthreads();
    float acc[kPix][V] = {};
#pragma unroll
    for (int i = 0; i < kResizeSumSlots; ++i) {
      if (i >= p.inputs) break;
      if (i == p.ident) {
        cp_async_wait_all_but_newest();  // tile n's copies (the newest group is tile n + 1's)
        const uint4* buf = ident_buf + (n & 1) * kIdentBuf;
#pragma unroll
        for (int k = 0; k < kPix; ++k) {
          float f[V];
          cuda::unpack16<T>(buf[(pr + k * kPixRows) * kChunks + q], f);
#pragma unroll
          for (int e = 0; e < V; ++e) acc[k][e] = __fadd_rn(acc[k][e], f[e]);
        }
      } else if (p.in[i].stage >= 0) {
        add_staged<T>(p.in[i], sm, acc);
      } else {
        add_direct<T>(p.in[i], tl, C, p.width, acc);
      }
    }
#pragma unroll
    for (int k = 0; k < kPix; ++k) {
      float f[V];
#pragma unroll
      for (int e = 0; e < V; ++e) f[e] = p.relu && acc[k][e] < 0.f ? 0.f : acc[k][e];
      const int px = pr + k * kPixRows;
      tile[px][slot<T>(q, px)] = cuda::pack16<T>(f);
    }
    __syncthreads();

    // Phase 2: through the shared tile to NCHW.
    T* y = static_cast<T*>(p.y);
    const T* tv = reinterpret_cast<const T*>(&tile[0][0]);
#pragma unroll
    for (int k = 0; k < kStoreTasks; ++k) {
      // A warp: V consecutive channels of one chunk x 32/V consecutive runs of V pixels.
      const int task = int(threadIdx.x) + k * kThreads, lane = task % 32, grp = task / 32;
      const int cl = lane % V, xq = lane / V, cg = grp % kChunks, xg = grp / kChunks;
      const int xc = xg * (32 / V) + xq;  // which run of V pixels
      const int ch = tl.c0 + cg * V + cl, ox = tl.x0 + xc * V;
      if (ch >= C || ox >= p.width) continue;
      alignas(16) T v[V];
#pragma unroll
      for (int j = 0; j < V; ++j) v[j] = tv[(xc * V + j) * kTileC + slot<T>(cg, xc * V + j) * V + cl];
      T* dst = y + ((tl.b * C + ch) * p.height + tl.oy) * p.width + ox;
      if (p.vec_store && ox + V <= p.width) {
        *reinterpret_cast<uint4*>(dst) = *reinterpret_cast<const uint4*>(v);
      } else {
#pragma unroll
        for (int j = 0; j < V; ++j)
          if (ox + j < p.width) dst[j] = v[j];
      }
    }
    // The next tile's staging and tile writes come after its first barrier, which every thread
    // reaches only after this tile's reads of shared memory.
  }
  asm volatile("cp.async.wait_all;\n" ::: "memory");  // none left in flight at exit
}

template <class T>
void launch(const ResizeSumParams& p, int x_tiles, int c_tiles, int tiles, CudaStream stream) {
  auto kernel = resize_sum_kernel<T>;
  // The 48 KB default holds the static table too: at exactly 48 KB of dynamic memory (the
  // output tile and an identity's two buffers) the launch failed unless an earlier, larger one
  // had raised the limit (GpuResizeSum.LayoutsModesAndRatios run alone).
  cudaFuncAttributes fa{};
  CUDA_CHECK(cudaFuncGetAttributes(&fa, kernel));
  if (fa.sharedSizeBytes + size_t(p.smem_bytes) > 48 * 1024)
    CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, p.smem_bytes));
  const int64_t resident = cuda::resident_blocks(kernel, kThreads, size_t(p.smem_bytes));
  const unsigned grid = unsigned(tiles < resident ? tiles : resident);
  kernel<<<grid, kThreads, size_t(p.smem_bytes), stream>>>(p, x_tiles, c_tiles, tiles);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

void launch_resize_sum(DType dt, const ResizeSumParams& p, CudaStream stream) {
  const int64_t elem = dt == DType::kF32 ? 4 : 2;
  const int x_tiles = (p.width + kTx - 1) / kTx;
  const int c_tiles = int((p.channels + resize_sum_tile_c(elem) - 1) / resize_sum_tile_c(elem));
  const int64_t tiles = resize_sum_tiles(elem, p.batch, p.channels, p.height, p.width);
  if (tiles == 0) return;
  if (dt == DType::kF32) launch<float>(p, x_tiles, c_tiles, int(tiles), stream);
  else if (dt == DType::kF16) launch<__half>(p, x_tiles, c_tiles, int(tiles), stream);
  else KILN_ASSERT(!"resize_sum dtype");
}

}  // namespace kiln::spatial
