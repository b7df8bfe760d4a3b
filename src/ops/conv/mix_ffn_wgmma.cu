// MixFFN on Hopper's warpgroup MMAs (wgmma.cuh), C = 64 or 128: the same tile, LayerNorm,
// depthwise conv and epilogue as mix_ffn.cu (mix_ffn_tile.cuh), with fc1 and fc2 handed to the
// tensor cores from shared memory.
//
// Why: on mma.sync every warp loads its own A and B fragments by ldmatrix. fc1's warp tiles are
// small (48 x 16 at C = 128): about one ldmatrix per 1.5 MMAs, and 36% of stage 1's stall
// samples at B2 b8 sat in the GEMMs on the shared-memory pipe (c103). wgmma reads both operands
// from shared memory once per warpgroup and runs asynchronously, so the GEMMs run on the tensor
// cores while the same warps compute the depthwise conv. Measured (c110, c111): B2 stage 1 at b8
// 341.5 -> 317 us a layer, stage 0 412.8 -> ~400 us; what bounds both now is the conv and GELU on
// the CUDA cores, about 25 instructions a value.
//
// Per chunk k of 64 hidden channels, C = 64 (2 warpgroups, two blocks an SM):
//   barrier            H(k) in; fetch W1(k + 1), W2(k) (TMA, thread 0), B1/taps(k + 1) (cp.async)
//   conv(k)            H(k) -> G[k & 1]; fc2(k - 1) is still running
//   wait fc2(k - 1), the copies; barrier
//   issue fc1(k + 1) → acc1 and fc2(k) → acc (fc2 accumulates across chunks)
//   wait fc1(k + 1); H(k + 1) = acc1 + B1 (zero outside the image)
// C = 128 (4 warpgroups, one block an SM) has room for two W1 and two H buffers, and runs fc1 of
// chunk k + 1 beside the conv too, one barrier a chunk:
//   issue fc1(k + 1); fetch W2(k), W1(k + 2), the vectors of k + 2; conv(k)
//   wait fc2(k - 1), fc1(k + 1); H(k + 1) = acc1 + B1; wait the copies; barrier; issue fc2(k)
// fc1: warpgroup w takes columns [w N, w N + N), N = 64 / warpgroups, of the three m64 row tiles
// of the 192 halo rows. fc2: warpgroup w takes row tile w % 2 and column tile w / 2.
// During the last chunk X's rows for the residual are staged into the freed A and W1
// (StagedX), so the epilogue reads shared memory. With the output LayerNorm (NormedY) the
// epilogue normalizes each token's sum before it stores fp16.
//
// Shared memory (bytes, 128B-swizzled tiles of 64 fp16 columns as wgmma.cuh describes):
//   A   C / 64 tiles [192][64]: the LayerNorm'd halo, K-major
//   W1  [C][64] (two at C = 128): the chunk's columns of W1 [C, Hd], MN-major (fc1's B as the
//       graph stores it)
//   W2  2 x C / 64 tiles [64][64]: the chunk's rows of W2 [Hd, C], MN-major
//   G   2 x [128][64]: the conv's output, K-major (fc2's A); two, as fc2(k) reads one while the
//       conv of chunk k + 1 writes the other
//   H   [192][72] fp16 (two at C = 128), padded rows (the conv reads whole rows; fc1's fragment
//       stores hit distinct banks), then the chunk vectors (2 or 3 buffers), the halo rows' tokens,
//       the weight copies' mbarrier.
// C = 64: 114,184 bytes with the alignment slack, so two blocks share an SM; C = 128: 208,776.
//
// The weights come by TMA (one thread issues a chunk's W1 and W2 boxes against an mbarrier): by
// cp.async every thread computed swizzled addresses and 64-bit offsets for its copies, about 160
// of a warp's 1138 instructions a chunk at stage 0 (c129).
#include <cuda_fp16.h>

#include <atomic>
#include <cstdint>
#include <type_traits>

