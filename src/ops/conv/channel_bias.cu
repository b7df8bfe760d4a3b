// One block row per (n, c) plane: the bias is read once per thread and no index is divided.
#include "kiln/status.h"
#include "ops/conv/channel_bias.h"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::conv {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxGridY = 65535;

template <class T>
__global__ void add_channel_bias_kernel(T* __restrict__ y, const T* __restrict__ b, int64_t first_plane, int channels,
                                        int plane) {
  const int64_t p = first_plane + blockIdx.y;
  const float bias = cuda::load_f(b, p % channels);
  T* row = y + p * plane;
  for (int i = blockIdx.x * kThreads + threadIdx.x; i < plane; i += gridDim.x * kThreads)
    cuda::store_f(row, i, cuda::load_f(row, i) + bias);
}

template <class T>
void launch(void* y, const void* b, int64_t planes, int64_t channels, int64_t plane, CudaStream stream) {
  const unsigned blocks_x = cuda::grid_for(plane, kThreads) > 1024 ? 1024 : cuda::grid_for(plane, kThreads);
  for (int64_t first = 0; first < planes; first += kMaxGridY) {
    const int64_t count = planes - first < kMaxGridY ? planes - first : kMaxGridY;
    add_channel_bias_kernel<T><<<dim3(blocks_x, unsigned(count)), kThreads, 0, stream>>>(
        static_cast<T*>(y), static_cast<const T*>(b), first, int(channels), int(plane));
    CUDA_CHECK_LAUNCH();
  }
}

}  // namespace

void launch_add_channel_bias(DType dt, void* y, const void* b, int64_t planes, int64_t channels, int64_t plane,
                             CudaStream stream) {
  if (planes == 0 || plane == 0) return;
  KILN_ASSERT(plane <= 0x7fffffff && channels <= 0x7fffffff);
  if (dt == DType::kF32) return launch<float>(y, b, planes, channels, plane, stream);
  if (dt == DType::kF16) return launch<__half>(y, b, planes, channels, plane, stream);
  KILN_ASSERT(!"channel bias dtype");
}

}  // namespace kiln::conv
