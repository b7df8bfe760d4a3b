// PatchEmbedTokens on tensor cores (mma.sync m16n8k16, fp16 operands, fp32 sums): the patch
// embedding of a few-channel picture read once and its tokens written once.
//
// A block stays resident and walks tiles of kRows output rows x kCols output columns of one
// image. Per tile it stages the input patch those windows span (all C channels, converted to
// fp16, zeros outside the image) in shared memory; each warp takes one output row (two m16
// tiles of 32 pixels) and gathers its A fragments (the im2col rows) straight from the patch
// through a table of per-k offsets (k = (i·kw + j)·C + c, padded to a multiple of 16 with
// zeros). The weights, transposed to [Co][K_pad] and zero-padded, are staged once per block and
// read with ldmatrix. Bias is the accumulators' start; each m16 tile goes through a per-warp
// shared-memory stage so that its 16 tokens (contiguous in Y) leave in 16-byte stores.
//
// Staging. On Hopper, where the image's rows are whole 16-byte units, one TMA box per tile brings
// the patch in X's own type (zeros outside the image: the box may start at negative coordinates)
// into one of two buffers, a tile ahead, and the gather rounds float32 to fp16 as it reads. Else
// the warps stage it, fp16, each warp a patch row at a time: every row's loads wait for DRAM
// before the next row's start, and the block computes nothing meanwhile. At B2 batch 8 that
// kernel took 0.229 ms, 2.9x its floor (c144), four resident blocks an SM hiding too little.
//
// Floor, SegFormer-B2 stage 0 at batch 8 (X [8, 3, 1024, 1024] fp32, Y [8, 65536, 64]):
//   read X 100.7 MB; write Y 67.1 MB fp16 or 134.2 MB fp32 (the fp16 engine writes this stream
//   start in fp32, precision_islands.h): 56 µs or 78 µs at 3.0 TB/s.
//   GEMM 2·524288·64·147 = 9.9 GFLOP (10.7 with K padded to 160): ~15 µs on mma.sync.
//   Shared memory per warp and k-step: 16 scalar A gathers, 4 offset reads, Co/16 ldmatrix.x4:
//   524288/32 · 10 · 24 = 3.9 M warp accesses, ~30 K cycles per SM (~17 µs), hidden under the
//   DRAM traffic by the 3-4 resident blocks per SM (55 KB of shared memory each at Co 64).
//   Halo: 4 output rows at stride 4 read 19 input rows (L2 serves most of the overlap).
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

