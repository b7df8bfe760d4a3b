// kiln.TokenConv on Hopper: an implicit GEMM whose A tiles TMA gathers straight from the tokens.
// SegFormer's patch embeddings of stages 1-3 (3×3, stride 2, pad 1 on the previous stage's
// tokens) ran as kiln.Im2ColTokens, which wrote each token 9/4 times over as window rows, and a
// GEMM reading them back: B2 b8 (c160) 80 + 82 µs at stage 1, 42 + 58 at stage 2, 28 + 44 at
// stage 3, where the tokens in and out are 67 + 67, 34 + 42 and 21 + 17 MB (45, 25 and 13 µs at
// 3.0 TB/s).
//
// A block of kGroups warpgroups computes 4·kGroups × 16 output pixels (64·kGroups GEMM rows) ×
// 64·kNT output channels; warpgroup w takes pixel rows [64w, 64w + 64). The K loop walks the taps (i, j) and, per tap, the input
// channels in chunks of 64. For each step one TMA box (tensor_map.h's token_window_map) brings the
// block's pixels' 64 channels under tap (i, j) — the map's element strides are the conv's strides and
// the box's corner may lie in the padding, which reads as zeros — and kNT boxes bring W's 64 rows
// of that tap and chunk × 64 output channels (MN-major, as the graph stores W). kStages stages;
// the block's last warp done with a stage refills it (the flash kernels' scheme), so the
// warpgroups never wait on each other. The epilogue adds the bias, optionally normalizes each
// pixel's Co channels (the LayerNorm after SegFormer's stage-1 embedding: the block then holds all
// of them), and stores float32 or float16.
//
// The variant (launch_token_conv): two warpgroups and two output tiles where the grid fills the
// GPU, else one tile, else one warpgroup — B2's stage 3 at batch 1 is 8 × 4 blocks of the first,
// 45 K steps each (40 µs, c171), and 128 blocks of the last.
#include <cuda_fp16.h>

#include <cstdint>

#include "kiln/status.h"
#include "ops/attention/wgmma.cuh"
#include "ops/conv/token_conv_launch.h"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/gpu_arch.h"
#include "runtime/cuda/tensor_map.cuh"
#include "runtime/cuda/tensor_map.h"

