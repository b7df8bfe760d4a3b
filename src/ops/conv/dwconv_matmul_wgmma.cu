// DwConvMatMul on Hopper's warpgroup MMAs: Y = act(dwconv3x3(H) + Bd)·W2 + B2 + X for C = 320
// (SegFormer-B2 stage 2's MLP, whose 4C-wide fc1 output H is too wide for MixFFN's fused fc1).
// The conv's output D never reaches memory: it is made one chunk of 64 hidden channels at a time
// in shared memory and handed to fc2 as its A operand, fc2's sums for the whole 8 x 16 tile
// (128 x 320) staying in registers across the chunks.
//
// Why: unfused, stage 2 wrote D (4C fp16 a token) and read it back — at B2 b8, per block,
// fc2 with its residual 74.6 us and DepthwiseConvNHWC 71.9 (c239), against a floor of about
// 56 us for both together (168.6 MB at 3 TB/s; fc2's 27 GFLOP, ~37 us). Fused: 133-135 us (op
// bench c237, c238; 134 in the engine); the B2 b8 engine 9.139-9.148 ms against 9.168-9.193
// without the pass (c239). The first version took 169 us (c231): a warp issued 836
// instructions a chunk, a third integer (divisions and 64-bit token math per copy: now each
// thread's copies are fixed per tile, Copies). Not kept: X's rows sent to L2 1-8 chunks before
// the last (135.7-138.9 us against 133.2 without, c237); the epilogue's loads all issued before
// its stores (139.7, c236: spills; the epilogue is a burst of X and Y traffic every resident
// block makes at once, not a latency). Session 23's register-A version (8 warps of 160 sums)
// lost at 145 us: docs/BENCHMARKS.md.
//
// Per chunk k (16 warps, 4 warpgroups, one block an SM), one barrier a chunk:
//   fetch W2(k), H(k + 1) (the 10 x 18 halo rows, zeros outside the image), taps(k + 1) (cp.async)
//   conv(k)  H(k) -> G[k & 1], the same tensor-core conv as MixFFN (mix_ffn_tile.cuh); fc2(k - 1)
//            still runs
//   wait fc2(k - 1), the copies; barrier; issue fc2(k) → acc
// fc2: warpgroup w takes row tile w % 2 of the 128 tokens and half w / 2 of the 320 columns:
// tiles 3h and 3h + 1 (m64n64) and columns [32h, 32h + 32) of tile 2 (m64n32) — the same
// instructions on every warpgroup (ptxas serializes wgmmas behind a branch, C7520).
//
// Shared memory (bytes; 128B-swizzled tiles of 64 fp16 columns as wgmma.cuh describes):
//   W2  2 x 5 tiles [64][64]: the chunk's rows of W2 [Hd, C], MN-major
//   G   2 x [128][64]: the conv's output, K-major (fc2's A)
//   H   2 x [192][72] fp16: the chunk's halo rows, padded (the conv's ldmatrix rows hit distinct banks)
//   the chunk's taps and bias (2 buffers), the halo rows' token indices.
#include <cuda_fp16.h>

#include <cstdint>

#include "kiln/status.h"
#include "ops/attention/mma_f16.cuh"
#include "ops/attention/wgmma.cuh"
#include "ops/conv/dwconv_matmul_launch.h"
#include "ops/conv/dwconv_matmul_tile.h"
#include "ops/conv/mix_ffn_tile.cuh"
#include "runtime/cuda/gpu_arch.h"
#include "runtime/cuda/tensor_map.cuh"

namespace kiln::conv {
namespace {

using attention::cp_async16;
using attention::cp_async_commit;
using attention::cp_async_wait;
using namespace mix;
namespace wg = attention::wgmma;

constexpr int kC = 320, kColTiles = kC / 64, kGroups = 4, kThreads = kGroups * 128;
constexpr uint32_t kTileBytes = 64 * 128;  // one [64][64] fp16 tile
constexpr int kVecHalves = kBd + kChunk;   // the chunk's taps [64][9] and bias [64]

struct Layout {
  static constexpr uint32_t w2 = 0, w2_buf = kColTiles * kTileBytes;
  static constexpr uint32_t g = w2 + 2 * w2_buf, g_buf = kTokens * 128;
  static constexpr uint32_t h = g + 2 * g_buf, h_buf = kHaloRows * kHLd * 2;
  static constexpr uint32_t vecs = h + 2 * h_buf, vec_buf = kVecHalves * 2;
  static constexpr uint32_t tok = vecs + 2 * vec_buf;
  static constexpr uint32_t bytes = tok + kHaloRows * 4 + wg::kAtomBytes;  // + slack to align the base
  static_assert(w2_buf % wg::kAtomBytes == 0 && g % wg::kAtomBytes == 0 && h % 16 == 0 && vec_buf % 16 == 0);
};
static_assert(sm90_smem_fits(Layout::bytes, 1));
static_assert(kTileH == kDwConvMatMulTileH && kTileW == kDwConvMatMulTileW, "the tile fuse_dwconv_matmul counts");

// A thread's share of the per-chunk copies, the same every chunk: W2's row tid / 8, 16-byte
// piece tid % 8 of each of its 5 column tiles; the halo rows tid / 8 + 64 j (j < 3), piece
// tid % 8, their tokens from `tok` (made once a tile). Divisions and 64-bit token math per copy
// were a third of the loop's integer instructions (c232).
struct Copies {
  // Chunk k's rows of W2 [Hd][C] into the 5 tiles at w2.
  static __device__ __forceinline__ void w2(const DwConvMatMulParams& p, int k, unsigned char* dst) {
    const int row = threadIdx.x >> 3, piece = (threadIdx.x & 7) * 8;
    const __half* src = static_cast<const __half*>(p.w2) + (k * kChunk + row) * kC + piece;
    dst += wg::swizzled(row, piece);
#pragma unroll
    for (int j = 0; j < kColTiles; ++j) cp_async16(dst + j * kTileBytes, src + j * 64, 16);
  }

