// MaxPool / AveragePool through cuDNN's pooling API. Geometry from the CPU reference's window
// code (window.h); cuDNN pads symmetrically and has no ceil_mode or dilation, so an extent it
// cannot produce is reported as unsupported rather than computed differently.
#include <array>

#include "ops/conv/conv_cuda.h"
#include "ops/conv/window.h"
#include "runtime/cuda/cuda_kernel_context.h"
#include "runtime/cuda/library_check.h"

namespace kiln::conv {
namespace {

struct PoolDesc {
  cudnnPoolingDescriptor_t h = nullptr;
  PoolDesc() { CUDNN_CHECK(cudnnCreatePoolingDescriptor(&h)); }
  ~PoolDesc() { cudnnDestroyPoolingDescriptor(h); }
};
struct TensorDesc4 {
  cudnnTensorDescriptor_t h = nullptr;
  TensorDesc4(cudnnDataType_t t, int n, int c, int hh, int w) {
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&h));
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(h, CUDNN_TENSOR_NCHW, t, n, c, hh, w));
  }
  ~TensorDesc4() { cudnnDestroyTensorDescriptor(h); }
};

void pool(CudaKernelContext& ctx, bool is_max) {
  ctx.require_dtype(0, {DType::kF32, DType::kF16});
  if (ctx.has_output(1)) ctx.unsupported("MaxPool's Indices output has no CUDA kernel");
  const DeviceTensor& x = ctx.input(0);
  const int n = spatial_rank(ctx, x.rank(), "X");
  if (n > 2) ctx.unsupported("3-D pooling has no CUDA kernel (run with --device cpu)");
  WindowAttrs wa = read_window(ctx, n, {}, true);
  for (int64_t d : wa.dilations)
    if (d != 1) ctx.unsupported("dilated pooling has no CUDA kernel");
  std::vector<Axis> axes;
  for (int i = 0; i < n; ++i) axes.push_back(forward_axis(ctx, wa, i, x.dims[size_t(2 + i)], true));
  if (n == 1) axes.insert(axes.begin(), Axis{});
  if (axes[0].in > 0x7fffffff || axes[1].in > 0x7fffffff || x.dims[0] * x.dims[1] > 0x7fffffff)
    ctx.unsupported("tensors beyond 2^31 per dimension have no CUDA kernel");
  cudnnPoolingMode_t mode = CUDNN_POOLING_MAX;
  if (!is_max)
    mode = ctx.attrs().get_int("count_include_pad", 0) ? CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING
                                                        : CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING;
  PoolDesc pd;
  CUDNN_CHECK(cudnnSetPooling2dDescriptor(pd.h, mode, CUDNN_PROPAGATE_NAN, int(axes[0].k), int(axes[1].k),
                                          int(axes[0].pb), int(axes[1].pb), int(axes[0].s), int(axes[1].s)));
  const cudnnDataType_t t = x.dtype == DType::kF32 ? CUDNN_DATA_FLOAT : CUDNN_DATA_HALF;
  TensorDesc4 xd(t, int(x.dims[0]), int(x.dims[1]), int(axes[0].in), int(axes[1].in));
  std::array<int, 4> od{};
  CUDNN_CHECK(cudnnGetPooling2dForwardOutputDim(pd.h, xd.h, &od[0], &od[1], &od[2], &od[3]));
  if (od[2] != axes[0].out || od[3] != axes[1].out)
    ctx.unsupported("this pooling geometry (ceil_mode or uneven pads) has no CUDA kernel yet");
  DeviceTensor& y = ctx.alloc_output(0);
  if (y.numel() == 0) return;
  TensorDesc4 yd(t, od[0], od[1], od[2], od[3]);
  const float one = 1.f, zero = 0.f;
  CUDNN_CHECK(cudnnPoolingForward(ctx.session.cudnn(), pd.h, &one, xd.h, x.data(), &zero, yd.h, y.data()));
}

}  // namespace

void max_pool_cuda(CudaKernelContext& ctx) { pool(ctx, true); }
void average_pool_cuda(CudaKernelContext& ctx) { pool(ctx, false); }

}  // namespace kiln::conv
