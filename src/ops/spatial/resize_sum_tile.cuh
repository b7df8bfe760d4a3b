// The input side of ResizeSum's kernels (resize_sum.cu, and resize_sum_conv.cu which feeds the
// summed tile to a 1x1 conv on tensor cores): a block of kThreads sums every input over a tile
// of kTx pixels of one output row x 128 bytes of channels. resize_sum.cu's header comment
// explains the three input paths (identity copy, staged columns, tap by tap) and the numerics.
// Thread (q, pr) owns 16-byte channel chunk q of pixels pr + k * kPixRows, k < kPix.
// Device code only.
#pragma once
#include "ops/spatial/resize_sum_launch.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::spatial::resize_tile {

constexpr int kThreads = 512;
constexpr int kTx = kResizeSumTileX;
constexpr int kChunks = kResizeSumTileBytes / 16;  // 16-byte channel chunks per pixel
constexpr int kPixRows = kThreads / kChunks;       // pixels one pass of the block covers
constexpr int kPix = kTx / kPixRows;               // pixels per thread
static_assert(kThreads % kChunks == 0 && kTx % kPixRows == 0 && kChunks == 8 && kTx <= kThreads);
// Column blends issued together per thread (a 2x-upsampled tile needs 66 x 8 of them).
constexpr int kStageBatch = 2;

// w0*a + w1*b with one rounding order on every path.
__device__ __forceinline__ float blend(float w0, float a, float w1, float b) { return __fmaf_rn(w1, b, __fmul_rn(w0, a)); }

struct Tile {
  int b, oy, x0, c0;  // image, output row, first pixel, first channel
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
// Waits for all but the newest N groups of this thread's copies.
template <int N> __device__ __forceinline__ void cp_async_wait_all_but() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

// Starts copying this thread's chunks of the identity input in tile tl to buf [kTx][kChunks]
// (zeros past the width and channels); each thread later reads back only what it copied.
template <class T>
__device__ __forceinline__ void fetch_ident(const ResizeSumParams& p, const Tile& tl, uint4* buf) {
  constexpr int V = cuda::kVec16<T>;
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

// The staged inputs' descriptors, in input order, for stage_columns (then a barrier).
__device__ __forceinline__ void load_stage_table(const ResizeSumParams& p, StageDesc* tab) {
#pragma unroll
  for (int i = 0; i < kResizeSumSlots; ++i) {
    const ResizeSumSource& s = p.in[i];
    if (i < p.inputs && s.stage >= 0 && int(threadIdx.x) == i)
      tab[s.stage_rank] = {s.x, s.row_index, s.row_weight, s.col_index, s.in_h, s.in_w, s.stage, s.stage_first};
  }
}

// Stages the tile's taps and blended columns into shared memory (a barrier must follow before
// sum_inputs reads them).
template <class T>
__device__ __forceinline__ void stage_tile(const ResizeSumParams& p, const StageDesc* tab, char* sm, const Tile& tl) {
#pragma unroll  // constant indices into p.in: a dynamic one would copy p to local memory
  for (int i = 0; i < kResizeSumSlots; ++i) {
    if (i >= p.inputs) break;
    if (p.in[i].stage >= 0) stage_taps(p.in[i], sm, tl, p.width);
  }
  stage_columns<T>(tab, p.staged, p.stage_items, sm, tl, p.channels);
}

// acc = the sum of every input at this thread's pixels and chunk of tile tl, in input order.
// The identity input's tile is in ident (its copies are waited for here: all but this thread's
// newest kPending groups).
template <class T, int kPending>
__device__ __forceinline__ void sum_inputs(const ResizeSumParams& p, const char* sm, const Tile& tl,
                                           const uint4* ident, float (&acc)[kPix][cuda::kVec16<T>]) {
  constexpr int V = cuda::kVec16<T>;
  const int q = int(threadIdx.x % kChunks), pr = int(threadIdx.x / kChunks);
#pragma unroll
  for (int k = 0; k < kPix; ++k)
#pragma unroll
    for (int e = 0; e < V; ++e) acc[k][e] = 0.f;
#pragma unroll
  for (int i = 0; i < kResizeSumSlots; ++i) {
    if (i >= p.inputs) break;
    if (i == p.ident) {
      cp_async_wait_all_but<kPending>();
#pragma unroll
      for (int k = 0; k < kPix; ++k) {
        float f[V];
        cuda::unpack16<T>(ident[(pr + k * kPixRows) * kChunks + q], f);
#pragma unroll
        for (int e = 0; e < V; ++e) acc[k][e] = __fadd_rn(acc[k][e], f[e]);
      }
    } else if (p.in[i].stage >= 0) {
      add_staged<T>(p.in[i], sm, acc);
    } else {
      add_direct<T>(p.in[i], tl, p.channels, p.width, acc);
    }
  }
}

}  // namespace kiln::spatial::resize_tile