namespace kiln::conv {
namespace {

namespace wg = attention::wgmma;
namespace tma = cuda::tma;

constexpr int kTileW = 16;
constexpr uint32_t kBTile = 64 * 128;  // 64 K rows × 64 output channels

// ~96 KB of stages, so that two blocks share an SM.
template <int kNT, int kGroups> struct Layout {
  static constexpr int kTileH = 4 * kGroups, kThreads = 128 * kGroups, kWarps = 4 * kGroups;
  static constexpr uint32_t a_tile = 64 * kGroups * 128;  // 64·kGroups pixels × 64 channels
  static constexpr uint32_t stage = a_tile + kNT * kBTile;
  static constexpr int kStages = int(96 * 1024 / stage);
  static constexpr uint32_t bars = kStages * stage;      // an mbarrier a stage
  static constexpr uint32_t counts = bars + 8 * kStages;  // a release count a stage
  static constexpr uint32_t bytes = counts + 4 * kStages + wg::kAtomBytes;
  static_assert(kStages >= 3 && sm90_smem_fits(bytes, 2), "two blocks an SM");
};

template <int kNT, int kGroups>
__global__ void __launch_bounds__(128 * kGroups, 2)
    token_conv_wgmma(const __grid_constant__ CUtensorMap xmap, const __grid_constant__ CUtensorMap wmap,
                     TokenConvParams p, int tiles_w, int chunks, int n_begin) {
  using L = Layout<kNT, kGroups>;
  constexpr int kTileH = L::kTileH, kWarps = L::kWarps;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  const uint32_t raw = static_cast<uint32_t>(__cvta_generic_to_shared(smem_raw));
  const uint32_t base = (raw + wg::kAtomBytes - 1) & ~(wg::kAtomBytes - 1);
  unsigned* counts = reinterpret_cast<unsigned*>(smem_raw + (base - raw) + L::counts);
  const int group = threadIdx.x >> 7, warp = (threadIdx.x >> 5) & 3, lane = threadIdx.x & 31;
  const int ty = int(blockIdx.x) / tiles_w, tx = int(blockIdx.x) - ty * tiles_w;
  const int oy0 = ty * kTileH, ox0 = tx * kTileW, n0 = n_begin + int(blockIdx.y) * 64 * kNT, b = int(blockIdx.z);
  const int steps = p.kh * p.kw * chunks;

  // Step s (tap s / chunks, channels 64 (s % chunks) + [0, 64)) into stage s % kStages.
  const auto load = [&](int s) {
    const int st = s % L::kStages, tap = s / chunks, c0 = (s - tap * chunks) * 64;
    const int i = tap / p.kw, j = tap - i * p.kw;
    const uint32_t bar = base + L::bars + 8 * st, a = base + st * L::stage;
    tma::arrive_expect_tx(bar, L::stage);
    tma::load_4d(a, &xmap, bar, c0, ox0 * p.stride_w - p.pad_left + j * p.dil_w,
                 oy0 * p.stride_h - p.pad_top + i * p.dil_h, b);
#pragma unroll
    for (int nt = 0; nt < kNT; ++nt)
      tma::load_4d(a + L::a_tile + nt * kBTile, &wmap, bar, n0 + 64 * nt, tap * int(p.channels) + c0, 0, 0);
  };

  if (threadIdx.x == 0) {
    for (int st = 0; st < L::kStages; ++st) {
      tma::mbarrier_init(base + L::bars + 8 * st, 1);
      counts[st] = 0;
    }
    tma::fence_barrier_init();
  }
  __syncthreads();
  if (threadIdx.x == 0)
    for (int s = 0; s < L::kStages && s < steps; ++s) load(s);

  float acc[kNT][32];
  for (int s = 0; s < steps; ++s) {
    const int st = s % L::kStages;
    tma::wait_parity(base + L::bars + 8 * st, uint32_t(s / L::kStages) & 1);
    wg::fence();
    const uint64_t da = wg::descriptor(base + st * L::stage + group * (64 * 128));
    const uint64_t db = wg::descriptor(base + st * L::stage + L::a_tile);
#pragma unroll
    for (int kk = 0; kk < 4; ++kk)  // 16 channels a step: 32 bytes along A's rows, 16 rows of B
#pragma unroll
      for (int nt = 0; nt < kNT; ++nt)
        wg::mma_ss_bt<64>(acc[nt], da + 2 * kk, db + nt * (kBTile >> 4) + 128 * kk, (s | kk) != 0);
    wg::commit();
#pragma unroll
    for (int nt = 0; nt < kNT; ++nt) wg::pin(acc[nt]);
    wg::wait<1>();  // step s - 1's products are done with their stage
#pragma unroll
    for (int nt = 0; nt < kNT; ++nt) wg::pin(acc[nt]);
    const int done = s - 1;
    if (s > 0 && lane == 0 && tma::last_release(counts + done % L::kStages, kWarps) && done + L::kStages < steps)
      load(done + L::kStages);
  }
  wg::wait<0>();
#pragma unroll
  for (int nt = 0; nt < kNT; ++nt) wg::pin(acc[nt]);

  // Element (16 warp + g + 8h, 8n + 2t + e) of the warpgroup's 64 pixels × 64 channels a tile;
  // a pixel's channels of the block sit on one lane quad.
  const int g = lane >> 2, t = lane & 3;
  const auto pair = [&](const void* v, bool f32, int col) {
    return f32 ? *reinterpret_cast<const float2*>(static_cast<const float*>(v) + col)
               : __half22float2(*reinterpret_cast<const __half2*>(static_cast<const __half*>(v) + col));
  };
  if (p.bias) {
#pragma unroll
    for (int nt = 0; nt < kNT; ++nt)
#pragma unroll
      for (int n = 0; n < 8; ++n) {
        const float2 bv = pair(p.bias, p.bias_f32, n0 + 64 * nt + 8 * n + 2 * t);
        acc[nt][4 * n] += bv.x, acc[nt][4 * n + 2] += bv.x;
        acc[nt][4 * n + 1] += bv.y, acc[nt][4 * n + 3] += bv.y;
      }
  }
  // The LayerNorm epilogue: the block holds all Co = 64·kNT channels of its pixels (the host's
  // choice); two passes over the registers, quad shuffles. Every lane takes part, rows past the
  // picture too, as the shuffles need the whole warp.
  float mean[2] = {0.f, 0.f}, rstd[2] = {0.f, 0.f};
  if (p.scale) {
    constexpr float kInv = 1.f / float(64 * kNT);
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      float s = 0.f;
#pragma unroll
      for (int nt = 0; nt < kNT; ++nt)
#pragma unroll
        for (int n = 0; n < 8; ++n) s += acc[nt][4 * n + 2 * h] + acc[nt][4 * n + 2 * h + 1];
      s += __shfl_xor_sync(0xffffffffu, s, 1);
      s += __shfl_xor_sync(0xffffffffu, s, 2);
      mean[h] = s * kInv;
      float q = 0.f;
#pragma unroll
      for (int nt = 0; nt < kNT; ++nt)
#pragma unroll
        for (int n = 0; n < 8; ++n)
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            const float d = acc[nt][4 * n + 2 * h + e] - mean[h];
            q = fmaf(d, d, q);
          }
      q += __shfl_xor_sync(0xffffffffu, q, 1);
      q += __shfl_xor_sync(0xffffffffu, q, 2);
      rstd[h] = rsqrtf(q * kInv + p.epsilon);
    }
  }
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int px = group * 64 + warp * 16 + g + 8 * h;
    const int oy = oy0 + px / kTileW, ox = ox0 + px % kTileW;
    if (oy >= p.out_h || ox >= p.out_w) continue;
    const int64_t row = ((int64_t(b) * p.out_h + oy) * p.out_w + ox) * p.out_channels;
#pragma unroll
    for (int nt = 0; nt < kNT; ++nt)
#pragma unroll
      for (int n = 0; n < 8; ++n) {
        const int col = n0 + 64 * nt + 8 * n + 2 * t;
        float v0 = acc[nt][4 * n + 2 * h], v1 = acc[nt][4 * n + 2 * h + 1];
        if (p.scale) {
          const float2 sc = pair(p.scale, p.y_f32, col);
          const float2 sh = p.lb ? pair(p.lb, p.y_f32, col) : make_float2(0.f, 0.f);
          v0 = fmaf((v0 - mean[h]) * rstd[h], sc.x, sh.x);
          v1 = fmaf((v1 - mean[h]) * rstd[h], sc.y, sh.y);
        }
        if (p.y_f32) *reinterpret_cast<float2*>(static_cast<float*>(p.y) + row + col) = make_float2(v0, v1);
        else *reinterpret_cast<__half2*>(static_cast<__half*>(p.y) + row + col) = __floats2half2_rn(v0, v1);
      }
  }
}

