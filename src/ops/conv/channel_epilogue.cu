// One block row per (n, c) plane: the bias is read once per thread and no index is divided.
// Planes whose length and pointers allow it move in 16-byte vectors (a ResNet stage-1 plane of
// 200 x 304 fp16 is 7600 of them); the rest element by element.
#include "kiln/status.h"
#include "ops/conv/channel_epilogue.h"
#include "ops/linear/epilogue_math.cuh"
#include "runtime/cuda/kernel_util.cuh"

namespace kiln::conv {
namespace {

using linear::EpilogueActivation;

constexpr int kThreads = 256;
constexpr int64_t kMaxGridY = 65535;

// V elements per thread step: kVec16<T> when vectorized, else 1.
template <class T, int V>
__global__ void channel_epilogue_kernel(T* __restrict__ y, const T* __restrict__ b, const T* __restrict__ z,
                                        EpilogueActivation act, int64_t first_plane, int channels, int plane) {
  const int64_t p = first_plane + blockIdx.y;
  const float bias = b ? cuda::load_f(b, p % channels) : 0.f;
  T* row = y + p * plane;
  const T* zrow = z ? z + p * plane : nullptr;
  for (int i = (blockIdx.x * kThreads + threadIdx.x) * V; i < plane; i += gridDim.x * kThreads * V) {
    float v[V], r[V];
    cuda::load_vec<T, V>(row + i, v);
    if (zrow) cuda::load_vec<T, V>(zrow + i, r);
#pragma unroll
    for (int k = 0; k < V; ++k) v[k] = linear::activate_f(act, v[k] + bias + (zrow ? r[k] : 0.f));
    cuda::store_vec<T, V>(row + i, v);
  }
}

template <class T, int V>
void launch(void* y, const void* b, const void* z, EpilogueActivation act, int64_t planes, int64_t channels,
            int64_t plane, CudaStream stream) {
  const unsigned steps = cuda::grid_for(plane / V, kThreads);
  const unsigned blocks_x = steps > 1024 ? 1024 : steps;
  for (int64_t first = 0; first < planes; first += kMaxGridY) {
    const int64_t count = planes - first < kMaxGridY ? planes - first : kMaxGridY;
    channel_epilogue_kernel<T, V><<<dim3(blocks_x, unsigned(count)), kThreads, 0, stream>>>(
        static_cast<T*>(y), static_cast<const T*>(b), static_cast<const T*>(z), act, first, int(channels), int(plane));
    CUDA_CHECK_LAUNCH();
  }
}

template <class T>
void launch_as(void* y, const void* b, const void* z, EpilogueActivation act, int64_t planes, int64_t channels,
               int64_t plane, CudaStream stream) {
  constexpr int kVec = cuda::kVec16<T>;
  if (plane % kVec == 0 && cuda::aligned16(y) && (!z || cuda::aligned16(z)))
    launch<T, kVec>(y, b, z, act, planes, channels, plane, stream);
  else
    launch<T, 1>(y, b, z, act, planes, channels, plane, stream);
}

}  // namespace

void launch_channel_epilogue(DType dt, void* y, const void* b, const void* z, EpilogueActivation act,
                             int64_t planes, int64_t channels, int64_t plane, CudaStream stream) {
  if (planes == 0 || plane == 0) return;
  KILN_ASSERT(plane <= 0x7fffffff && channels <= 0x7fffffff);
  if (dt == DType::kF32) return launch_as<float>(y, b, z, act, planes, channels, plane, stream);
  if (dt == DType::kF16) return launch_as<__half>(y, b, z, act, planes, channels, plane, stream);
  KILN_ASSERT(!"channel epilogue dtype");
}

}  // namespace kiln::conv