#include "kiln/status.h"
#include "ops/attention/mma_f16.cuh"
#include "ops/conv/patch_embed_tokens_launch.h"
#include "runtime/cuda/gpu_arch.h"
#include "runtime/cuda/resident_grid.cuh"
#include "runtime/cuda/tensor_map.cuh"
#include "runtime/cuda/tensor_map.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::conv {
namespace {

using attention::ldmatrix_x4;
using attention::mma16816;

constexpr int kRows = 4;   // output rows per tile: one warp each
constexpr int kCols = 32;  // output columns per tile: two m16 tiles per warp
constexpr int kThreads = kRows * 32;
constexpr int64_t kMaxSmem = 160 * 1024;  // within every sm_80+ GPU's opt-in limit

// Shared memory carve-up (byte offsets) and the padded sizes; plain data for the kernel.
struct Layout {
  int k_pad = 0, co_pad = 0, patch_rows = 0, patch_cols = 0;
  int wt = 0, stage = 0, bias = 0, koff = 0, patch = 0, total = 0;
  bool vec = false;  // tokens leave in 16-byte stores
  // TMA staging (Hopper): two patch buffers of X's type, each one box of patch_cols (rounded up
  // to 16 bytes) x patch_rows x channels, 128-byte aligned at run time (patch_bytes apart).
  // The box starts `shift` columns left of the patch: a TMA box must start on a 16-byte boundary
  // of the row (an illegal instruction otherwise), and every tile's first column sits at the same
  // offset from one (ox0 · s_w is a multiple of 32).
  bool tma = false;
  int patch_bytes = 0, shift = 0;
};

int64_t layout_of(const PatchEmbedParams& p, bool tma, Layout* out) {
  Layout l;
  const int64_t k = int64_t(p.k_h) * p.k_w * p.channels;
  l.k_pad = int((k + 15) / 16 * 16);
  l.co_pad = (p.out_channels + 31) / 32 * 32;
  const int64_t rows = int64_t(kRows - 1) * p.s_h + int64_t(p.k_h - 1) * p.d_h + 1;
  int64_t cols = int64_t(kCols - 1) * p.s_w + int64_t(p.k_w - 1) * p.d_w + 1;
  const int unit = 16 / p.x_size;  // elements a 16-byte unit
  const int shift = tma ? (unit - p.p_w % unit) % unit : 0;
  if (tma) cols = (cols + shift + unit - 1) / unit * unit;  // a box row of whole 16-byte units
  int64_t off = int64_t(l.co_pad) * (l.k_pad + 8) * 2;  // weights [co_pad][k_pad + 8] at 0
  const int64_t stage = off;
  off += int64_t(kRows) * 16 * (l.co_pad + 8) * p.y_size;
  const int64_t bias = off;
  off += int64_t(l.co_pad) * 4 * 3;  // bias, then the LayerNorm's Scale and LB, as floats
  const int64_t koff = off;
  off += int64_t(l.k_pad) * 4;
  const int64_t patch = off;
  const int64_t patch_bytes = (int64_t(p.channels) * rows * cols * (tma ? p.x_size : 2) + 127) / 128 * 128;
  off += tma ? 2 * patch_bytes + 128 : patch_bytes;  // + the run-time alignment's slack
  off = (off + 15) / 16 * 16;
  if (off <= kMaxSmem && out) {
    l.patch_rows = int(rows), l.patch_cols = int(cols);
    l.stage = int(stage), l.bias = int(bias), l.koff = int(koff), l.patch = int(patch), l.total = int(off);
    l.vec = int64_t(p.out_channels) * p.y_size % 16 == 0 && cuda::aligned16(p.y);
    l.tma = tma, l.patch_bytes = int(patch_bytes), l.shift = shift;
    *out = l;
  }
  return off;
}

// The box the TMA path copies per tile: the patch's columns (Layout::patch_cols), rows, channels.
void tma_box(const PatchEmbedParams& p, const Layout& l, uint32_t (&box)[3]) {
  box[0] = uint32_t(l.patch_cols), box[1] = uint32_t(l.patch_rows), box[2] = uint32_t(p.channels);
}

__device__ __forceinline__ __half to_half(float v) { return __float2half_rn(v); }
__device__ __forceinline__ __half to_half(__half v) { return v; }
__device__ __forceinline__ uint32_t pack(__half lo, __half hi) {
  return uint32_t(__half_as_ushort(lo)) | (uint32_t(__half_as_ushort(hi)) << 16);
}
// One A element: the patch at pixel offset `base` and tap offset o (-1: a padded k, zero); a
// float32 patch (TMA staging of float32 X) is rounded to fp16 here, as the staging loop does.
template <class TP> __device__ __forceinline__ __half tap(const TP* patch, int base, int o) {
  return o < 0 ? __ushort_as_half(0) : to_half(patch[base + o]);
}
__device__ __forceinline__ void store_pair(float* s, float a, float b) { *reinterpret_cast<float2*>(s) = make_float2(a, b); }
__device__ __forceinline__ void store_pair(__half* s, float a, float b) {
  *reinterpret_cast<__half2*>(s) = __floats2half2_rn(a, b);
}

// NT n8 tiles cover the padded output channels (NT·8 = co_pad); TX X's element, TY Y's.
// The LayerNorm epilogue on one m16 tile's sums (bias included): each row g / g + 8 is spread
// over the quad's 4 lanes, NT n8 tiles x 2 columns each. The values are first rounded to Y's
// type, as the unfused graph stored them; then two-pass statistics over the Co real columns
// (padded ones are 0 and skipped), reduced across the quad, and y = (v - mean) · rsqrt(var +
// eps) · Scale + LB as LayerNormalization's kernel writes it.
template <int NT, class TY>
__device__ __forceinline__ void layer_norm_tile(float (&acc)[NT][4], const float* scale, const float* lb, int Co,
                                                float eps) {
  const int t = threadIdx.x & 3;
#pragma unroll
  for (int h = 0; h < 2; ++h) {  // row g, then g + 8
    float sum = 0.0f;
#pragma unroll
    for (int nt = 0; nt < NT; ++nt)
#pragma unroll
      for (int j = 0; j < 2; ++j) {
        float& v = acc[nt][2 * h + j];
        if constexpr (std::is_same_v<TY, __half>) v = __half2float(__float2half_rn(v));
        if (nt * 8 + 2 * t + j < Co) sum += v;
      }
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    sum += __shfl_xor_sync(0xffffffffu, sum, 2);
    const float mean = sum / float(Co);
    float sq = 0.0f;
#pragma unroll
    for (int nt = 0; nt < NT; ++nt)
#pragma unroll
      for (int j = 0; j < 2; ++j) {
        const float d = acc[nt][2 * h + j] - mean;
        if (nt * 8 + 2 * t + j < Co) sq += d * d;
      }
    sq += __shfl_xor_sync(0xffffffffu, sq, 1);
    sq += __shfl_xor_sync(0xffffffffu, sq, 2);
    const float inv = rsqrtf(sq / float(Co) + eps);
#pragma unroll
    for (int nt = 0; nt < NT; ++nt)
#pragma unroll
      for (int j = 0; j < 2; ++j) {
        const int n = nt * 8 + 2 * t + j;
        float& v = acc[nt][2 * h + j];
        v = (v - mean) * inv * scale[n] + lb[n];
      }
  }
}

template <int NT, class TX, class TY, bool kNorm, bool kTma>
__global__ void __launch_bounds__(kThreads) patch_embed_mma(const __grid_constant__ CUtensorMap map, PatchEmbedParams p,
                                                            Layout l) {
  constexpr int kN = NT * 8, kLd = kN + 8;  // the stage's row: 8 more breaks bank conflicts
  extern __shared__ __align__(16) unsigned char smem[];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
  const int ldw = l.k_pad + 8;  // ditto for the weights' ldmatrix rows
  __half* wt = reinterpret_cast<__half*>(smem);
  TY* stage = reinterpret_cast<TY*>(smem + l.stage) + warp * 16 * kLd;
  float* bias_s = reinterpret_cast<float*>(smem + l.bias);
  int* koff = reinterpret_cast<int*>(smem + l.koff);
  // The patch: fp16, staged by the warps; or, TMA, two buffers of X's type (tile k in k % 2).
  using TP = std::conditional_t<kTma, TX, __half>;
  const uint32_t smem_base = static_cast<uint32_t>(__cvta_generic_to_shared(smem));
  const uint32_t patch_at = kTma ? ((smem_base + uint32_t(l.patch) + 127) & ~127u) : smem_base + uint32_t(l.patch);
  TP* patch_buf = reinterpret_cast<TP*>(smem + (patch_at - smem_base));
  __shared__ __align__(8) uint64_t bars[2];  // TMA: one a patch buffer
  const uint32_t bar0 = static_cast<uint32_t>(__cvta_generic_to_shared(bars));
  const int C = p.channels, Co = p.out_channels, K = p.k_h * p.k_w * C, PR = l.patch_rows, PC = l.patch_cols;

  // Once per block: weights [K][Co] → [n][k] zero-padded; bias; the tap offsets in the patch.
  const __half* w = static_cast<const __half*>(p.w);
  for (int e = threadIdx.x; e < l.k_pad * kN; e += kThreads) {
    const int k = e / kN, n = e - k * kN;
    wt[n * ldw + k] = k < K && n < Co ? w[k * Co + n] : __ushort_as_half(0);
  }
  for (int n = threadIdx.x; n < kN; n += kThreads) {
    float b = 0.0f;
    if (n < Co && p.bias)
      b = p.bias_size == 4 ? static_cast<const float*>(p.bias)[n] : __half2float(static_cast<const __half*>(p.bias)[n]);
    bias_s[n] = b;
    if constexpr (kNorm) {
      const TY* sc = static_cast<const TY*>(p.scale);
      const TY* lb = static_cast<const TY*>(p.ln_bias);
      bias_s[kN + n] = n < Co ? float(sc[n]) : 0.0f;
      bias_s[2 * kN + n] = n < Co && lb ? float(lb[n]) : 0.0f;
    }
  }
  for (int k = threadIdx.x; k < l.k_pad; k += kThreads) {
    int o = -1;
    if (k < K) {
      const int tp = k / C, c = k - tp * C, i = tp / p.k_w, j = tp - i * p.k_w;
      o = (c * PR + i * p.d_h) * PC + j * p.d_w;
    }
    koff[k] = o;
  }
  // This thread's four A rows (pixels g, g+8, g+16, g+24 of its warp's output row).
  int base[4];
#pragma unroll
  for (int q = 0; q < 4; ++q) base[q] = warp * p.s_h * PC + (g + 8 * q) * p.s_w + l.shift;

  const TX* __restrict__ x = static_cast<const TX*>(p.x);
  TY* __restrict__ y = static_cast<TY*>(p.y);
  const int tiles_x = (p.out_w + kCols - 1) / kCols, tiles_y = (p.out_h + kRows - 1) / kRows;
  const int tiles = p.batch * tiles_x * tiles_y;
  // TMA: thread 0 copies tile k + 1's patch while the block computes tile k's (one box: zeros
  // outside the image, as the staging loop writes them).
  const auto tile_origin = [&](int tile, int& b, int& oy0, int& ox0) {
    const int tx = tile % tiles_x, rest = tile / tiles_x, ty = rest % tiles_y;
    b = rest / tiles_y, oy0 = ty * kRows, ox0 = tx * kCols;
  };
  const auto issue = [&](int tile, int buf) {
    int b, oy0, ox0;
    tile_origin(tile, b, oy0, ox0);
    const uint32_t bar = bar0 + 8 * buf;
    cuda::tma::arrive_expect_tx(bar, uint32_t(C * PR * PC) * uint32_t(sizeof(TX)));
    cuda::tma::load_4d(patch_at + uint32_t(buf * l.patch_bytes), &map, bar, ox0 * p.s_w - p.p_w - l.shift,
                       oy0 * p.s_h - p.p_h, 0, b);
  };
  if constexpr (kTma) {
    if (threadIdx.x == 0) {
      cuda::tma::mbarrier_init(bar0, 1);
      cuda::tma::mbarrier_init(bar0 + 8, 1);
      cuda::tma::fence_barrier_init();
      if (int(blockIdx.x) < tiles) issue(int(blockIdx.x), 0);
    }
  }
  int k = 0;  // tiles done by this block
  for (int tile = blockIdx.x; tile < tiles; tile += gridDim.x, ++k) {
    int b, oy0, ox0;
    tile_origin(tile, b, oy0, ox0);
    const int iy0 = oy0 * p.s_h - p.p_h, ix0 = ox0 * p.s_w - p.p_w;
    const TP* patch = patch_buf;
    if constexpr (kTma) {
      cuda::tma::fence_proxy_async();  // this thread's reads of the other buffer before its next copy
      __syncthreads();  // the tables are written; every warp is done with tile k - 1's buffer
      if (threadIdx.x == 0 && tile + int(gridDim.x) < tiles) issue(tile + int(gridDim.x), (k + 1) & 1);
      cuda::tma::wait_parity(bar0 + 8 * (k & 1), uint32_t(k >> 1) & 1);
      patch = reinterpret_cast<const TP*>(reinterpret_cast<const unsigned char*>(patch_buf) + (k & 1) * l.patch_bytes);
    } else {
      __syncthreads();  // the tables are written; every warp is done with the last tile's patch
      for (int r = warp; r < C * PR; r += kRows) {  // a warp per patch row, reading along W
        const int c = r / PR, iy = iy0 + (r - c * PR);
        __half* dst = patch_buf + r * PC;
        if (iy < 0 || iy >= p.in_h) {
          for (int col = lane; col < PC; col += 32) dst[col] = __ushort_as_half(0);
          continue;
        }
        const TX* src = x + ((int64_t(b) * C + c) * p.in_h + iy) * int64_t(p.in_w);
#pragma unroll 4
        for (int col = lane; col < PC; col += 32) {
          const int ix = ix0 + col;
          dst[col] = ix >= 0 && ix < p.in_w ? to_half(src[ix]) : __ushort_as_half(0);
        }
      }
      __syncthreads();
    }
    const int oy = oy0 + warp;
    if (oy >= p.out_h) continue;

    float acc[2][NT][4];
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
      const float b0 = bias_s[nt * 8 + 2 * t], b1 = bias_s[nt * 8 + 2 * t + 1];
#pragma unroll
      for (int m = 0; m < 2; ++m) acc[m][nt][0] = b0, acc[m][nt][1] = b1, acc[m][nt][2] = b0, acc[m][nt][3] = b1;
    }
    for (int k0 = 0; k0 < l.k_pad; k0 += 16) {
      const int o0 = koff[k0 + 2 * t], o1 = koff[k0 + 2 * t + 1], o2 = koff[k0 + 2 * t + 8], o3 = koff[k0 + 2 * t + 9];
      uint32_t a[2][4];
#pragma unroll
      for (int m = 0; m < 2; ++m) {
        const int lo = base[2 * m], hi = base[2 * m + 1];
        a[m][0] = pack(tap(patch, lo, o0), tap(patch, lo, o1));
        a[m][1] = pack(tap(patch, hi, o0), tap(patch, hi, o1));
        a[m][2] = pack(tap(patch, lo, o2), tap(patch, lo, o3));
        a[m][3] = pack(tap(patch, hi, o2), tap(patch, hi, o3));
      }
#pragma unroll
      for (int np = 0; np < NT / 2; ++np) {  // n tiles 2np and 2np + 1: k0..7 and k8..15 of each
        uint32_t bf[4];
        ldmatrix_x4(bf, wt + (np * 16 + (lane & 7) + ((lane >> 4) << 3)) * ldw + k0 + (((lane >> 3) & 1) << 3));
#pragma unroll
        for (int m = 0; m < 2; ++m) {
          mma16816(acc[m][2 * np], a[m], bf[0], bf[1]);
          mma16816(acc[m][2 * np + 1], a[m], bf[2], bf[3]);
        }
      }
    }

    if constexpr (kNorm) {
#pragma unroll
      for (int m = 0; m < 2; ++m) layer_norm_tile<NT, TY>(acc[m], bias_s + kN, bias_s + 2 * kN, Co, p.eps);
    }
    // Each m16 tile: fragments → the warp's stage → 16 contiguous tokens of Y.
#pragma unroll
    for (int m = 0; m < 2; ++m) {
      const int q0 = ox0 + m * 16, count = min(16, p.out_w - q0);
      if (count <= 0) break;
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) {
        store_pair(stage + g * kLd + nt * 8 + 2 * t, acc[m][nt][0], acc[m][nt][1]);
        store_pair(stage + (g + 8) * kLd + nt * 8 + 2 * t, acc[m][nt][2], acc[m][nt][3]);
      }
      __syncwarp();
      TY* dst = y + ((int64_t(b) * p.out_h + oy) * p.out_w + q0) * Co;
      if (l.vec) {
        constexpr int kPer16 = 16 / int(sizeof(TY));
        const int per = Co / kPer16;  // 16-byte vectors per token
        for (int e = lane; e < count * per; e += 32) {
          const int px = e / per, v = e - px * per;
          *reinterpret_cast<uint4*>(dst + px * Co + v * kPer16) =
              *reinterpret_cast<const uint4*>(stage + px * kLd + v * kPer16);
        }
      } else {
        for (int e = lane; e < count * Co; e += 32) {
          const int px = e / Co, o = e - px * Co;
          dst[px * Co + o] = stage[px * kLd + o];
        }
      }
      __syncwarp();  // the stage is rewritten by the next m tile
    }
  }
}

