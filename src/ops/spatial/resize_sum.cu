// ResizeSum on the GPU: one pass that reads every input once per output tile and writes the
// NCHW output once.
//
// Floor: the bytes that must move. SegFormer-B2's decode head at 1024² in fp16 writes
// Y [1, 768, 256, 256] (100.7 MB) and reads stage 0's tokens at that resolution (100.7 MB) and
// stages 1-3 at 1/4, 1/16, 1/64 of it (25.2 + 6.3 + 1.6 MB): 234 MB, 49 µs at the H200's
// 4.8 TB/s (the unfused Resize/Add/Transpose nodes took about 1.1 ms).
//
// A block owns kResizeSumTileX output pixels of one output row and kResizeSumTileC channels;
// each of its 256 threads one pixel and 8 channels (4 channel groups of 64 threads), so a warp
// writes 32 consecutive x of one channel: coalesced NCHW stores. Token inputs are read into
// shared memory along the channels (a warp reads 32 consecutive channels of one pixel), already
// blended over their two source rows, then interpolated along x from there; inputs whose taps
// spread wider than the tile (downsampling) and NCHW inputs read their taps directly, which
// along x is coalesced for NCHW. A zero row weight skips that row's reads: inputs already at
// the output size read one row, not two.
#include "ops/spatial/resize_sum_launch.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::spatial {
namespace {

constexpr int kThreads = 256;
constexpr int kGroups = kThreads / kResizeSumTileX;         // channel groups per block
constexpr int kPerThread = kResizeSumTileC / kGroups;       // channels per thread
static_assert(kThreads % kResizeSumTileX == 0 && kResizeSumTileC % kGroups == 0);

template <class T>
__device__ __forceinline__ float tap2(const T* row, int i0, int i1, float w0, float w1, int stride) {
  return w0 * cuda::load_f(row, i0 * stride) + w1 * cuda::load_f(row, i1 * stride);
}

template <class T>
__global__ void __launch_bounds__(kThreads) resize_sum_kernel(ResizeSumParams p, int x_tiles) {
  __shared__ float tile[kResizeSumSpan][kResizeSumTileC + 1];  // +1: conflict-free column reads
  const int row = blockIdx.x / x_tiles, x0 = (blockIdx.x - row * x_tiles) * kResizeSumTileX;
  const int b = row / p.height, oy = row - b * p.height;
  const int c0 = blockIdx.y * kResizeSumTileC, C = p.channels;
  const int xl = threadIdx.x % kResizeSumTileX, group = threadIdx.x / kResizeSumTileX;
  const int ox = x0 + xl;
  const bool x_ok = ox < p.width;
  const int x_last = min(x0 + kResizeSumTileX, p.width) - 1;
  float acc[kPerThread] = {};

#pragma unroll
  for (int i = 0; i < kResizeSumSlots; ++i) {
    if (i >= p.inputs) break;
    const ResizeSumSource& s = p.in[i];
    const T* x = static_cast<const T*>(s.x);
    const int iy0 = s.row_index[2 * oy], iy1 = s.row_index[2 * oy + 1];
    const float wy0 = s.row_weight[2 * oy], wy1 = s.row_weight[2 * oy + 1];
    int ix0 = 0, ix1 = 0;
    float wx0 = 0.f, wx1 = 0.f;
    if (x_ok) ix0 = s.col_index[2 * ox], ix1 = s.col_index[2 * ox + 1], wx0 = s.col_weight[2 * ox],
              wx1 = s.col_weight[2 * ox + 1];
    if (s.tokens && s.staged) {
      // Columns lo..hi cover every tap of the tile (indices are clamped and nondecreasing).
      const int lo = s.col_index[2 * x0], span = s.col_index[2 * x_last + 1] - lo + 1;
      const T* r0 = x + ((b * s.in_h + iy0) * s.in_w + lo) * C;
      const T* r1 = x + ((b * s.in_h + iy1) * s.in_w + lo) * C;
      __syncthreads();  // the previous input's reads of the tile are done
#pragma unroll 4  // loads of several columns in flight per thread
      for (int e = threadIdx.x; e < span * kResizeSumTileC; e += kThreads) {
        const int col = e / kResizeSumTileC, cc = e - col * kResizeSumTileC, c = c0 + cc;
        float v = 0.f;
        if (c < C) {
          v = wy0 * cuda::load_f(r0, col * C + c);
          if (wy1 != 0.f) v += wy1 * cuda::load_f(r1, col * C + c);
        }
        tile[col][cc] = v;
      }
      __syncthreads();
      if (x_ok) {
#pragma unroll
        for (int k = 0; k < kPerThread; ++k) {
          const int cc = group + k * kGroups;
          acc[k] += wx0 * tile[ix0 - lo][cc] + wx1 * tile[ix1 - lo][cc];
        }
      }
    } else if (x_ok) {
#pragma unroll
      for (int k = 0; k < kPerThread; ++k) {
        const int c = c0 + group + k * kGroups;
        if (c >= C) break;
        if (s.tokens) {
          const T* r0 = x + (b * s.in_h + iy0) * s.in_w * C + c;
          float v = wy0 * tap2(r0, ix0, ix1, wx0, wx1, C);
          if (wy1 != 0.f) v += wy1 * tap2(x + (b * s.in_h + iy1) * s.in_w * C + c, ix0, ix1, wx0, wx1, C);
          acc[k] += v;
        } else {
          const T* plane = x + (b * C + c) * s.in_h * s.in_w;
          float v = wy0 * tap2(plane + iy0 * s.in_w, ix0, ix1, wx0, wx1, 1);
          if (wy1 != 0.f) v += wy1 * tap2(plane + iy1 * s.in_w, ix0, ix1, wx0, wx1, 1);
          acc[k] += v;
        }
      }
    }
  }
  if (!x_ok) return;
  T* y = static_cast<T*>(p.y);
#pragma unroll
  for (int k = 0; k < kPerThread; ++k) {
    const int c = c0 + group + k * kGroups;
    if (c >= C) break;
    const float v = acc[k];
    cuda::store_f(y, ((b * C + c) * p.height + oy) * p.width + ox, p.relu && v < 0.f ? 0.f : v);
  }
}

}  // namespace

void launch_resize_sum(DType dt, const ResizeSumParams& p, CudaStream stream) {
  const int x_tiles = (p.width + kResizeSumTileX - 1) / kResizeSumTileX;
  const dim3 grid(unsigned(x_tiles * p.batch * p.height), unsigned((p.channels + kResizeSumTileC - 1) / kResizeSumTileC));
  if (grid.x == 0 || grid.y == 0) return;
  if (dt == DType::kF32) resize_sum_kernel<float><<<grid, kThreads, 0, stream>>>(p, x_tiles);
  else if (dt == DType::kF16) resize_sum_kernel<__half><<<grid, kThreads, 0, stream>>>(p, x_tiles);
  else KILN_ASSERT(!"resize_sum dtype");
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::spatial