#include "kiln/status.h"
#include "ops/attention/mma_f16.cuh"
#include "ops/attention/wgmma.cuh"
#include "ops/conv/mix_ffn_launch.h"
#include "ops/conv/mix_ffn_tile.cuh"
#include "runtime/cuda/gpu_arch.h"
#include "runtime/cuda/resident_grid.cuh"
#include "runtime/cuda/tensor_map.cuh"
#include "runtime/cuda/tensor_map.h"

namespace kiln::conv {
namespace {

using attention::cp_async16;
using attention::cp_async_commit;
using attention::cp_async_wait;
using namespace mix;
namespace wg = attention::wgmma;

constexpr uint32_t kTileBytes = 64 * 128;  // one [64][64] fp16 tile

template <int C> struct Layout {
  static constexpr int kGroups = kWarps<C> / 4, kThreads = kWarps<C> * 32;
  // C = 128 (one block an SM, shared memory to spare) keeps two W1 and two H buffers, so fc1 of
  // chunk k + 1 runs during the conv of chunk k too: one barrier a chunk instead of two, and
  // fc1's latency off the path. C = 64 has no room for them beside a second block.
  static constexpr bool kOverlap = C == 128;
  static constexpr int kBufs = kOverlap ? 2 : 1, kVecBufs = kOverlap ? 3 : 2;
  static constexpr uint32_t a_tile = kHaloRows * 128;
  static constexpr uint32_t a = 0;
  static constexpr uint32_t w1 = a + (C / 64) * a_tile, w1_buf = C * 128;
  static constexpr uint32_t w2 = w1 + kBufs * w1_buf, w2_buf = (C / 64) * kTileBytes;
  static constexpr uint32_t g = w2 + 2 * w2_buf, g_buf = kTokens * 128;
  static constexpr uint32_t h = g + 2 * g_buf, h_buf = kHaloRows * kHLd * 2;
  static constexpr uint32_t vecs = h + kBufs * h_buf;
  static constexpr uint32_t tok = vecs + kVecBufs * kVecs * 2;
  static constexpr uint32_t bar = tok + kHaloRows * 4;          // the weight copies' mbarrier
  static constexpr uint32_t bytes = bar + 8 + wg::kAtomBytes;  // + slack to align the base
  static_assert(w1 % wg::kAtomBytes == 0 && w2 % wg::kAtomBytes == 0 && g % wg::kAtomBytes == 0);
};
static_assert(sm90_smem_fits(Layout<64>::bytes, 2), "two blocks of C = 64 share an SM");
static_assert(Layout<64>::bytes == 114184 && Layout<128>::bytes == 208776, "the sizes the header gives");

// TMA maps of W1 [C][Hd] and W2 [Hd][C] in boxes of 64 columns (tensor_map.h's row stacks):
// W1's boxes are C rows, W2's 64.
struct WeightMaps {
  CUtensorMap w1, w2;
};

// Thread 0's copies of a chunk's weights against the block's mbarrier: one group in flight at a
// time, waited for by every thread (wait: the phases alternate).
template <int C> struct WeightCopies {
  static constexpr uint32_t kBytes = C * 128;  // W1's chunk ([C][64]) and W2's ([64][C]) alike
  const WeightMaps& maps;
  uint32_t bar, phase = 0;

  // Chunk k's columns of W1 into the MN-major tile at w1 (k < 0: none), its rows of W2 into the
  // C / 64 tiles at w2 (w2k < 0: none).
  __device__ __forceinline__ void issue(int k, uint32_t w1, int w2k, uint32_t w2) const {
    if (threadIdx.x != 0) return;
    cuda::tma::arrive_expect_tx(bar, (k >= 0 ? kBytes : 0) + (w2k >= 0 ? kBytes : 0));
    if (k >= 0) cuda::tma::load_4d(w1, &maps.w1, bar, k * kChunk, 0, 0, 0);
    if (w2k >= 0)
#pragma unroll
      for (int t = 0; t < C / 64; ++t) cuda::tma::load_4d(w2 + t * kTileBytes, &maps.w2, bar, t * 64, w2k * kChunk, 0, 0);
  }
  // The prologue's group: W1(0), and W1(1) too where `both` (C = 128 fetches two chunks ahead).
  __device__ __forceinline__ void issue_first(uint32_t w1_0, uint32_t w1_1, bool both) const {
    if (threadIdx.x != 0) return;
    cuda::tma::arrive_expect_tx(bar, (both ? 2 : 1) * kBytes);
    cuda::tma::load_4d(w1_0, &maps.w1, bar, 0, 0, 0, 0);
    if (both) cuda::tma::load_4d(w1_1, &maps.w1, bar, kChunk, 0, 0, 0);
  }
  __device__ __forceinline__ void wait() {
    cuda::tma::wait_parity(bar, phase);
    phase ^= 1;
  }
};
// fc1 of one chunk for warpgroup `group`, as products of all 64 columns where it can: each
// re-reads its 2 KB A tile, so narrow ones cost shared-memory bandwidth and instructions (at
// C = 128 by columns, N = 16: 24 products a warpgroup, with their descriptors 22% of stage 1's
// instructions in c166's ncu). Issued asynchronously; store() runs after the wait.
//   C = 128 (four warpgroups): warpgroup w takes row tile min(w, 2) of the 192 halo rows, all 64
//     columns; warpgroup 3's copy of tile 2 is not stored. The same instructions on every
//     warpgroup: ptxas serializes the wgmmas of a kernel where a warpgroup branches around them
//     (C7520). 8 products a warpgroup, for a third more tensor work.
//   C = 64 (two): warpgroup w takes row tile w, all 64 columns, and columns [32w, 32w + 32) of
//     row tile 2: 8 products a warpgroup instead of 12 of N = 32, the same 48 accumulators.
// store() sits between fc1's wait and the barrier the conv waits at: its biases are loaded before
// its loops (loaded per column pair, C = 128 went from 0.278 to 0.293 ms at B2 b8, c174).
template <int C> struct Fc1 {
  using L = Layout<C>;
  static constexpr bool kByRows = L::kGroups == 4;
  float full[32];  // row tile min(group, 2), columns 0-63
  float half[16];  // C = 64: row tile 2, columns [32 group, 32 group + 32)

  __device__ __forceinline__ void issue(uint32_t base, uint32_t w1, int group) {
    // Made afresh at each call (the volatile copy): hoisted out of the chunk loop, the
    // descriptors held registers and pushed C = 128 into spills. (One descriptor a row tile
    // plus each step's offset, with store()'s loops reordered, took C = 64 at B2 b8 from
    // 0.394-0.398 to 0.416-0.423 ms: c169 against c168.)
    asm volatile("mov.u32 %0, %0;" : "+r"(base));
    const uint64_t db = wg::descriptor(base + w1);
    const auto da = [&](int tile, int kk) {
      return wg::descriptor(base + L::a + (kk / 4) * L::a_tile + tile * kTileBytes + (kk % 4) * 32);
    };
#pragma unroll
    for (int kk = 0; kk < C / 16; ++kk)  // 16 rows of B = 2048 bytes a step
      wg::mma_ss_bt<64>(full, da(min(group, 2), kk), db + 128 * kk, kk);
    if constexpr (!kByRows) {
#pragma unroll
      for (int kk = 0; kk < C / 16; ++kk) wg::mma_ss_bt<32>(half, da(2, kk), db + group * 4 + 128 * kk, kk);
    }
    wg::commit();
  }

  __device__ __forceinline__ void pin() {
    wg::pin(full);
    if constexpr (!kByRows) wg::pin(half);
  }

  // H = acc + B1, zero on halo rows outside the image.
  __device__ __forceinline__ void store(__half* h, const int* tok, const __half* b1, int group) const {
    if (kByRows && group == 3) return;
    store_tile<64>(h, tok, b1, full, min(group, 2), 0);
    if constexpr (!kByRows) store_tile<32>(h, tok, b1, half, 2, 32 * group);
  }

  template <int N>
  static __device__ __forceinline__ void store_tile(__half* h, const int* tok, const __half* b1,
                                                    const float (&acc)[N / 2], int tile, int col0) {
    const int warp = (threadIdx.x >> 5) & 3, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    float2 bias[N / 8];
#pragma unroll
    for (int n = 0; n < N / 8; ++n)
      bias[n] = __half22float2(*reinterpret_cast<const __half2*>(b1 + col0 + n * 8 + 2 * t));
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
      const int row = tile * 64 + warp * 16 + g + 8 * hh;
      const bool inside = tok[row] >= 0;
      __half* out = h + row * kHLd + col0 + 2 * t;
#pragma unroll
      for (int n = 0; n < N / 8; ++n) {
        const float* c = acc + 4 * n + 2 * hh;
        *reinterpret_cast<uint32_t*>(out + n * 8) =
            inside ? attention::pack_half2(c[0] + bias[n].x, c[1] + bias[n].y) : 0u;
      }
    }
  }
};

// fc2 of chunk k for warpgroup `group`: acc += G[k & 1] · W2(k) on row tile group % 2, column
// tile group / 2.
template <int C> __device__ __forceinline__ void issue_fc2(float (&acc)[32], uint32_t base, int k, int group) {
  using L = Layout<C>;
  const uint64_t da = wg::descriptor(base + L::g + (k & 1) * L::g_buf + (group & 1) * kTileBytes);
  const uint64_t db = wg::descriptor(base + L::w2 + (k & 1) * L::w2_buf + (group >> 1) * kTileBytes);
#pragma unroll
  for (int kk = 0; kk < kChunk / 16; ++kk) wg::mma_ss_bt<64>(acc, da + 2 * kk, db + 128 * kk, 1);
  wg::commit();
}

// X for the residual, fetched during the last chunk's conv: A and W1 are free by then, and X's
// rows of the tile's 128 tokens ([128][C] of T; for fp32 exactly A and W1's C · 512 bytes) go
// there in 16-byte pieces swizzled by token (piece j of row m at j ^ (m % 8)), so the
// epilogue's fragment reads spread over the banks. B2 goes to the free vector buffer. The
// epilogue then reads shared memory instead of waiting on DRAM (14% of the stall samples, c105).
template <int C, class T> struct StagedX {
  static constexpr int kRow = C * int(sizeof(T)), kPieces = kRow / 16;
  static_assert(kPieces >= 8 && 128 * kRow <= int(Layout<C>::w2));

  // Where byte `byte` of a row with swizzle key m % 8 sits in that row: the copies and the
  // epilogue's reads both go through here.
  static __device__ __forceinline__ int swizzled(int key, int byte) { return (((byte >> 4) ^ key) << 4) + (byte & 15); }

  static __device__ __forceinline__ void fetch(const MixFfnParams& p, const Tile& t, unsigned char* x, unsigned char* b2) {
    for (int i = threadIdx.x; i < kTokens * kPieces; i += Layout<C>::kThreads) {
      const int m = i / kPieces, j = i % kPieces, oy = t.y0 + m / kTileW, ox = t.x0 + m % kTileW;
      if (oy >= p.height || ox >= p.width) continue;
      const int64_t at = ((int64_t(t.b) * p.height + oy) * p.width + ox) * kRow + j * 16;
      cp_async16(x + m * kRow + swizzled(m & 7, j * 16), static_cast<const unsigned char*>(p.x) + at, 16);
    }
    if (threadIdx.x < kPieces)
      cp_async16(b2 + threadIdx.x * 16, static_cast<const unsigned char*>(p.b2) + threadIdx.x * 16, 16);
  }
};

// The epilogue's view of output token m of the tile: whether it lies in the image, its staged X
// row and the element offset of its Y row, worked out once a token rather than once a channel
// pair, for both epilogues. (c257 had the epilogue's 542 instructions a warp and tile 61% integer;
// doing that work once a token did not change the kernel's time, c297: it is not the bound.)
template <int C, class T> struct EpilogueRow {
  static constexpr int kRow = StagedX<C, T>::kRow;
  const unsigned char* x;  // the staged row
  int key;                 // its swizzle: 16-byte piece j sits at j ^ key
  int64_t at;              // Y's element offset of channel 0
  bool in;

  __device__ __forceinline__ EpilogueRow(const MixFfnParams& p, const Tile& t, const unsigned char* staged, int m)
      : x(staged + m * kRow), key(m & 7) {
    const int oy = t.y0 + m / kTileW, ox = t.x0 + m % kTileW;
    in = oy < p.height && ox < p.width;
    at = ((int64_t(t.b) * p.height + oy) * p.width + ox) * C;
  }
  // X at channels c, c + 1.
  __device__ __forceinline__ float2 x_at(int c) const {
    return Io<T>::load2(reinterpret_cast<const T*>(x + StagedX<C, T>::swizzled(key, c * int(sizeof(T)))));
  }
};

// B2 at the 8 channel pairs col + 8 n + 2 tq (n < 8) a thread's accumulators hold: the same for
// both of its tokens.
template <class T> __device__ __forceinline__ void load_bias_pairs(const unsigned char* b2, int col, int tq,
                                                                   float2 (&bias)[8]) {
#pragma unroll
  for (int n = 0; n < 8; ++n) bias[n] = Io<T>::load2(reinterpret_cast<const T*>(b2) + col + n * 8 + 2 * tq);
}

// The output LayerNorm (fuse_mix_ffn_norm): Y = LayerNorm(a + B2 + X)·S2 + Bn2 in fp16, the sum
// rounded to T first as the unfused graph stores it. A thread holds 16 of a token's channels
// (8 n + 2 t + e of its warpgroup's column tile), the quad of lanes t the tile's 64: mean and
// variance by two quad shuffles each, and at C = 128, where warpgroups w and w + 2 hold a token's
// two column tiles, through `red` in shared memory (2 x 2 x 128 floats) as well.
template <int C, class T> struct NormedY {
  static __device__ __forceinline__ float tile_total(float v, float* red, int m, int half) {
    v += __shfl_xor_sync(0xffffffffu, v, 1);
    v += __shfl_xor_sync(0xffffffffu, v, 2);
    if constexpr (C == 128) {
      if ((threadIdx.x & 3) == 0) red[half * 128 + m] = v;
      __syncthreads();
      v = red[m] + red[128 + m];
    }
    return v;
  }

  static __device__ __forceinline__ void store(const MixFfnParams& p, const MixFfnNorm& norm, const Tile& t,
                                               const unsigned char* x, const unsigned char* b2, const float (&acc)[32],
                                               float* red) {
    const int group = threadIdx.x >> 7, warp = (threadIdx.x >> 5) & 3, lane = threadIdx.x & 31;
    const int gq = lane >> 2, tq = lane & 3, col = (group >> 1) * 64;
    __half2 gamma[8], beta[8];  // this thread's channels' S2 and Bn2, the same for both its tokens
    float2 bias[8];
    load_bias_pairs<T>(b2, col, tq, bias);
#pragma unroll
    for (int n = 0; n < 8; ++n) {
      gamma[n] = *reinterpret_cast<const __half2*>(static_cast<const __half*>(norm.scale) + col + n * 8 + 2 * tq);
      beta[n] = *reinterpret_cast<const __half2*>(static_cast<const __half*>(norm.shift) + col + n * 8 + 2 * tq);
    }
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
      const int m = (group & 1) * 64 + warp * 16 + gq + 8 * hh;
      const EpilogueRow<C, T> row(p, t, x, m);
      const bool in = row.in;
      __half* y = static_cast<__half*>(p.y) + row.at;
      float v[16];
      float total = 0.f;
#pragma unroll
      for (int n = 0; n < 8; ++n) {
        float2 y = make_float2(0.f, 0.f);  // outside the image: X was not staged
        if (in) {
          const float2 r = row.x_at(col + n * 8 + 2 * tq);
          y = make_float2(acc[4 * n + 2 * hh] + bias[n].x + r.x, acc[4 * n + 2 * hh + 1] + bias[n].y + r.y);
        }
        if constexpr (std::is_same_v<T, __half>) y = __half22float2(__floats2half2_rn(y.x, y.y));
        v[2 * n] = y.x, v[2 * n + 1] = y.y;
        total += y.x + y.y;
      }
      const float mean = tile_total(total, red, m, group >> 1) * (1.f / C);
      float q = 0.f;
#pragma unroll
      for (int i = 0; i < 16; ++i) q += (v[i] - mean) * (v[i] - mean);
      const float inv = rsqrtf(tile_total(q, red + 256, m, group >> 1) * (1.f / C) + norm.epsilon);
      if (!in) continue;
#pragma unroll
      for (int n = 0; n < 8; ++n) {
        const int c = col + n * 8 + 2 * tq;
        const float2 g = __half22float2(gamma[n]), b = __half22float2(beta[n]);
        *reinterpret_cast<__half2*>(y + c) =
            __floats2half2_rn((v[2 * n] - mean) * inv * g.x + b.x, (v[2 * n + 1] - mean) * inv * g.y + b.y);
      }
    }
  }
};