cuda::TokenWindows windows(const TokenConvParams& p, int tile_h) {
  cuda::TokenWindows t;
  t.base = p.x;
  t.batch = p.batch, t.height = p.height, t.width = p.width, t.channels = p.channels;
  t.box_w = kTileW, t.box_h = uint32_t(tile_h), t.stride_w = uint32_t(p.stride_w), t.stride_h = uint32_t(p.stride_h);
  return t;
}

// W [kh·kw·C, Co] as tensor_map.h's row stack.
cuda::RowStack weights(const TokenConvParams& p) {
  return cuda::matrix_rows(p.w, int64_t(p.kh) * p.kw * p.channels, p.out_channels);
}

int64_t tiles_w(const TokenConvParams& p) { return (p.out_w + kTileW - 1) / kTileW; }
int64_t tiles_h(const TokenConvParams& p, int tile_h) { return (p.out_h + tile_h - 1) / tile_h; }
int64_t blocks(const TokenConvParams& p, int nt, int groups, int64_t channels) {
  return tiles_w(p) * tiles_h(p, 4 * groups) * (channels / (64 * nt)) * p.batch;
}

// Output channels [n_begin, n_end).
template <int kNT, int kGroups>
void launch(const TokenConvParams& p, CudaStream stream, int64_t n_begin, int64_t n_end) {
  using L = Layout<kNT, kGroups>;
  const CUtensorMap xmap = cuda::token_window_map(windows(p, L::kTileH));
  const CUtensorMap wmap = cuda::tiled_rows_map(weights(p), 64);
  auto kernel = token_conv_wgmma<kNT, kGroups>;
  CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(L::bytes)));
  const dim3 grid(unsigned(tiles_w(p) * tiles_h(p, L::kTileH)), unsigned((n_end - n_begin) / (64 * kNT)),
                  unsigned(p.batch));
  kernel<<<grid, L::kThreads, L::bytes, stream>>>(xmap, wmap, p, int(tiles_w(p)), int(p.channels / 64),
                                                  int(n_begin));
  CUDA_CHECK_LAUNCH();
}

