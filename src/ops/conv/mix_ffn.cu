// MixFFN on tensor cores (mma.sync m16n8k16, fp16 operands, fp32 sums): LayerNorm, fc1, the 3x3
// depthwise conv and its activation, fc2 and the residual add for one tile of tokens, with the
// hidden tokens (4x the stream's width) kept in shared memory. On Hopper, C = 64 and 128 run on
// the warpgroup-MMA kernel instead (mix_ffn_wgmma.cu; launch_mix_ffn picks); this one serves
// C = 32 there and every width elsewhere.
//
// A block takes 8 x 16 output tokens of one image and the 10 x 18 halo the conv reads:
//   1. LayerNorm of the 180 halo tokens into A [192][C] (fp16; zeros outside the image and in
//      the 12 rows that pad 180 to twelve m16 tiles), C / 4 lanes a row.
//   2. Per chunk of 64 hidden channels:
//      fc1   H [192][64] = A · W1[:, chunk] + B1 (fp16; zero outside the image: the conv's pads)
//      conv  G [128][64] = act(dwconv3x3(H) + Bd) (fp16), on the tensor cores: one mma
//            m16n8k8 a tap with the tap's weights as a diagonal B (mix_ffn_tile.cuh)
//      fc2   acc [128][C] += G · W2[chunk, :] in registers
//      fc2 of chunk k runs beside fc1 of chunk k + 1 between the same two barriers; the next
//      chunk's W1 and W2 columns arrive by cp.async during the conv (two buffers).
//   3. Y = acc + B2 + X for the 128 tokens.
// Rows of every shared tile are padded by 8 halves, so the 8 rows one ldmatrix reads fall in
// distinct banks.
//
// Floor, SegFormer-B2 stage 0 at batch 8 (X, Y [8, 65536, 64] fp32, Hd 256): X read once
// (134 MB; the halo's second reads come from L2) and Y written (134 MB): 89 µs at 3.0 TB/s.
// The four unfused nodes move 1.2 GB. GEMMs 2·524288·64·256·(1.5 + 1) = 43 GFLOP with fc1
// recomputed on the halo rows (192 / 128): 57 µs at the measured 754 TFLOP/s.
#include <cuda_fp16.h>

#include <atomic>
#include <cstdint>

#include "kiln/status.h"
#include "ops/attention/mma_f16.cuh"
#include "ops/conv/mix_ffn_launch.h"
#include "ops/conv/mix_ffn_tile.cuh"
#include "runtime/cuda/gpu_arch.h"