  // Chunk k's 64 channels of the halo rows into h (zeros outside the image), its taps and bias
  // into vecs. H has fewer than 2^31 elements (the host checks).
  static __device__ __forceinline__ void h(const DwConvMatMulParams& p, const int* tok, int k, __half* dst, __half* vecs) {
    const int piece = (threadIdx.x & 7) * 8, r0 = threadIdx.x >> 3;
    const __half* src = static_cast<const __half*>(p.h) + k * kChunk + piece;
    dst += r0 * kHLd + piece;
#pragma unroll
    for (int j = 0; j < 3; ++j) {
      if (j == 2 && r0 + 128 >= kHalo) break;
      const int tk = tok[r0 + 64 * j];
      cp_async16(dst + 64 * j * kHLd, src + max(tk, 0) * p.hidden, tk >= 0 ? 16 : 0);
    }
    const int i = threadIdx.x;
    if (i < kBd / 8) cp_async16(vecs + i * 8, static_cast<const __half*>(p.wd) + k * kBd + i * 8, 16);
    else if (i < kVecHalves / 8)
      cp_async16(vecs + i * 8, static_cast<const __half*>(p.bd) + k * kChunk + i * 8 - kBd, 16);
  }
};
static_assert(kThreads == 64 * 8 && kHalo <= 3 * 64 && kHalo > 2 * 64, "Copies: one W2 row and three halo rows a thread");

// fc2's sums of warpgroup w: row tile w % 2, column half w / 2.
struct Acc {
  float a[32], b[32], c[16];  // column tiles 3h and 3h + 1, columns 128 + [32h, 32h + 32)

  __device__ __forceinline__ void pin() {
    wg::pin(a);
    wg::pin(b);
    wg::pin(c);
  }

