// GridSample (4-D) on the GPU: one thread per output point, the sampling taps computed once and
// applied to every channel. Follows the CPU reference's arithmetic (float coordinates, x weight
// times y weight); modes bilinear and nearest, padding zeros, border and reflection.
#include "kiln/status.h"
#include "ops/spatial/spatial_cuda.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::spatial {
namespace {

__device__ float unnormalize(float g, int64_t size, bool align) {
  return align ? ((g + 1) / 2) * float(size - 1) : ((g + 1) * float(size) - 1) / 2;
}

__device__ float clip_coord(float x, int64_t size) { return fminf(float(size - 1), fmaxf(x, 0.f)); }

__device__ float reflect_coord(float x, int64_t twice_low, int64_t twice_high) {
  if (twice_low == twice_high) return 0.f;
  const float lo = float(twice_low) / 2, span = float(twice_high - twice_low) / 2;
  x = fabsf(x - lo);
  const float extra = fmodf(x, span), flips = floorf(x / span);
  return fmodf(flips, 2.f) == 0.f ? extra + lo : span - extra + lo;
}

__device__ float pad_coord(float x, int64_t size, const GridSampleArgs& a) {
  if (a.padding == 1) {
    x = clip_coord(x, size);
  } else if (a.padding == 2) {
    x = a.align_corners ? reflect_coord(x, 0, 2 * (size - 1)) : reflect_coord(x, -1, 2 * size - 1);
    x = clip_coord(x, size);
  }
  if (!isfinite(x) || double(x) > 2147483646.0 || double(x) < -2147483648.0) return -100.f;
  return x;
}

template <class T, class G>
__global__ void grid_sample_kernel(const T* __restrict__ x, const G* __restrict__ grid, T* __restrict__ y,
                                   GridSampleArgs a) {
  const int64_t points = a.out_h * a.out_w, total = a.batch * points;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t n = i / points, p = i % points;
    const float gx = cuda::load_f(grid, i * 2), gy = cuda::load_f(grid, i * 2 + 1);
    const float fx = pad_coord(unnormalize(gx, a.in_w, a.align_corners), a.in_w, a);
    const float fy = pad_coord(unnormalize(gy, a.in_h, a.align_corners), a.in_h, a);
    int64_t off[4];
    float w[4];
    int taps;
    if (a.nearest) {
      const int64_t ix = int64_t(rintf(fx)), iy = int64_t(rintf(fy));
      const bool ok = ix >= 0 && ix < a.in_w && iy >= 0 && iy < a.in_h;
      off[0] = ok ? iy * a.in_w + ix : 0;
      w[0] = ok ? 1.f : 0.f;
      taps = 1;
    } else {
      const float x0 = floorf(fx), y0 = floorf(fy);
      const int64_t ix = int64_t(x0), iy = int64_t(y0);
      const float wx[2] = {(x0 + 1) - fx, fx - x0}, wy[2] = {(y0 + 1) - fy, fy - y0};
      for (int c = 0; c < 4; ++c) {
        const int64_t cx = ix + (c & 1), cy = iy + (c >> 1);
        const bool ok = cx >= 0 && cx < a.in_w && cy >= 0 && cy < a.in_h;
        off[c] = ok ? cy * a.in_w + cx : 0;
        w[c] = ok ? wx[c & 1] * wy[c >> 1] : 0.f;
      }
      taps = 4;
    }
    const int64_t plane = a.in_h * a.in_w;
    for (int64_t ch = 0; ch < a.channels; ++ch) {
      const T* src = x + (n * a.channels + ch) * plane;
      float acc = 0.f;
      for (int t = 0; t < taps; ++t) acc += w[t] * cuda::load_f(src, off[t]);
      cuda::store_f(y, (n * a.channels + ch) * points + p, acc);
    }
  }
}

template <class T, class G> void launch_as(const void* x, const void* grid, void* y, const GridSampleArgs& a, CudaStream s) {
  grid_sample_kernel<T, G><<<cuda::grid_for(a.batch * a.out_h * a.out_w), cuda::kThreads, 0, s>>>(
      static_cast<const T*>(x), static_cast<const G*>(grid), static_cast<T*>(y), a);
}

}  // namespace

void launch_grid_sample(DType dt, DType grid_dt, const void* x, const void* grid, void* y, const GridSampleArgs& a,
                        CudaStream stream) {
  if (a.batch * a.out_h * a.out_w * a.channels == 0) return;
  if (dt == DType::kF32 && grid_dt == DType::kF32) launch_as<float, float>(x, grid, y, a, stream);
  else if (dt == DType::kF16 && grid_dt == DType::kF16) launch_as<__half, __half>(x, grid, y, a, stream);
  else if (dt == DType::kF16 && grid_dt == DType::kF32) launch_as<__half, float>(x, grid, y, a, stream);
  else if (dt == DType::kF32 && grid_dt == DType::kF16) launch_as<float, __half>(x, grid, y, a, stream);
  else KILN_ASSERT(!"grid sample dtype");
  CUDA_CHECK_LAUNCH();
}

}  // namespace kiln::spatial