namespace kiln::conv {
namespace {

using attention::cp_async16;
using attention::cp_async_commit;
using attention::cp_async_wait;
using attention::ldmatrix_x4;
using attention::ldmatrix_x4_trans;
using attention::mma16816;
using attention::pack_half2;
using namespace mix;

constexpr int kPad = 8;

// Shared memory carve-up in halves.
template <int C> struct Smem {
  static constexpr int a_ld = C + kPad, w1_ld = kChunk + kPad, w2_ld = C + kPad, h_ld = kHLd;
  static constexpr int a = 0;                            // [kHaloRows][a_ld]
  static constexpr int w1 = a + kHaloRows * a_ld;        // 2 x [C][w1_ld]
  static constexpr int w2 = w1 + 2 * C * w1_ld;          // 2 x [kChunk][w2_ld]
  static constexpr int h = w2 + 2 * kChunk * w2_ld;      // [kHaloRows][h_ld]
  static constexpr int g = h + kHaloRows * h_ld;         // [kTokens][h_ld]
  static constexpr int vecs = g + kTokens * h_ld;        // 2 x kVecs
  static constexpr int tok = vecs + 2 * kVecs;  // int32 [kHaloRows]: halo rows' tokens
  static constexpr int bytes = (tok + 2 * kHaloRows) * 2;
};

// A chunk's W1 columns [C][64], W2 rows [64][C], conv taps and the two biases, 16 bytes a copy.
template <int C>
__device__ __forceinline__ void fetch_weights(const MixFfnParams& p, int chunk, __half* w1, __half* w2,
                                              __half* vecs) {
  constexpr int kThreads = kWarps<C> * 32;
  fetch_vecs(p, chunk, vecs);
  const __half* g1 = static_cast<const __half*>(p.w1) + chunk * kChunk;
  const __half* g2 = static_cast<const __half*>(p.w2) + int64_t(chunk) * kChunk * C;
  for (int i = threadIdx.x; i < C * (kChunk / 8); i += kThreads) {
    const int row = i / (kChunk / 8), col = i % (kChunk / 8) * 8;
    cp_async16(w1 + row * Smem<C>::w1_ld + col, g1 + int64_t(row) * p.hidden + col, 16);
  }
  for (int i = threadIdx.x; i < kChunk * (C / 8); i += kThreads) {
    const int row = i / (C / 8), col = i % (C / 8) * 8;
    cp_async16(w2 + row * Smem<C>::w2_ld + col, g2 + row * C + col, 16);
  }
}

// The A fragment of the m16 x k16 tile at (row, k0) of a row-major tile `ld` halves wide.
__device__ __forceinline__ void load_a(uint32_t (&f)[4], const __half* tile, int ld, int row, int k0) {
  const int lane = threadIdx.x % 32;
  ldmatrix_x4(f, tile + (row + (lane & 15)) * ld + k0 + (lane >> 4) * 8);
}

// The B fragments of the two n8 tiles at (k0, n) and (k0, n + 8) of a row-major [K][N] tile:
// r[0], r[1] for the first, r[2], r[3] for the second.
__device__ __forceinline__ void load_b_pair(uint32_t (&r)[4], const __half* tile, int ld, int k0, int n) {
  const int lane = threadIdx.x % 32;
  ldmatrix_x4_trans(r, tile + (k0 + ((lane >> 3) & 1) * 8 + (lane & 7)) * ld + n + (lane >> 4) * 8);
}

// A warp's share of a GEMM on shared tiles: acc[mt][nt] += A[m0 + 16 mt + .., 0..K) · B[0..K, n0 + 8 nt + ..)
// with A row-major (lda halves a row) and B row-major [K][N] (ldb).
template <int kMt, int kNt, int K>
__device__ __forceinline__ void warp_mma(float (&acc)[kMt][kNt][4], const __half* a, int lda, int m0, const __half* b,
                                         int ldb, int n0) {
  static_assert(kNt % 2 == 0 && K % 16 == 0);
#pragma unroll
  for (int k0 = 0; k0 < K; k0 += 16) {
    uint32_t af[kMt][4];
#pragma unroll
    for (int mt = 0; mt < kMt; ++mt) load_a(af[mt], a, lda, m0 + mt * 16, k0);
#pragma unroll
    for (int np = 0; np < kNt / 2; ++np) {
      uint32_t r[4];
      load_b_pair(r, b, ldb, k0, n0 + np * 16);
#pragma unroll
      for (int mt = 0; mt < kMt; ++mt) {
        mma16816(acc[mt][2 * np], af[mt], r[0], r[1]);
        mma16816(acc[mt][2 * np + 1], af[mt], r[2], r[3]);
      }
    }
  }
}

// fc1 for one chunk: H = A · W1c + B1c, zero on rows outside the image. Warps 4 (rows, 48 each:
// three m16 tiles) x NW / 4 (columns: 32 or 16 each).
template <int C>
__device__ void fc1_chunk(const int* tok, const __half* a, const __half* w1, const __half* b1, __half* h) {
  constexpr int kCols = kChunk / (kWarps<C> / 4), kNt = kCols / 8;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, q = lane % 4;
  const int m0 = (warp & 3) * 48, n0 = (warp >> 2) * kCols;
  float acc[3][kNt][4] = {};
  warp_mma<3, kNt, C>(acc, a, Smem<C>::a_ld, m0, w1, Smem<C>::w1_ld, n0);
  bool inside[3][2];
#pragma unroll
  for (int mt = 0; mt < 3; ++mt)
#pragma unroll
    for (int half = 0; half < 2; ++half) inside[mt][half] = tok[m0 + mt * 16 + g + half * 8] >= 0;
#pragma unroll
  for (int nt = 0; nt < kNt; ++nt) {
    const int col = n0 + nt * 8 + 2 * q;
    const float2 bias = __half22float2(*reinterpret_cast<const __half2*>(b1 + col));
#pragma unroll
    for (int mt = 0; mt < 3; ++mt)
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int row = m0 + mt * 16 + g + half * 8;
        const float* c = acc[mt][nt] + 2 * half;
        *reinterpret_cast<uint32_t*>(h + row * Smem<C>::h_ld + col) =
            inside[mt][half] ? pack_half2(c[0] + bias.x, c[1] + bias.y) : 0u;
      }
  }
}

// fc2 sums per thread: warps 4 (rows, 32 each: two m16 tiles) x NW / 4 (columns, C / (NW / 4)).
template <int C> constexpr int kFc2Cols = C / (kWarps<C> / 4);
template <int C> using Fc2Acc = float[2][kFc2Cols<C> / 8][4];

// fc2 for one chunk: acc += G · W2c.
template <int C>
__device__ __forceinline__ void fc2_chunk(const __half* gin, const __half* w2, Fc2Acc<C>& acc) {
  const int warp = threadIdx.x / 32;
  warp_mma<2, kFc2Cols<C> / 8, kChunk>(acc, gin, Smem<C>::h_ld, (warp & 3) * 32, w2, Smem<C>::w2_ld,
                                       (warp >> 2) * kFc2Cols<C>);
}

// Two barriers a chunk: the conv of chunk k alone, then fc2 of chunk k beside fc1 of chunk k + 1
// (they touch different buffers), so the tensor cores get both GEMMs' work in one stretch.
template <int C, class T>
__global__ void __launch_bounds__(kWarps<C> * 32, C <= 64 ? 2 : 1) mix_ffn(MixFfnParams p) {
  extern __shared__ __align__(16) __half smem[];
  using L = Smem<C>;
  auto w1_buf = [&](int k) { return smem + L::w1 + (k & 1) * C * L::w1_ld; };
  auto w2_buf = [&](int k) { return smem + L::w2 + (k & 1) * kChunk * L::w2_ld; };
  auto vec_buf = [&](int k) { return smem + L::vecs + (k & 1) * kVecs; };
  const Tile t = block_tile();
  const int chunks = p.hidden / kChunk;
  fetch_weights<C>(p, 0, w1_buf(0), w2_buf(0), vec_buf(0));
  cp_async_commit();
  int* tok = reinterpret_cast<int*>(smem + L::tok);
  halo_tokens<kWarps<C> * 32>(p, t, tok);
  __syncthreads();
  __half* a = smem + L::a;
  layer_norm_halo<C, T, 3>(p, tok, [&](int row, int c0, uint2 v) { *reinterpret_cast<uint2*>(a + row * L::a_ld + c0) = v; });
  cp_async_wait<0>();
  __syncthreads();
  fc1_chunk<C>(tok, smem + L::a, w1_buf(0), vec_buf(0) + kB1, smem + L::h);
  Fc2Acc<C> acc = {};
  for (int k = 0; k < chunks; ++k) {
    __syncthreads();  // H of chunk k is in; the buffers of chunk k - 1 are free
    if (k + 1 < chunks) {
      fetch_weights<C>(p, k + 1, w1_buf(k + 1), w2_buf(k + 1), vec_buf(k + 1));
      cp_async_commit();
    }
    dwconv_chunk<C>(p, vec_buf(k), smem + L::h, [&](int tk, int c, uint32_t v) {
      *reinterpret_cast<uint32_t*>(smem + L::g + tk * L::h_ld + c) = v;
    });
    cp_async_wait<0>();
    __syncthreads();  // G of chunk k and the weights of chunk k + 1 are in; H is free
    fc2_chunk<C>(smem + L::g, w2_buf(k), acc);
    if (k + 1 < chunks) fc1_chunk<C>(tok, smem + L::a, w1_buf(k + 1), vec_buf(k + 1) + kB1, smem + L::h);
  }
  // Y = acc + B2 + X on the tile's tokens inside the image.
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, q = lane % 4;
  const int m0 = (warp & 3) * 32, n0 = (warp >> 2) * kFc2Cols<C>;
  const Residual<T> residual{p, t};
#pragma unroll
  for (int mt = 0; mt < 2; ++mt)
#pragma unroll
    for (int half = 0; half < 2; ++half)
#pragma unroll
      for (int nt = 0; nt < kFc2Cols<C> / 8; ++nt)
        residual(m0 + mt * 16 + g + half * 8, n0 + nt * 8 + 2 * q, acc[mt][nt][2 * half], acc[mt][nt][2 * half + 1]);
}

template <int C, class T> void launch(const MixFfnParams& p, CudaStream stream) {
  auto kernel = mix_ffn<C, T>;
  CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, Smem<C>::bytes));
  const dim3 grid(unsigned((p.width + kTileW - 1) / kTileW), unsigned((p.height + kTileH - 1) / kTileH),
                  unsigned(p.batch));
  kernel<<<grid, kWarps<C> * 32, Smem<C>::bytes, stream>>>(p);
  CUDA_CHECK(cudaGetLastError());
}

