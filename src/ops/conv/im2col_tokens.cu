// Im2ColTokens' gathers (im2col_tokens_launch.h). The op moves elements without arithmetic, so
// the kernels copy raw units of the element's size (or 16-byte vectors of them), one code path for
// fp32 and fp16. Y is written in order: consecutive threads write consecutive units.
#include <cstdint>

#include "kiln/status.h"
#include "ops/conv/im2col_tokens_launch.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::conv {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxGridYZ = 65535;
constexpr int kMaxTileBytes = 32 * 1024;  // shared memory of one NCHW block (the default limit is 48 KB)

unsigned blocks_for(int64_t items) { return unsigned((items + kThreads - 1) / kThreads); }

// Tokens X: item = the flat index of a unit of Y, `units` of them per tap (C elements). A tap's
// units are contiguous in X and in Y, so a warp reads and writes whole spans of 32 units.
template <class U>
__global__ void __launch_bounds__(kThreads) tokens_rows(Im2ColTokensParams p, int units, int items) {
  const int64_t flat = int64_t(blockIdx.x) * kThreads + threadIdx.x;
  if (flat >= items) return;
  const int item = int(flat), taps = p.k_h * p.k_w, out_hw = p.out_h * p.out_w;
  const int q = item / units, cu = item - q * units;  // q = Y row * taps + tap
  const int row = q / taps, tap = q - row * taps;
  const int b = row / out_hw, pixel = row - b * out_hw;
  const int oy = pixel / p.out_w, ox = pixel - oy * p.out_w;
  const int i = tap / p.k_w, j = tap - i * p.k_w;
  const int ih = oy * p.s_h - p.p_h + i * p.d_h, iw = ox * p.s_w - p.p_w + j * p.d_w;
  U v{};
  if (ih >= 0 && ih < p.in_h && iw >= 0 && iw < p.in_w)
    v = __ldg(static_cast<const U*>(p.x) + ((b * p.in_h + ih) * p.in_w + iw) * units + cu);
  static_cast<U*>(p.y)[item] = v;
}

// NCHW X: a block takes `tx` consecutive output columns of one output row: it stages, for every
// channel and kernel row, the input columns those windows span (tile_w of them) in shared memory,
// reading along W, then writes the tx Y rows, contiguous in Y, from there.
template <class U>
__global__ void __launch_bounds__(kThreads) nchw_rows_tiled(Im2ColTokensParams p, int tx, int tile_w) {
  extern __shared__ __align__(16) unsigned char smem[];
  U* tile = reinterpret_cast<U*>(smem);  // [channels][k_h][tile_w]
  const U* __restrict__ x = static_cast<const U*>(p.x);
  U* __restrict__ y = static_cast<U*>(p.y);
  const int C = p.channels, K = p.k_h * p.k_w * C, staged = C * p.k_h * tile_w;
  const int ox0 = int(blockIdx.x) * tx, cols = min(tx, p.out_w - ox0), col0 = ox0 * p.s_w - p.p_w;
  for (int b = blockIdx.z; b < p.batch; b += gridDim.z)
    for (int oy = blockIdx.y; oy < p.out_h; oy += gridDim.y) {
      for (int e = threadIdx.x; e < staged; e += kThreads) {
        const int r = e / tile_w, col = e - r * tile_w, c = r / p.k_h, i = r - c * p.k_h;
        const int ih = oy * p.s_h - p.p_h + i * p.d_h, iw = col0 + col;
        tile[e] = ih >= 0 && ih < p.in_h && iw >= 0 && iw < p.in_w ? __ldg(x + ((b * C + c) * p.in_h + ih) * p.in_w + iw)
                                                                   : U{};
      }
      __syncthreads();
      U* yp = y + ((b * p.out_h + oy) * p.out_w + ox0) * K;
      for (int e = threadIdx.x; e < cols * K; e += kThreads) {
        const int o = e / K, k = e - o * K, tap = k / C, c = k - tap * C, i = tap / p.k_w, j = tap - i * p.k_w;
        yp[e] = tile[(c * p.k_h + i) * tile_w + o * p.s_w + j * p.d_w];
      }
      __syncthreads();  // the tile is restaged for the next row
    }
}

