// kiln.RowColumnRead, fp16 on tensor cores: out[l, d] = Σ_y a_col[l, y] Σ_x a_row[l, x] V[y, x, d]
// as one GEMM over K = (y, x) whose A operand, the outer product a_col[l, y]·a_row[l, x], is
// built in registers and never stored: each thread keeps the mma A fragments of a_row for its
// rows (all x of the chunk) across the whole y loop and, per y, scales them by a_col[l, y] (one
// __hmul2 per register — the exact product rounded once to fp16) before the mma.sync m16n8k16
// steps against V row y. Accumulation in fp32 registers; output rounded once.
//
// Layout: a block covers 16·kRW rows of one batch item (grid x: row tiles, y: batch items) with
// kRW warps side by side, one 16-row m-tile each, and kSplit such warp groups that split the V
// rows y of every stage between them (their fp32 sums meet in shared memory at the end: more
// warps for the same rows where L is small). x runs in chunks of up to 128 columns (8 k-steps of
// 16; W padded to the mma K with zeros — zero a_row fragments and zero-filled V rows);
// AnchorDETR's W fits one chunk. V rows y stream through shared memory kYT at a time, kStages
// stages deep by cp.async (16-byte chunks along D, zero-filled past W, D and H), rows padded by
// 8 halves so ldmatrix.trans is conflict-free; each k-step's ldmatrix is issued a step ahead.
// a_col for the block's rows sits in shared memory 64 y at a time. head_dim is padded to
// kD ∈ {16, 32, 64} (padded output columns are not stored).
//
// Floor, AnchorDETR's encoder at 800×1216 (L = H·W = 50·76 = 3800, D 32, 8 heads) on an H200:
//   FLOPs  2·L·H·W·D = 0.92 GFLOP per (batch item, head), 7.4 GFLOP per layer (7.8 with W
//          padded to 80) → ~8 µs at 990 TFLOP/s; mma.sync reaches perhaps 60% of that: ~13 µs
//   bytes  a_col 3.0 MB + a_row 4.6 MB + V 1.9 MB + out 1.9 MB ≈ 11.5 MB → 2.4 µs at 4.8 TB/s;
//          V is read once per 128-row tile: 58 MB from L2
//   smem   one ldmatrix.x4 (512 bytes) per two mma: ~16 µs at 128 B/clk/SM
// Unfused, per_col (L·W·D fp16 per head = 148 MB per layer) is written by the first MatMul and
// read back by the second: ≥ 62 µs of traffic alone (182 µs measured). Measured fused on an
// H200: 41 µs (encoder), 19.5 µs (decoder, L 900, against 51 µs unfused); ncu put the tensor
// pipe near 25% busy, the warps mostly waiting on fixed-latency dependencies (HMUL2 → HMMA,
// accumulator chains) — more independent accumulators per warp are the next step.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "ops/attention/mma_f16.cuh"
#include "ops/attention/row_column_read_launch.h"
#include "runtime/cuda/gpu_arch.h"
#include "runtime/cuda/cuda_check.h"