template <class T> void launch_typed(const MixFfnParams& p, CudaStream stream) {
  switch (p.channels) {
    case 32: return launch<32, T>(p, stream);
    case 64: return launch<64, T>(p, stream);
    case 128: return launch<128, T>(p, stream);
  }
  KILN_ASSERT(false);
}

}  // namespace

namespace {
std::atomic<bool> wgmma_allowed{true};
}  // namespace

bool mix_ffn_uses_wgmma(const MixFfnParams& p) {
  return (p.channels == 64 || p.channels == 128) && wgmma_allowed.load() && cuda_hopper();
}

void set_mix_ffn_wgmma_allowed(bool allowed) { wgmma_allowed.store(allowed); }

void launch_mix_ffn(const MixFfnParams& p, const MixFfnNorm& norm, CudaStream stream) {
  if (mix_ffn_uses_wgmma(p)) return launch_mix_ffn_wgmma(p, norm, stream);
  KILN_ASSERT(!norm.scale);  // the host refuses the output LayerNorm here
  KILN_ASSERT(p.hidden % kChunk == 0 && p.batch <= 65535 && (p.height + kTileH - 1) / kTileH <= 65535);
  if (p.x_f32) launch_typed<float>(p, stream);
  else launch_typed<__half>(p, stream);
}

}  // namespace kiln::conv