TokenConvVariant forced = TokenConvVariant::kAuto;  // set_token_conv_variant

}  // namespace

bool token_conv_runs(const TokenConvParams& p) {
  if (p.scale && p.out_channels != 64 && p.out_channels != 128) return false;
  if (p.channels % 64 != 0 || p.out_channels % 64 != 0 || p.channels <= 0 || p.out_channels <= 0 || p.batch <= 0 ||
      p.batch > 65535 || p.out_h <= 0 || p.out_w <= 0 || p.out_channels / 64 > 65535 || !cuda_hopper())
    return false;
  for (const void* ptr : {p.x, p.w, p.bias, p.scale, p.lb, static_cast<const void*>(p.y)})
    if ((reinterpret_cast<uintptr_t>(ptr) & 15) != 0) return false;
  const int64_t k_rows = int64_t(p.kh) * p.kw * p.channels;
  return tiles_w(p) * tiles_h(p, 4) < (int64_t(1) << 31) && k_rows < (int64_t(1) << 31) &&
         int64_t(p.kh) * p.kw * (p.channels / 64) < (int64_t(1) << 31) && cuda::token_window_fits(windows(p, 8)) &&
         cuda::tiled_rows_fit(weights(p));
}

void set_token_conv_variant(TokenConvVariant v) { forced = v; }

// Two tiles a block over the multiples of 128 output channels and one tile over the last 64
// where Co is odd in 64s: B2's stage 2 (Co 320) read its A tiles once per 64 channels, five
// times, and was bound by the L2's bandwidth (1280 blocks × 18 steps × 24 KB).
void launch_token_conv(const TokenConvParams& p, CudaStream stream) {
  KILN_ASSERT(token_conv_runs(p));
  const int64_t sms = cuda_sm_count(), co = p.out_channels, paired = co - co % 128;
  if (p.scale && co == 128) return launch<2, 2>(p, stream, 0, co);  // a block holds a token's channels
  TokenConvVariant v = forced;
  if (v == TokenConvVariant::kTwoTiles && paired == 0) v = TokenConvVariant::kOneTile;
  if (v == TokenConvVariant::kAuto)
    v = paired > 0 && blocks(p, 2, 2, paired) >= sms ? TokenConvVariant::kTwoTiles
        : blocks(p, 1, 2, co) >= sms                  ? TokenConvVariant::kOneTile
                                                      : TokenConvVariant::kOneWarpgroup;
  if (v == TokenConvVariant::kTwoTiles) {
    launch<2, 2>(p, stream, 0, paired);
    if (paired < co) launch<1, 2>(p, stream, paired, co);
  } else if (v == TokenConvVariant::kOneTile) {
    launch<1, 2>(p, stream, 0, co);
  } else {
    launch<1, 1>(p, stream, 0, co);
  }
}

}  // namespace kiln::conv