template <int NT, class TX, class TY, bool kNorm, bool kTma>
void launch(const CUtensorMap& map, const PatchEmbedParams& p, const Layout& l, CudaStream stream) {
  auto kernel = patch_embed_mma<NT, TX, TY, kNorm, kTma>;
  if (l.total > 48 * 1024)
    CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, l.total));
  const int64_t tiles = int64_t(p.batch) * ((p.out_h + kRows - 1) / kRows) * ((p.out_w + kCols - 1) / kCols);
  const int64_t resident = cuda::resident_blocks(kernel, kThreads, size_t(l.total));
  kernel<<<unsigned(tiles < resident ? tiles : resident), kThreads, size_t(l.total), stream>>>(map, p, l);
  CUDA_CHECK_LAUNCH();
}

template <int NT, class TX, class TY> void launch(const PatchEmbedParams& p, const Layout& l, CudaStream stream) {
  CUtensorMap map{};
  if (l.tma) {
    uint32_t box[3];
    tma_box(p, l, box);
    map = cuda::image_box_map(p.x, p.x_size, {p.batch, p.channels, p.in_h, p.in_w}, box);
    if (p.scale) launch<NT, TX, TY, true, true>(map, p, l, stream);
    else launch<NT, TX, TY, false, true>(map, p, l, stream);
  } else if (p.scale) {
    launch<NT, TX, TY, true, false>(map, p, l, stream);
  } else {
    launch<NT, TX, TY, false, false>(map, p, l, stream);
  }
}