// The X rows of the halo of the block `ahead` later in launch order (the resident count: the block
// likely to take the next freed slot) into L2, a halo row a thread, so that its LayerNorm reads
// L2, not DRAM (as attention_block_wgmma.cu does for its blocks).
template <int C, class T> __device__ __forceinline__ void prefetch_next_halo(const MixFfnParams& p, int ahead) {
  const int r = int(threadIdx.x);
  uint3 next;  // block_tile()'s grid: x and y the tile, z the image
  if (r >= kTileH + 2 || !cuda::block_ahead(ahead, next)) return;
  const int y = int(next.y) * kTileH - 1 + r;
  if (y < 0 || y >= p.height) return;
  const int x0 = max(int(next.x) * kTileW - 1, 0), x1 = min(int(next.x) * kTileW + kTileW + 1, p.width);
  constexpr int kTokenBytes = C * int(sizeof(T));
  cuda::tma::prefetch_l2(static_cast<const char*>(p.x) + ((int64_t(next.z) * p.height + y) * p.width + x0) * kTokenBytes,
                         uint32_t((x1 - x0) * kTokenBytes));
}

// kNorm: the output LayerNorm (norm), compiled apart so that the plain kernel's code is untouched
// by it.
template <int C, class T, bool kNorm>
__global__ void __launch_bounds__(kWarps<C> * 32, C <= 64 ? 2 : 1)
    mix_ffn_wgmma(const __grid_constant__ WeightMaps maps, MixFfnParams p, MixFfnNorm norm, int ahead) {
  using L = Layout<C>;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  const uint32_t raw = static_cast<uint32_t>(__cvta_generic_to_shared(smem_raw));
  const uint32_t base = (raw + wg::kAtomBytes - 1) & ~(wg::kAtomBytes - 1);
  unsigned char* sm = smem_raw + (base - raw);
  const auto h = [&](int k) { return reinterpret_cast<__half*>(sm + L::h + (k % L::kBufs) * L::h_buf); };
  const auto w1 = [&](int k) { return L::w1 + (k % L::kBufs) * L::w1_buf; };
  const auto vecs = [&](int k) { return reinterpret_cast<__half*>(sm + L::vecs) + (k % L::kVecBufs) * kVecs; };
  int* tok = reinterpret_cast<int*>(sm + L::tok);
  const int group = wg::warpgroup_index();
  const Tile t = block_tile();
  const int chunks = p.hidden / kChunk, prefetch_chunk = chunks * 3 / 4;
  const auto conv = [&](int k) {
    unsigned char* g = sm + L::g + (k & 1) * L::g_buf;
    dwconv_chunk<C>(p, vecs(k), h(k), [&](int tk, int c, uint32_t v) {
      *reinterpret_cast<uint32_t*>(g + wg::swizzled(tk, c)) = v;
    });
  };
  const auto stage_x = [&](int k) { StagedX<C, T>::fetch(p, t, sm + L::a, reinterpret_cast<unsigned char*>(vecs(k + 1))); };
  WeightCopies<C> weights{maps, base + L::bar};
  const uint32_t w2_at = base + L::w2;  // W2(k) at w2_at + (k & 1) * L::w2_buf

  if (threadIdx.x == 0) {
    cuda::tma::mbarrier_init(weights.bar, 1);
    cuda::tma::fence_barrier_init();
  }
  weights.issue_first(base + w1(0), base + w1(1), L::kOverlap && chunks > 1);
  for (int k = 0; k < (L::kOverlap ? 2 : 1) && k < chunks; ++k) fetch_vecs(p, k, vecs(k));
  cp_async_commit();
  halo_tokens<kWarps<C> * 32>(p, t, tok);
  __syncthreads();
  layer_norm_halo<C, T, 1>(p, tok, [&](int row, int c0, uint2 v) {
    *reinterpret_cast<uint2*>(sm + L::a + (c0 / 64) * L::a_tile + wg::swizzled(row, c0 % 64)) = v;
  });
  cp_async_wait<0>();
  weights.wait();
  cuda::tma::fence_proxy_async();  // A, written by the generic proxy, read by wgmma
  __syncthreads();
  Fc1<C> fc1;
  wg::fence();
  fc1.issue(base, w1(0), group);
  wg::wait<0>();
  fc1.pin();
  fc1.store(h(0), tok, vecs(0) + kB1, group);

  float acc[32];
#pragma unroll
  for (int i = 0; i < 32; ++i) acc[i] = 0.f;
  // `more` (a compile-time bool, so that no wgmma sits behind a branch): chunk k + 1 follows.
  // Two barriers a chunk (C = 64): the conv of chunk k beside fc2(k - 1), then fc1(k + 1) and
  // fc2(k) issued together, fc1 waited for.
  const auto step = [&](int k, auto more) {
    // H(k) is in; every warpgroup is done with fc1(k) (W1 is free) and fc2(k - 2) (W2 and G of
    // parity k are free).
    __syncthreads();
    if (k == prefetch_chunk) prefetch_next_halo<C, T>(p, ahead);
    weights.issue(more.value ? k + 1 : -1, base + w1(k + 1), k, w2_at + (k & 1) * L::w2_buf);
    if constexpr (more.value) fetch_vecs(p, k + 1, vecs(k + 1));
    if constexpr (!more.value) stage_x(k);
    cp_async_commit();
    conv(k);
    wg::wait<0>();  // fc2(k - 1)
    wg::pin(acc);
    cp_async_wait<0>();
    weights.wait();
    cuda::tma::fence_proxy_async();  // G(k), written by the generic proxy, read next by wgmma
    __syncthreads();                 // G(k) complete; H free
    wg::fence();
    if constexpr (more.value) fc1.issue(base, w1(k + 1), group);
    issue_fc2<C>(acc, base, k, group);
    if constexpr (more.value) {
      wg::wait<1>();  // fc1(k + 1); fc2(k) runs on
      fc1.pin();
      fc1.store(h(k + 1), tok, vecs(k + 1) + kB1, group);
    }
  };
  // One barrier a chunk (C = 128): fc1(k + 1) and fc2(k - 1) both run during the conv of chunk
  // k; after the barrier that completes G(k), fc2(k) is issued. Buffers: W1 and H by chunk
  // parity, the vectors by chunk % 3 (those of k + 2 arrive while k's taps are in use).
  const auto step_overlapped = [&](int k, auto more) {
    if (k == prefetch_chunk) prefetch_next_halo<C, T>(p, ahead);
    if constexpr (more.value) {
      wg::fence();
      fc1.issue(base, w1(k + 1), group);
    }
    weights.issue(k + 2 < chunks ? k + 2 : -1, base + w1(k + 2), k, w2_at + (k & 1) * L::w2_buf);
    if (k + 2 < chunks) fetch_vecs(p, k + 2, vecs(k + 2));
    if constexpr (!more.value) stage_x(k + 1);
    cp_async_commit();
    conv(k);
    wg::wait<0>();  // fc2(k - 1), fc1(k + 1)
    wg::pin(acc);
    if constexpr (more.value) {
      fc1.pin();
      fc1.store(h(k + 1), tok, vecs(k + 1) + kB1, group);
    }
    cp_async_wait<0>();
    weights.wait();
    cuda::tma::fence_proxy_async();  // G(k), written by the generic proxy, read next by wgmma
    __syncthreads();                 // G(k), H(k + 1) complete
    wg::fence();
    issue_fc2<C>(acc, base, k, group);
  };
  if constexpr (L::kOverlap) {
    __syncthreads();  // H(0)
    for (int k = 0; k + 1 < chunks; ++k) step_overlapped(k, std::true_type{});
    step_overlapped(chunks - 1, std::false_type{});
  } else {
    for (int k = 0; k + 1 < chunks; ++k) step(k, std::true_type{});
    step(chunks - 1, std::false_type{});
  }
  wg::wait<0>();
  wg::pin(acc);

  // Y = acc + B2 + X: element (16 warp + g + 8 hh, 8 n + 2 t + e) of the warpgroup's 64 x 64 tile.
  const int warp = (threadIdx.x >> 5) & 3, lane = threadIdx.x & 31, gq = lane >> 2, tq = lane & 3;
  const unsigned char* b2 = reinterpret_cast<const unsigned char*>(vecs(L::kOverlap ? chunks + 1 : chunks));
  if constexpr (kNorm) {  // H is free: the last conv is done
    NormedY<C, T>::store(p, norm, t, sm + L::a, b2, acc, reinterpret_cast<float*>(h(0)));
  } else {
    const int col = (group >> 1) * 64;
    float2 bias[8];
    load_bias_pairs<T>(b2, col, tq, bias);
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
      const EpilogueRow<C, T> row(p, t, sm + L::a, (group & 1) * 64 + warp * 16 + gq + 8 * hh);
      if (!row.in) continue;
      T* y = static_cast<T*>(p.y) + row.at;
#pragma unroll
      for (int n = 0; n < 8; ++n) {
        const int c = col + n * 8 + 2 * tq;
        const float2 r = row.x_at(c);
        Io<T>::store2(y + c, acc[4 * n + 2 * hh] + bias[n].x + r.x, acc[4 * n + 2 * hh + 1] + bias[n].y + r.y);
      }
    }
  }
}

