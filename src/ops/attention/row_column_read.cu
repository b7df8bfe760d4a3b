// kiln.RowColumnRead, fp16 on tensor cores: out[l, d] = Σ_y a_col[l, y] Σ_x a_row[l, x] V[y, x, d]
// as one GEMM over K = (y, x) whose A operand, the outer product a_col[l, y]·a_row[l, x], is
// built in registers and never stored: each thread keeps the mma A fragments of a_row for its
// rows (all x of the chunk) across the whole y loop and, per y, scales them by a_col[l, y] (one
// __hmul2 per register — the exact product rounded once to fp16) before the mma.sync m16n8k16
// steps against V row y. Accumulation in fp32 registers; output rounded once.
//
// Layout: a block is 4 warps of kMT m-tiles (16 rows each) of one batch item (grid x: row tiles,
// y: batch items). x runs in chunks of up to 128 columns (8 k-steps of 16; W padded to the mma
// K with zeros — zero a_row fragments and zero-filled V rows); AnchorDETR's W fits one chunk. V
// rows y stream through shared memory kYT at a time, double-buffered by cp.async (16-byte
// chunks along D, zero-filled past W and D), rows padded by 8 halves so ldmatrix.trans is
// conflict-free; a_col for the block's rows sits in shared memory 32 y at a time.
// head_dim is padded to kD ∈ {16, 32, 64} (padded output columns are not stored).
//
// Floor, AnchorDETR's encoder at 800×1216 (L = H·W = 50·76 = 3800, D 32, 8 heads) on an H200:
//   FLOPs  2·L·H·W·D = 0.92 GFLOP per (batch item, head), 7.4 GFLOP per layer (7.8 with W
//          padded to 80) → ~8 µs at 990 TFLOP/s; mma.sync reaches perhaps 60% of that: ~13 µs
//   bytes  a_col 3.0 MB + a_row 4.6 MB + V 1.9 MB + out 1.9 MB ≈ 11.5 MB → 2.4 µs at 4.8 TB/s
// compute-bound. Unfused, per_col (L·W·D fp16 per head = 148 MB per layer) is written by the first
// MatMul and read back by the second: ≥ 62 µs of traffic alone (182 µs measured).
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "ops/attention/mma_f16.cuh"
#include "ops/attention/row_column_read_launch.h"
#include "runtime/cuda/cuda_check.h"