template <int NT> void launch_types(const PatchEmbedParams& p, const Layout& l, CudaStream stream) {
  if (p.x_size == 4 && p.y_size == 4) launch<NT, float, float>(p, l, stream);
  else if (p.x_size == 4) launch<NT, float, __half>(p, l, stream);
  else if (p.y_size == 4) launch<NT, __half, float>(p, l, stream);
  else launch<NT, __half, __half>(p, l, stream);
}

// The TMA staging where it applies: a Hopper GPU, the box within the encoder's limits and the
// layout within shared memory; else the warps stage the patch.
Layout plan(const PatchEmbedParams& p) {
  Layout l;
  if (cuda_hopper() && layout_of(p, true, &l) <= kMaxSmem) {
    uint32_t box[3];
    tma_box(p, l, box);
    if (cuda::image_box_fits(p.x, p.x_size, {p.batch, p.channels, p.in_h, p.in_w}, box)) return l;
  }
  layout_of(p, false, &l);
  return l;
}

}  // namespace

bool patch_embed_mma_fits(const PatchEmbedParams& p) {
  if (p.w_size != 2 || p.out_channels < 1 || p.out_channels > 128 || p.channels < 1) return false;
  if ((p.x_size != 2 && p.x_size != 4) || (p.y_size != 2 && p.y_size != 4)) return false;
  return layout_of(p, false, nullptr) <= kMaxSmem;
}

void launch_patch_embed_mma(const PatchEmbedParams& p, CudaStream stream) {
  KILN_ASSERT(patch_embed_mma_fits(p));
  if (p.batch == 0 || p.out_h == 0 || p.out_w == 0) return;
  const Layout l = plan(p);
  switch (l.co_pad / 32) {
    case 1: launch_types<4>(p, l, stream); break;
    case 2: launch_types<8>(p, l, stream); break;
    case 3: launch_types<12>(p, l, stream); break;
    default: launch_types<16>(p, l, stream); break;
  }
}

}  // namespace kiln::conv