namespace kiln::attention {
namespace {

constexpr int kKS = 8;           // k-steps of 16 columns per x chunk
constexpr int kXC = 16 * kKS;    // columns x per chunk
constexpr int kYC = 64;          // a_col columns y staged at a time
constexpr int kStages = 3;       // V stages in shared memory: two in flight while one is read
constexpr int kPad = 8;          // halves of padding per shared-memory row
constexpr int kAcStride = kYC + 2;  // a_col rows: 33 words apart, so the 8 rows a warp reads hit 8 banks

template <int kD> __host__ __device__ constexpr int stride_of() { return kD + kPad; }
template <int kD> __host__ __device__ constexpr int y_per_stage() { return kD == 64 ? 2 : 4; }
template <int kRW> __host__ __device__ constexpr int rows_per_block() { return 16 * kRW; }
template <int kRW, int kSplit> __host__ __device__ constexpr int threads_of() { return 32 * kRW * kSplit; }

// Resident blocks per multiprocessor the registers must allow: 16 warps (128 registers a
// thread), 12 for D 64 (168: its accumulators spill at 128).
template <int kD, int kRW, int kSplit> __host__ __device__ constexpr int min_blocks() {
  return (kD == 64 ? 12 : 16) / (kRW * kSplit) > 0 ? (kD == 64 ? 12 : 16) / (kRW * kSplit) : 1;
}

// Padded k-steps of the first x chunk (the largest): how many V rows a stage holds per y.
__host__ __device__ inline int chunk_ksteps(int width) {
  const int k = (width + 15) / 16;
  return k < kKS ? k : kKS;
}

// The V stages, or (when larger) the partial sums of the kSplit - 1 warp groups reduced at the
// end; then the a_col tile.
template <int kD, int kRW, int kSplit> __host__ __device__ size_t stage_bytes(int width) {
  const size_t v = size_t(kStages) * y_per_stage<kD>() * chunk_ksteps(width) * 16 * stride_of<kD>() * 2;
  const size_t partial = size_t(kSplit - 1) * threads_of<kRW, 1>() * (kD / 2) * 4;  // kD/8·4 floats a thread
  return v > partial ? v : partial;
}
template <int kD, int kRW, int kSplit> size_t smem_bytes(int width) {
  return stage_bytes<kD, kRW, kSplit>(width) + size_t(rows_per_block<kRW>()) * kAcStride * sizeof(__half);
}

// a_row[c], a_row[c + 1] as one half2 register, zeros past width; one 32-bit load where the
// pair is 4-byte aligned (`pairs`: W even and an aligned base).
__device__ __forceinline__ uint32_t ld_pair(const __half* row, int c, int width, bool pairs) {
  if (pairs && c + 1 < width) return __ldg(reinterpret_cast<const unsigned int*>(row + c));
  const __half z = __float2half(0.f);
  const __half2 h = __halves2half2(c < width ? row[c] : z, c + 1 < width ? row[c + 1] : z);
  return *reinterpret_cast<const uint32_t*>(&h);
}

__device__ __forceinline__ uint32_t hmul2(uint32_t a, __half2 b) {
  const __half2 p = __hmul2(*reinterpret_cast<const __half2*>(&a), b);
  return *reinterpret_cast<const uint32_t*>(&p);
}

// Warp w owns m-tile w % kRW of the block's rows for the V rows j of each stage with
// j % kSplit == w / kRW.
template <int kD, int kRW, int kSplit>
__global__ void __launch_bounds__(threads_of<kRW, kSplit>(), min_blocks<kD, kRW, kSplit>())
    row_column_read_f16(RowColumnParams p) {
  constexpr int kStride = stride_of<kD>();
  constexpr int kYT = y_per_stage<kD>();
  constexpr int kBM = rows_per_block<kRW>();
  constexpr int kThreads = threads_of<kRW, kSplit>();
  constexpr int kChunks = kD / 8;  // 16-byte chunks per V row
  static_assert(kThreads % kChunks == 0, "a thread copies one column chunk of every V row it copies");
  static_assert(kYT % kSplit == 0, "every warp group takes as many y of a stage");
  extern __shared__ __align__(16) unsigned char smem_raw[];
  const int xrows = chunk_ksteps(p.width) * 16;  // V rows per y in a stage
  __half* vs = reinterpret_cast<__half*>(smem_raw);  // [kStages][kYT][xrows][kStride]
  __half* ac = reinterpret_cast<__half*>(smem_raw + stage_bytes<kD, kRW, kSplit>(p.width));  // [kBM][kAcStride]
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const int rw = warp % kRW, group = warp / kRW;
  const int l0 = blockIdx.x * kBM;
  const int L = p.rows, H = p.height, W = p.width, D = p.head_dim;
  const int copy_c = (threadIdx.x % kChunks) * 8, copy_r = threadIdx.x / kChunks;  // this thread's V chunks

  for (int64_t n = blockIdx.y; n < p.batch; n += gridDim.y) {
    const __half* acg = static_cast<const __half*>(p.a_col) + n * L * H;
    const __half* arg = static_cast<const __half*>(p.a_row) + n * L * W;
    const __half* vg = static_cast<const __half*>(p.v) + n / p.heads * p.v_outer + n % p.heads * p.v_inner;
    __half* og = static_cast<__half*>(p.out) + n / p.heads * p.o_outer + n % p.heads * p.o_inner;

    float acc[kD / 8][4];
#pragma unroll
    for (int j = 0; j < kD / 8; ++j) acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.f;

    for (int x0 = 0; x0 < W; x0 += kXC) {
      const int kw = chunk_ksteps(W - x0);
      // a_row's A fragments for this chunk: (row g | g+8) × (cols 2t, 2t+1 | 2t+8, 2t+9) per k-step.
      uint32_t ar[kKS][4];
      {
        const bool pairs = W % 2 == 0 && (reinterpret_cast<uintptr_t>(p.a_row) & 3) == 0;
        const int r = l0 + rw * 16 + g;
        const __half* r0 = arg + int64_t(r) * W + x0;
        const __half* r1 = r0 + 8 * int64_t(W);
        const int w0 = r < L ? W - x0 : 0, w1 = r + 8 < L ? W - x0 : 0;  // columns in range per row
#pragma unroll
        for (int kk = 0; kk < kKS; ++kk) {
          const int c = kk * 16 + 2 * t;
          ar[kk][0] = ld_pair(r0, c, w0, pairs);
          ar[kk][1] = ld_pair(r1, c, w1, pairs);
          ar[kk][2] = ld_pair(r0, c + 8, w0, pairs);
          ar[kk][3] = ld_pair(r1, c + 8, w1, pairs);
        }
      }

      for (int y0 = 0; y0 < H; y0 += kYC) {
        const int yc = H - y0 < kYC ? H - y0 : kYC;
        __syncthreads();  // every warp is done with the previous a_col tile and V stages
        // V rows y0 + s·kYT + j, columns [x0, x0 + kw·16) × [0, kD) into stage buffer s % kStages;
        // each thread copies column chunk copy_c of every (kThreads / kChunks)-th row.
        const auto load_stage = [&](int s) {
          __half* dst = vs + (s % kStages) * kYT * xrows * kStride + copy_c;
#pragma unroll 1
          for (int j = 0; j < kYT; ++j) {
            const int y = y0 + s * kYT + j;
            const bool y_in = y < y0 + yc && copy_c < D;
            const __half* src = vg + int64_t(y) * p.v_y + int64_t(x0) * p.v_x + copy_c;
            for (int xr = copy_r; xr < kw * 16; xr += kThreads / kChunks) {
              const bool in = y_in && x0 + xr < W;
              cp_async16(dst + (j * xrows + xr) * kStride, in ? src + int64_t(xr) * p.v_x : vg, in ? 16 : 0);
            }
          }
        };
        const int stages = (yc + kYT - 1) / kYT;
#pragma unroll
        for (int s = 0; s + 1 < kStages; ++s) {  // the first kStages - 1 stages in flight ...
          if (s < stages) load_stage(s);
          cp_async_commit();  // possibly empty: keeps the group count uniform
        }
        for (int i = threadIdx.x; i < kBM * kYC; i += kThreads) {  // ... while a_col's tile loads
          const int r = i / kYC, j = i % kYC;
          ac[r * kAcStride + j] = l0 + r < L && j < yc ? acg[int64_t(l0 + r) * H + y0 + j] : __float2half(0.f);
        }
        for (int s = 0; s < stages; ++s) {
          cp_async_wait<kStages - 2>();  // stage s has landed
          __syncthreads();  // ... for every thread (the a_col tile too), and stage s - 1 is done with
          if (s + kStages - 1 < stages) load_stage(s + kStages - 1);  // into stage s - 1's buffer
          cp_async_commit();
          const __half* stage = vs + (s % kStages) * kYT * xrows * kStride;
          const int mi = lane >> 3, mr = lane & 7;
          // Every y of the stage, also those past yc: the a_col tile and the V rows there are
          // zeros, so they add nothing, and the loops keep compile-time trip counts.
#pragma unroll
          for (int i = 0; i < kYT / kSplit; ++i) {
            const int j = kSplit > 1 ? group + i * kSplit : i;
            const int yy = s * kYT + j;  // column of the a_col tile
            const __half* acr = ac + (rw * 16 + g) * kAcStride + yy;
            const __half2 c0 = __half2half2(acr[0]), c1 = __half2half2(acr[8 * kAcStride]);
            const __half* vrow = stage + (j * xrows + (mi & 1) * 8 + mr) * kStride + (mi >> 1) * 8;
            // V fragments of this k-step and the next: the next step's ldmatrix is in flight
            // while this step's mma run.
            uint32_t b[2][kD / 16][4];
#pragma unroll
            for (int q = 0; q < kD / 16; ++q) ldmatrix_x4_trans(b[0][q], vrow + q * 16);
#pragma unroll
            for (int kk = 0; kk < kKS; ++kk) {
              if (kk >= kw) break;
              if (kk + 1 < kw)
#pragma unroll
                for (int q = 0; q < kD / 16; ++q)
                  ldmatrix_x4_trans(b[(kk + 1) & 1][q], vrow + (kk + 1) * 16 * kStride + q * 16);
              const uint32_t a[4] = {hmul2(ar[kk][0], c0), hmul2(ar[kk][1], c1), hmul2(ar[kk][2], c0),
                                     hmul2(ar[kk][3], c1)};
#pragma unroll
              for (int q = 0; q < kD / 16; ++q) {
                mma16816(acc[2 * q], a, b[kk & 1][q][0], b[kk & 1][q][1]);
                mma16816(acc[2 * q + 1], a, b[kk & 1][q][2], b[kk & 1][q][3]);
              }
            }
          }
        }
      }
    }

    if constexpr (kSplit > 1) {  // groups 1.. hand their sums to group 0 (the stages are free now)
      // [group - 1][fragment element][thread of the group]: consecutive lanes, consecutive banks.
      float* part = reinterpret_cast<float*>(smem_raw);
      constexpr int kPer = (kD / 8) * 4, kGroup = threads_of<kRW, 1>();
      const int me = rw * 32 + lane;
      __syncthreads();  // every warp is done with the last V stage
      if (group > 0) {
        float* mine = part + (group - 1) * kPer * kGroup + me;
#pragma unroll
        for (int j = 0; j < kD / 8; ++j)
#pragma unroll
          for (int e = 0; e < 4; ++e) mine[(j * 4 + e) * kGroup] = acc[j][e];
      }
      __syncthreads();
      if (group == 0)
#pragma unroll
        for (int q = 1; q < kSplit; ++q) {
          const float* theirs = part + (q - 1) * kPer * kGroup + me;
#pragma unroll
          for (int j = 0; j < kD / 8; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) acc[j][e] += theirs[(j * 4 + e) * kGroup];
        }
      __syncthreads();  // the next batch item refills the stages
    }

    // C fragments: (row g | g+8, cols 2t, 2t+1) per 8-column tile; D % 8 == 0, so both or neither.
    if (group == 0)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int row = l0 + rw * 16 + g + 8 * h;
        if (row >= L) continue;
        __half* orow = og + int64_t(row) * p.o_row;
#pragma unroll
        for (int j = 0; j < kD / 8; ++j) {
          const int c = j * 8 + 2 * t;
          if (c < D) *reinterpret_cast<__half2*>(orow + c) = __floats2half2_rn(acc[j][2 * h], acc[j][2 * h + 1]);
        }
      }
  }
}

template <int kD, int kRW, int kSplit> void launch(const RowColumnParams& p, cudaStream_t stream) {
  const size_t bytes = smem_bytes<kD, kRW, kSplit>(p.width);
  auto kernel = row_column_read_f16<kD, kRW, kSplit>;
  if (bytes > 48 * 1024)
    CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)));
  constexpr int kBM = rows_per_block<kRW>();
  const dim3 grid(unsigned((int64_t(p.rows) + kBM - 1) / kBM), unsigned(p.batch < 65535 ? p.batch : 65535));
  kernel<<<grid, threads_of<kRW, kSplit>(), bytes, stream>>>(p);
  CUDA_CHECK_LAUNCH();
}