namespace kiln::attention {
namespace {

constexpr int kWarps = 4;
constexpr int kKS = 8;           // k-steps of 16 columns per x chunk
constexpr int kXC = 16 * kKS;    // columns x per chunk
constexpr int kYC = 32;          // a_col columns y staged at a time
constexpr int kPad = 8;          // halves of padding per shared-memory row
constexpr int kAcStride = kYC + 2;  // a_col rows: 17 words apart, so the 8 rows a warp reads hit 8 banks

template <int kD> __host__ __device__ constexpr int stride_of() { return kD + kPad; }
template <int kD> __host__ __device__ constexpr int y_per_stage() { return kD == 64 ? 2 : 4; }
template <int kMT> __host__ __device__ constexpr int rows_per_block() { return 16 * kMT * kWarps; }

// Padded k-steps of the first x chunk (the largest): how many V rows a stage holds per y.
__host__ __device__ inline int chunk_ksteps(int width) {
  const int k = (width + 15) / 16;
  return k < kKS ? k : kKS;
}

template <int kD, int kMT> size_t smem_bytes(int width) {
  const size_t v = size_t(2) * y_per_stage<kD>() * chunk_ksteps(width) * 16 * stride_of<kD>();
  return (v + size_t(rows_per_block<kMT>()) * kAcStride) * sizeof(__half);
}

__device__ __forceinline__ __half2 ld_pair(const __half* row, int c, int width) {
  const __half z = __float2half(0.f);
  return __halves2half2(c < width ? row[c] : z, c + 1 < width ? row[c + 1] : z);
}

template <int kD, int kMT>
__global__ void __launch_bounds__(kWarps * 32) row_column_read_f16(RowColumnParams p) {
  constexpr int kStride = stride_of<kD>();
  constexpr int kYT = y_per_stage<kD>();
  constexpr int kBM = rows_per_block<kMT>();
  extern __shared__ __align__(16) unsigned char smem_raw[];
  const int xrows = chunk_ksteps(p.width) * 16;  // V rows per y in a stage
  __half* vs = reinterpret_cast<__half*>(smem_raw);            // [2][kYT][xrows][kStride]
  __half* ac = vs + 2 * kYT * xrows * kStride;                  // [kBM][kAcStride]
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const int l0 = blockIdx.x * kBM;
  const int L = p.rows, H = p.height, W = p.width, D = p.head_dim;
  const int64_t wd = int64_t(W) * D;

  for (int64_t n = blockIdx.y; n < p.batch; n += gridDim.y) {
    const __half* acg = static_cast<const __half*>(p.a_col) + n * L * H;
    const __half* arg = static_cast<const __half*>(p.a_row) + n * L * W;
    const __half* vg = static_cast<const __half*>(p.v) + n * H * wd;
    __half* og = static_cast<__half*>(p.out) + n * L * D;

    float acc[kMT][kD / 8][4];
#pragma unroll
    for (int m = 0; m < kMT; ++m)
#pragma unroll
      for (int j = 0; j < kD / 8; ++j) acc[m][j][0] = acc[m][j][1] = acc[m][j][2] = acc[m][j][3] = 0.f;

    for (int x0 = 0; x0 < W; x0 += kXC) {
      const int kw = chunk_ksteps(W - x0);
      // a_row's A fragments for this chunk: (row g | g+8) × (cols 2t, 2t+1 | 2t+8, 2t+9) per k-step.
      __half2 ar[kMT][kKS][4];
#pragma unroll
      for (int m = 0; m < kMT; ++m) {
        const int r = l0 + (warp * kMT + m) * 16 + g;
        const __half* r0 = arg + int64_t(r) * W + x0;
        const __half* r1 = r0 + 8 * int64_t(W);
        const int w0 = r < L ? W - x0 : 0, w1 = r + 8 < L ? W - x0 : 0;  // columns in range per row
#pragma unroll
        for (int kk = 0; kk < kKS; ++kk) {
          const int c = kk * 16 + 2 * t;
          ar[m][kk][0] = ld_pair(r0, c, w0);
          ar[m][kk][1] = ld_pair(r1, c, w1);
          ar[m][kk][2] = ld_pair(r0, c + 8, w0);
          ar[m][kk][3] = ld_pair(r1, c + 8, w1);
        }
      }

      for (int y0 = 0; y0 < H; y0 += kYC) {
        const int yc = H - y0 < kYC ? H - y0 : kYC;
        __syncthreads();  // every warp is done with the previous a_col tile and V stages
        for (int i = threadIdx.x; i < kBM * kYC; i += blockDim.x) {
          const int r = i / kYC, j = i % kYC;
          ac[r * kAcStride + j] = l0 + r < L && j < yc ? acg[int64_t(l0 + r) * H + y0 + j] : __float2half(0.f);
        }
        // V rows y0 + s·kYT + j, columns [x0, x0 + kw·16) × [0, kD) into stage buffer s % 2.
        const auto load_stage = [&](int s) {
          __half* dst = vs + (s & 1) * kYT * xrows * kStride;
          constexpr int kChunks = kD / 8;
          const int per_y = kw * 16 * kChunks;
          for (int i = threadIdx.x; i < kYT * per_y; i += blockDim.x) {
            const int j = i / per_y, rem = i % per_y, xr = rem / kChunks, c = (rem % kChunks) * 8;
            const int y = y0 + s * kYT + j, x = x0 + xr;
            const bool in = y < y0 + yc && x < W && c < D;
            cp_async16(dst + (j * xrows + xr) * kStride + c, in ? vg + int64_t(y) * wd + int64_t(x) * D + c : vg,
                       in ? 16 : 0);
          }
        };
        const int stages = (yc + kYT - 1) / kYT;
        load_stage(0);
        cp_async_commit();
        for (int s = 0; s < stages; ++s) {
          if (s + 1 < stages) load_stage(s + 1);
          cp_async_commit();   // possibly empty: keeps the group count uniform
          cp_async_wait<1>();  // stage s has landed
          __syncthreads();     // ... for every thread; the a_col tile too
          const __half* stage = vs + (s & 1) * kYT * xrows * kStride;
          const int mi = lane >> 3, mr = lane & 7;
#pragma unroll
          for (int j = 0; j < kYT; ++j) {
            const int yy = s * kYT + j;  // column of the a_col tile
            if (yy >= yc) break;
            __half2 c0[kMT], c1[kMT];
#pragma unroll
            for (int m = 0; m < kMT; ++m) {
              const __half* acr = ac + ((warp * kMT + m) * 16 + g) * kAcStride + yy;
              c0[m] = __half2half2(acr[0]);
              c1[m] = __half2half2(acr[8 * kAcStride]);
            }
            const __half* vrow = stage + (j * xrows + (mi & 1) * 8 + mr) * kStride + (mi >> 1) * 8;
#pragma unroll
            for (int kk = 0; kk < kKS; ++kk) {
              if (kk >= kw) break;
              uint32_t a[kMT][4];
#pragma unroll
              for (int m = 0; m < kMT; ++m) {
                const __half2 p0 = __hmul2(ar[m][kk][0], c0[m]), p1 = __hmul2(ar[m][kk][1], c1[m]);
                const __half2 p2 = __hmul2(ar[m][kk][2], c0[m]), p3 = __hmul2(ar[m][kk][3], c1[m]);
                a[m][0] = *reinterpret_cast<const uint32_t*>(&p0);
                a[m][1] = *reinterpret_cast<const uint32_t*>(&p1);
                a[m][2] = *reinterpret_cast<const uint32_t*>(&p2);
                a[m][3] = *reinterpret_cast<const uint32_t*>(&p3);
              }
#pragma unroll
              for (int nn = 0; nn < kD / 8; nn += 2) {
                uint32_t bv[4];
                ldmatrix_x4_trans(bv, vrow + kk * 16 * kStride + nn * 8);
#pragma unroll
                for (int m = 0; m < kMT; ++m) {
                  mma16816(acc[m][nn], a[m], bv[0], bv[1]);
                  mma16816(acc[m][nn + 1], a[m], bv[2], bv[3]);
                }
              }
            }
          }
          __syncthreads();  // every warp is done with stage s before it is refilled
        }
      }
    }

    // C fragments: (row g | g+8, cols 2t, 2t+1) per 8-column tile; D % 8 == 0, so both or neither.
#pragma unroll
    for (int m = 0; m < kMT; ++m)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int row = l0 + (warp * kMT + m) * 16 + g + 8 * h;
        if (row >= L) continue;
        __half* orow = og + int64_t(row) * D;
#pragma unroll
        for (int j = 0; j < kD / 8; ++j) {
          const int c = j * 8 + 2 * t;
          if (c < D) *reinterpret_cast<__half2*>(orow + c) = __floats2half2_rn(acc[m][j][2 * h], acc[m][j][2 * h + 1]);
        }
      }
  }
}

template <int kD, int kMT> void launch(const RowColumnParams& p, cudaStream_t stream) {
  const size_t bytes = smem_bytes<kD, kMT>(p.width);
  auto kernel = row_column_read_f16<kD, kMT>;
  if (bytes > 48 * 1024)
    CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)));
  constexpr int kBM = rows_per_block<kMT>();
  const dim3 grid(unsigned((int64_t(p.rows) + kBM - 1) / kBM), unsigned(p.batch < 65535 ? p.batch : 65535));
  kernel<<<grid, kWarps * 32, bytes, stream>>>(p);
  CUDA_CHECK_LAUNCH();
}