std::atomic<bool> prefetch_on{true};  // set_mix_ffn_prefetch

template <int C, class T> void launch(const MixFfnParams& p, const MixFfnNorm& norm, CudaStream stream) {
  auto kernel = norm.scale ? mix_ffn_wgmma<C, T, true> : mix_ffn_wgmma<C, T, false>;
  const cuda::RowStack r1 = cuda::matrix_rows(p.w1, C, p.hidden), r2 = cuda::matrix_rows(p.w2, p.hidden, C);
  // Graph constants: 256-byte aligned device buffers with rows of 128-byte multiples.
  KILN_ASSERT(cuda::tiled_rows_fit(r1) && cuda::tiled_rows_fit(r2));
  const WeightMaps maps{cuda::tiled_rows_map(r1, C), cuda::tiled_rows_map(r2, kChunk)};
  CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(Layout<C>::bytes)));
  const dim3 grid(unsigned((p.width + kTileW - 1) / kTileW), unsigned((p.height + kTileH - 1) / kTileH),
                  unsigned(p.batch));
  const int ahead = prefetch_on.load() ? int(cuda::resident_blocks(kernel, Layout<C>::kThreads, Layout<C>::bytes)) : 0;
  kernel<<<grid, Layout<C>::kThreads, Layout<C>::bytes, stream>>>(maps, p, norm, ahead);
  CUDA_CHECK(cudaGetLastError());
}

template <class T> void launch_typed(const MixFfnParams& p, const MixFfnNorm& norm, CudaStream stream) {
  if (p.channels == 64) return launch<64, T>(p, norm, stream);
  KILN_ASSERT(p.channels == 128);
  launch<128, T>(p, norm, stream);
}

}  // namespace

void set_mix_ffn_prefetch(bool on) { prefetch_on.store(on); }

void launch_mix_ffn_wgmma(const MixFfnParams& p, const MixFfnNorm& norm, CudaStream stream) {
  KILN_ASSERT(p.hidden % kChunk == 0 && p.batch <= 65535 && (p.height + kTileH - 1) / kTileH <= 65535);
  if (p.x_f32) launch_typed<float>(p, norm, stream);
  else launch_typed<__half>(p, norm, stream);
}

}  // namespace kiln::conv