  // acc (+)= G[k & 1] · W2(k): the first product of chunk 0 overwrites (zeroed accumulators
  // written by plain instructions made ptxas serialize the wgmmas, C7515).
  __device__ __forceinline__ void issue(uint32_t base, int k, int group) {
    const int half = group >> 1;
    const uint64_t da = wg::descriptor(base + Layout::g + (k & 1) * Layout::g_buf + (group & 1) * kTileBytes);
    const uint32_t w2 = base + Layout::w2 + (k & 1) * Layout::w2_buf;
    const uint64_t d0 = wg::descriptor(w2 + 3 * half * kTileBytes), d1 = wg::descriptor(w2 + (3 * half + 1) * kTileBytes);
    const uint64_t d2 = wg::descriptor(w2 + 2 * kTileBytes) + half * 4;  // 32 columns = 64 bytes in
#pragma unroll
    for (int kk = 0; kk < kChunk / 16; ++kk) {  // 16 rows of W2 = 2048 bytes a step
      const int add = k > 0 || kk > 0;
      wg::mma_ss_bt<64>(a, da + 2 * kk, d0 + 128 * kk, add);
      wg::mma_ss_bt<64>(b, da + 2 * kk, d1 + 128 * kk, add);
      wg::mma_ss_bt<32>(c, da + 2 * kk, d2 + 128 * kk, add);
    }
    wg::commit();
  }
};

template <class T> struct Out {
  // Y = v + B2 + X at tile token m (skipped outside the image), channels col + 8n + 2t + e for the
  // n8 column blocks of an accumulator of N / 4 of them: element 4n + 2hh + e. A row's residual
  // and bias loads all go out before its stores (the compiler may not move them past a store to
  // Y): the epilogue held a fifth of the stall samples, its adds waiting on X one load at a time
  // (c232).
  template <int N>
  static __device__ __forceinline__ void store(const DwConvMatMulParams& p, const Tile& t, const float (&v)[N], int col,
                                               int row0) {
    const int lane = threadIdx.x & 31, gq = lane >> 2, tq = lane & 3;
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
      const int m = row0 + gq + 8 * hh, oy = t.y0 + m / kTileW, ox = t.x0 + m % kTileW;
      if (oy >= p.height || ox >= p.width) continue;
      const int64_t at = ((int64_t(t.b) * p.height + oy) * p.width + ox) * kC;
      const T* x = static_cast<const T*>(p.x) + at + col + 2 * tq;
      const T* b2 = static_cast<const T*>(p.b2) + col + 2 * tq;
      float2 r[N / 4], bias[N / 4];
#pragma unroll
      for (int n = 0; n < N / 4; ++n) r[n] = Io<T>::load2(x + n * 8), bias[n] = Io<T>::load2(b2 + n * 8);
      T* y = static_cast<T*>(p.y) + at + col + 2 * tq;
#pragma unroll
      for (int n = 0; n < N / 4; ++n)
        Io<T>::store2(y + n * 8, v[4 * n + 2 * hh] + bias[n].x + r[n].x, v[4 * n + 2 * hh + 1] + bias[n].y + r[n].y);
    }
  }
};

template <class T> __global__ void __launch_bounds__(kThreads, 1) dwconv_matmul_wgmma(DwConvMatMulParams p) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  const uint32_t raw = static_cast<uint32_t>(__cvta_generic_to_shared(smem_raw));
  const uint32_t base = (raw + wg::kAtomBytes - 1) & ~(wg::kAtomBytes - 1);
  unsigned char* sm = smem_raw + (base - raw);
  const auto h = [&](int k) { return reinterpret_cast<__half*>(sm + Layout::h + (k & 1) * Layout::h_buf); };
  const auto vecs = [&](int k) { return reinterpret_cast<__half*>(sm + Layout::vecs + (k & 1) * Layout::vec_buf); };
  int* tok = reinterpret_cast<int*>(sm + Layout::tok);
  const int group = threadIdx.x >> 7;
  const Tile t = block_tile();
  const int chunks = p.hidden / kChunk;
  const auto act = EpilogueActivation(p.activation);

  halo_tokens<kThreads>(p, t, tok);
  __syncthreads();
  Copies::h(p, tok, 0, h(0), vecs(0));
  cp_async_commit();
  Acc acc;
  cp_async_wait<0>();
  __syncthreads();

  for (int k = 0; k < chunks; ++k) {
    // H(k) is in; every warpgroup is done with fc2(k - 2) (W2 and G of parity k are free) and
    // the conv of k - 1 (H and the vectors of parity k + 1 are free).
    Copies::w2(p, k, sm + Layout::w2 + (k & 1) * Layout::w2_buf);
    if (k + 1 < chunks) Copies::h(p, tok, k + 1, h(k + 1), vecs(k + 1));
    cp_async_commit();
    unsigned char* g = sm + Layout::g + (k & 1) * Layout::g_buf;
    dwconv_chunk_warps<kGroups * 4>(act, vecs(k), h(k), [&](int tk, int c, uint32_t v) {
      *reinterpret_cast<uint32_t*>(g + wg::swizzled(tk, c)) = v;
    });
    wg::wait<0>();  // fc2(k - 1)
    acc.pin();
    cp_async_wait<0>();
    cuda::tma::fence_proxy_async();  // G(k) and W2(k), read next by wgmma
    __syncthreads();
    wg::fence();
    acc.issue(base, k, group);
  }
  wg::wait<0>();
  acc.pin();

  const int row0 = (group & 1) * 64 + ((threadIdx.x >> 5) & 3) * 16, half = group >> 1;
  Out<T>::store(p, t, acc.a, 3 * half * 64, row0);
  Out<T>::store(p, t, acc.b, (3 * half + 1) * 64, row0);
  Out<T>::store(p, t, acc.c, 128 + 32 * half, row0);
}

template <class T> void launch(const DwConvMatMulParams& p, CudaStream stream) {
  auto kernel = dwconv_matmul_wgmma<T>;
  CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(Layout::bytes)));
  const dim3 grid(unsigned((p.width + kTileW - 1) / kTileW), unsigned((p.height + kTileH - 1) / kTileH),
                  unsigned(p.batch));
  kernel<<<grid, kThreads, Layout::bytes, stream>>>(p);
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void launch_dwconv_matmul(const DwConvMatMulParams& p, CudaStream stream) {
  KILN_ASSERT(p.channels == kC && p.hidden % kChunk == 0 && p.hidden >= kChunk && p.batch <= 65535 &&
              (p.height + kTileH - 1) / kTileH <= 65535);
  if (p.x_f32) launch<float>(p, stream);
  else launch<__half>(p, stream);
}

}  // namespace kiln::conv