// Blocks of `rows` rows over the batch items.
int64_t blocks_of(const RowColumnParams& p, int rows) { return (int64_t(p.rows) + rows - 1) / rows * p.batch; }

// 128-row tiles of 8 warps (V read from L2 once per 128 rows) where they fill the GPU; else
// 64-row tiles with two warp groups, or four (two for D 64: its stages hold two y) where even
// those are fewer than the multiprocessors. Timed on an H200 against the other shapes
// (AnchorDETR's encoder: 41 µs against 47 µs for two 16-row m-tiles per warp and 54 µs for two
// groups; its decoder: 19.5 µs against 23 µs for two groups and 30 µs for 128-row tiles).
template <int kD> void launch_for(const RowColumnParams& p, cudaStream_t stream) {
  const int sms = cuda_sm_count();
  if (blocks_of(p, 128) >= sms) return launch<kD, 8, 1>(p, stream);
  if (kD == 64 || blocks_of(p, 64) > sms) return launch<kD, 4, 2>(p, stream);
  launch<kD, 4, kD == 64 ? 2 : 4>(p, stream);
}

}  // namespace

bool row_column_read_f16_fits(const RowColumnParams& p) {
  const auto aligned = [](const void* ptr) { return (reinterpret_cast<uintptr_t>(ptr) & 15) == 0; };
  // V rows of D halves start 16-byte aligned (every V stride is a multiple of D); output pairs
  // 4-byte aligned.
  return p.head_dim % 8 == 0 && p.head_dim <= 64 && aligned(p.v) && aligned(p.out);
}

void launch_row_column_read_f16(const RowColumnParams& p, cudaStream_t stream) {
  if (p.head_dim <= 16) launch_for<16>(p, stream);
  else if (p.head_dim <= 32) launch_for<32>(p, stream);
  else launch_for<64>(p, stream);
}

}  // namespace kiln::attention
