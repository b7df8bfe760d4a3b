// kiln.RowColumnRead on CUDA cores, fp32 math, fp32 or fp16 storage: fp32 engines (which must
// stay accurate to fp32: no fp16 or TF32 products) and fp16 shapes the tensor-core kernel does
// not take (head_dim not a multiple of 8 or above 64, unaligned V).
//
// A register-tiled GEMM over K = (y, x): a block of 128 threads owns 64 query rows × 32 output
// columns of one batch item (grid z: column tiles of D), each thread 4 rows × 4 columns. Per x
// chunk of 32 columns the block stages a_row[rows, chunk] transposed in shared memory; then, per
// 8 V rows y, a_col[rows, y] and V[y, chunk, columns]. Per y a thread sums its 4×4 partial
// t = Σ_x a_row[l, x]·V[y, x, d] from two float4 shared-memory reads per 16 FMAs, then adds
// a_col[l, y]·t to its accumulators (1/32 extra FMAs). Same FLOPs as the two unfused MatMuls
// (2·L·H·W·D), none of per_col's traffic: L·W·D floats written and read back per batch item.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "ops/attention/row_column_read_launch.h"
#include "runtime/cuda/gpu_arch.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::attention {
namespace {

constexpr int kThreads = 128;
constexpr int kBM = 64;  // query rows per block
constexpr int kBN = 32;  // output columns per block
constexpr int kXC = 32;  // a_row columns per chunk
constexpr int kYT = 8;   // V rows y per stage

template <class T> __global__ void __launch_bounds__(kThreads) row_column_read_generic(RowColumnParams p) {
  __shared__ __align__(16) float ar[kXC][kBM];       // a_row chunk, transposed: [x][row]
  __shared__ __align__(16) float ac[kYT][kBM];       // a_col stage, transposed: [y][row]
  __shared__ __align__(16) float vs[kYT][kXC][kBN];  // V stage: [y][x][column]
  const int tx = threadIdx.x % 8, ty = threadIdx.x / 8;  // columns 4·tx.., rows 4·ty..
  const int l0 = blockIdx.x * kBM, d0 = blockIdx.z * kBN;
  const int L = p.rows, H = p.height, W = p.width, D = p.head_dim;

  for (int64_t n = blockIdx.y; n < p.batch; n += gridDim.y) {
    const T* acg = static_cast<const T*>(p.a_col) + n * L * H;
    const T* arg = static_cast<const T*>(p.a_row) + n * L * W;
    const T* vg = static_cast<const T*>(p.v) + n / p.heads * p.v_outer + n % p.heads * p.v_inner;
    float acc[4][4] = {};
    for (int x0 = 0; x0 < W; x0 += kXC) {
      const int xc = W - x0 < kXC ? W - x0 : kXC;
      __syncthreads();  // the previous chunk's readers are done
      for (int i = threadIdx.x; i < kBM * kXC; i += kThreads) {
        const int r = i / kXC, x = i % kXC;  // reads along x
        ar[x][r] = l0 + r < L && x < xc ? cuda::load_f(arg, int64_t(l0 + r) * W + x0 + x) : 0.f;
      }
      for (int y0 = 0; y0 < H; y0 += kYT) {
        const int yc = H - y0 < kYT ? H - y0 : kYT;
        __syncthreads();  // the previous stage's readers are done (and ar is written)
        for (int i = threadIdx.x; i < kYT * kBM; i += kThreads) {
          const int r = i / kYT, j = i % kYT;
          ac[j][r] = l0 + r < L && j < yc ? cuda::load_f(acg, int64_t(l0 + r) * H + y0 + j) : 0.f;
        }
        for (int i = threadIdx.x; i < kYT * kXC * kBN; i += kThreads) {
          const int j = i / (kXC * kBN), x = i / kBN % kXC, c = i % kBN;  // reads along D
          const bool in = j < yc && x < xc && d0 + c < D;
          vs[j][x][c] = in ? cuda::load_f(vg, int64_t(y0 + j) * p.v_y + int64_t(x0 + x) * p.v_x + d0 + c) : 0.f;
        }
        __syncthreads();
        for (int j = 0; j < yc; ++j) {
          float s[4][4] = {};
#pragma unroll 4
          for (int x = 0; x < xc; ++x) {
            const float4 a = *reinterpret_cast<const float4*>(&ar[x][4 * ty]);
            const float4 b = *reinterpret_cast<const float4*>(&vs[j][x][4 * tx]);
            const float av[4] = {a.x, a.y, a.z, a.w}, bv[4] = {b.x, b.y, b.z, b.w};
#pragma unroll
            for (int u = 0; u < 4; ++u)
#pragma unroll
              for (int v = 0; v < 4; ++v) s[u][v] = fmaf(av[u], bv[v], s[u][v]);
          }
          const float4 c = *reinterpret_cast<const float4*>(&ac[j][4 * ty]);
          const float cv[4] = {c.x, c.y, c.z, c.w};
#pragma unroll
          for (int u = 0; u < 4; ++u)
#pragma unroll
            for (int v = 0; v < 4; ++v) acc[u][v] = fmaf(cv[u], s[u][v], acc[u][v]);
        }
      }
    }
    T* og = static_cast<T*>(p.out) + n / p.heads * p.o_outer + n % p.heads * p.o_inner;
#pragma unroll
    for (int u = 0; u < 4; ++u) {
      const int row = l0 + 4 * ty + u;
      if (row >= L) continue;
#pragma unroll
      for (int v = 0; v < 4; ++v)
        if (d0 + 4 * tx + v < D) cuda::store_f(og, int64_t(row) * p.o_row + d0 + 4 * tx + v, acc[u][v]);
    }
    __syncthreads();  // the next batch item reuses the tiles
  }
}

}  // namespace

bool row_column_read_generic_fills(const RowColumnParams& p) {
  const int64_t blocks = (int64_t(p.rows) + kBM - 1) / kBM * p.batch * ((p.head_dim + kBN - 1) / kBN);
  return blocks >= 2 * int64_t(cuda_sm_count());
}

void launch_row_column_read_generic(const RowColumnParams& p, bool f16, cudaStream_t stream) {
  const dim3 grid(unsigned((int64_t(p.rows) + kBM - 1) / kBM), unsigned(p.batch < 65535 ? p.batch : 65535),
                  unsigned((p.head_dim + kBN - 1) / kBN));
  if (f16) row_column_read_generic<__half><<<grid, kThreads, 0, stream>>>(p);
  else row_column_read_generic<float><<<grid, kThreads, 0, stream>>>(p);
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::attention