// NCHW X when one output column's windows do not fit in shared memory: one thread per Y element.
template <class U>
__global__ void __launch_bounds__(kThreads) nchw_rows(Im2ColTokensParams p, int items) {
  const int64_t flat = int64_t(blockIdx.x) * kThreads + threadIdx.x;
  if (flat >= items) return;
  const int item = int(flat), C = p.channels, K = p.k_h * p.k_w * C, out_hw = p.out_h * p.out_w;
  const int row = item / K, k = item - row * K, tap = k / C, c = k - tap * C;
  const int b = row / out_hw, pixel = row - b * out_hw, oy = pixel / p.out_w, ox = pixel - oy * p.out_w;
  const int i = tap / p.k_w, j = tap - i * p.k_w;
  const int ih = oy * p.s_h - p.p_h + i * p.d_h, iw = ox * p.s_w - p.p_w + j * p.d_w;
  U v{};
  if (ih >= 0 && ih < p.in_h && iw >= 0 && iw < p.in_w)
    v = __ldg(static_cast<const U*>(p.x) + ((b * C + c) * p.in_h + ih) * p.in_w + iw);
  static_cast<U*>(p.y)[item] = v;
}

template <class U> void launch_tokens(const Im2ColTokensParams& p, int units, CudaStream stream) {
  const int64_t items = int64_t(p.batch) * p.out_h * p.out_w * p.k_h * p.k_w * units;
  KILN_ASSERT(items < (int64_t(1) << 31));
  tokens_rows<U><<<blocks_for(items), kThreads, 0, stream>>>(p, units, int(items));
}

template <class U> void launch_nchw(const Im2ColTokensParams& p, CudaStream stream) {
  // The widest span of output columns (up to 64) whose staged inputs fit kMaxTileBytes.
  const auto tile_w = [&](int tx) { return (tx - 1) * p.s_w + (p.k_w - 1) * p.d_w + 1; };
  const auto bytes = [&](int tx) { return int64_t(p.channels) * p.k_h * tile_w(tx) * int64_t(sizeof(U)); };
  int tx = p.out_w < 64 ? p.out_w : 64;
  while (tx > 1 && bytes(tx) > kMaxTileBytes) tx /= 2;
  if (bytes(tx) <= kMaxTileBytes) {
    const dim3 grid(unsigned((p.out_w + tx - 1) / tx), unsigned(p.out_h < kMaxGridYZ ? p.out_h : kMaxGridYZ),
                    unsigned(p.batch < kMaxGridYZ ? p.batch : kMaxGridYZ));
    nchw_rows_tiled<U><<<grid, kThreads, size_t(bytes(tx)), stream>>>(p, tx, tile_w(tx));
    return;
  }
  const int64_t items = int64_t(p.batch) * p.out_h * p.out_w * p.k_h * p.k_w * p.channels;
  KILN_ASSERT(items < (int64_t(1) << 31));
  nchw_rows<U><<<blocks_for(items), kThreads, 0, stream>>>(p, int(items));
}

template <class U> void launch_elements(const Im2ColTokensParams& p, CudaStream stream) {
  if (p.tokens) launch_tokens<U>(p, p.channels, stream);
  else launch_nchw<U>(p, stream);
}

}  // namespace

void launch_im2col_tokens(const Im2ColTokensParams& p, CudaStream stream) {
  if (p.batch == 0 || p.channels == 0 || p.out_h == 0 || p.out_w == 0) return;
  const int64_t row_bytes = int64_t(p.channels) * p.element_size;  // one tap's channels
  if (p.tokens && row_bytes % 16 == 0 && cuda::aligned16(p.x) && cuda::aligned16(p.y))
    launch_tokens<uint4>(p, int(row_bytes / 16), stream);
  else if (p.element_size == 2) launch_elements<uint16_t>(p, stream);
  else if (p.element_size == 4) launch_elements<uint32_t>(p, stream);
  else KILN_ASSERT(!"Im2ColTokens element size");
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::conv