int multiprocessors() {
  static const int count = [] {
    int device = 0, n = 0;
    CUDA_CHECK(cudaGetDevice(&device));
    CUDA_CHECK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, device));
    return n;
  }();
  return count;
}

}  // namespace

bool row_column_read_f16_fits(const RowColumnParams& p) {
  const auto aligned = [](const void* ptr) { return (reinterpret_cast<uintptr_t>(ptr) & 15) == 0; };
  // V rows of D halves start 16-byte aligned; output pairs 4-byte aligned.
  return p.head_dim % 8 == 0 && p.head_dim <= 64 && aligned(p.v) && aligned(p.out);
}

void launch_row_column_read_f16(const RowColumnParams& p, cudaStream_t stream) {
  // Two m-tiles per warp share every V fragment (half the shared-memory reads per mma) once
  // their 128-row blocks still fill the GPU; D = 64 keeps one (its registers).
  const int64_t wide_blocks = (int64_t(p.rows) + rows_per_block<2>() - 1) / rows_per_block<2>() * p.batch;
  const bool two = wide_blocks >= multiprocessors();
  if (p.head_dim <= 16) two ? launch<16, 2>(p, stream) : launch<16, 1>(p, stream);
  else if (p.head_dim <= 32) two ? launch<32, 2>(p, stream) : launch<32, 1>(p, stream);
  else launch<64, 1>(p, stream);
}

}  // namespace kiln::attention
