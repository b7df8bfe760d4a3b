// Conv through cuDNN's convolution API: NCHW descriptors (1-D convs as H = 1), the heuristic's
// best algorithm whose math type honours the precision rules and whose workspace fits, then
// the bias added in place. Geometry comes from the CPU reference's window code (window.h), so
// both backends agree on pads and output extents.
#include "ops/conv/conv_cuda.h"

#include <array>

#include "ops/conv/window.h"
#include "runtime/cuda/cuda_kernel_context.h"
#include "runtime/cuda/library_check.h"

namespace kiln::conv {
namespace {

constexpr size_t kMaxWorkspace = size_t(256) << 20;

struct TensorDesc {
  cudnnTensorDescriptor_t h = nullptr;
  TensorDesc(cudnnDataType_t t, int n, int c, int hh, int w) {
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&h));
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(h, CUDNN_TENSOR_NCHW, t, n, c, hh, w));
  }
  ~TensorDesc() { cudnnDestroyTensorDescriptor(h); }
};
struct FilterDesc {
  cudnnFilterDescriptor_t h = nullptr;
  FilterDesc(cudnnDataType_t t, int k, int c, int hh, int w) {
    CUDNN_CHECK(cudnnCreateFilterDescriptor(&h));
    CUDNN_CHECK(cudnnSetFilter4dDescriptor(h, t, CUDNN_TENSOR_NCHW, k, c, hh, w));
  }
  ~FilterDesc() { cudnnDestroyFilterDescriptor(h); }
};
struct ConvDesc {
  cudnnConvolutionDescriptor_t h = nullptr;
  ConvDesc() { CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&h)); }
  ~ConvDesc() { cudnnDestroyConvolutionDescriptor(h); }
};

int to_int(const CudaKernelContext& ctx, int64_t v) {
  if (v > 0x7fffffff) ctx.unsupported("a dimension beyond 2^31 has no CUDA kernel");
  return int(v);
}

}  // namespace

void conv_cuda(CudaKernelContext& ctx) {
  ctx.require_dtype(0, {DType::kF32, DType::kF16});
  const DeviceTensor& x = ctx.input(0);
  const DeviceTensor& w = ctx.input(1);
  if (w.dtype != x.dtype) ctx.invalid("X and W have different types");
  const int n = spatial_rank(ctx, x.rank(), "X");
  if (n > 2) ctx.unsupported("3-D Conv has no CUDA kernel (run with --device cpu)");
  if (w.rank() != x.rank()) ctx.invalid("W must have X's rank");
  const int64_t group = ctx.attrs().get_int("group", 1);
  Dims kernel(w.dims.begin() + 2, w.dims.end());
  WindowAttrs wa = read_window(ctx, n, kernel, false);
  std::vector<Axis> axes;
  for (int i = 0; i < n; ++i) axes.push_back(forward_axis(ctx, wa, i, x.dims[size_t(2 + i)], false));
  if (n == 1) axes.insert(axes.begin(), Axis{});  // 1-D as H = 1
  const int64_t batch = x.dims[0], c_in = x.dims[1], c_out = w.dims[0];
  if (group < 1 || c_in % group || c_out % group || w.dims[1] * group != c_in)
    ctx.invalid("channels do not match group " + std::to_string(group));

  const cudnnDataType_t t = x.dtype == DType::kF32 ? CUDNN_DATA_FLOAT : CUDNN_DATA_HALF;
  TensorDesc xd(t, to_int(ctx, batch), to_int(ctx, c_in), to_int(ctx, axes[0].in), to_int(ctx, axes[1].in));
  FilterDesc wd(t, to_int(ctx, c_out), to_int(ctx, w.dims[1]), to_int(ctx, axes[0].k), to_int(ctx, axes[1].k));
  ConvDesc cd;
  CUDNN_CHECK(cudnnSetConvolution2dDescriptor(cd.h, to_int(ctx, axes[0].pb), to_int(ctx, axes[1].pb),
                                              to_int(ctx, axes[0].s), to_int(ctx, axes[1].s),
                                              to_int(ctx, axes[0].d), to_int(ctx, axes[1].d),
                                              CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  CUDNN_CHECK(cudnnSetConvolutionGroupCount(cd.h, int(group)));
  const cudnnMathType_t math = x.dtype == DType::kF16 ? CUDNN_TENSOR_OP_MATH
                               : ctx.session.allow_tf32 ? CUDNN_DEFAULT_MATH
                                                        : CUDNN_FMA_MATH;
  CUDNN_CHECK(cudnnSetConvolutionMathType(cd.h, math));
  std::array<int, 4> od{};
  CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(cd.h, xd.h, wd.h, &od[0], &od[1], &od[2], &od[3]));
  if (od[2] != axes[0].out || od[3] != axes[1].out)
    ctx.unsupported("pads that differ at the start and end of an axis have no CUDA kernel yet");
  DeviceTensor& y = ctx.alloc_output(0);
  if (y.numel() == 0) return;
  TensorDesc yd(t, od[0], od[1], od[2], od[3]);

  constexpr int kWanted = 8;
  std::array<cudnnConvolutionFwdAlgoPerf_t, kWanted> perf{};
  int found = 0;
  CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(ctx.session.cudnn(), xd.h, wd.h, cd.h, yd.h, kWanted,
                                                     &found, perf.data()));
  const cudnnConvolutionFwdAlgoPerf_t* pick = nullptr;
  for (int i = 0; i < found && !pick; ++i) {
    const auto& p = perf[size_t(i)];
    bool math_ok = math != CUDNN_FMA_MATH || p.mathType == CUDNN_FMA_MATH;
    if (p.status == CUDNN_STATUS_SUCCESS && math_ok && p.memory <= kMaxWorkspace) pick = &p;
  }
  if (!pick) fail(ErrorCode::kInternal, "internal error: cuDNN offered no usable algorithm for " + ctx.node.describe());
  CUDNN_CHECK(cudnnSetConvolutionMathType(cd.h, pick->mathType));
  void* ws = pick->memory ? ctx.session.workspace(pick->memory) : nullptr;
  const float one = 1.f, zero = 0.f;
  CUDNN_CHECK(cudnnConvolutionForward(ctx.session.cudnn(), &one, xd.h, x.data(), wd.h, w.data(), cd.h,
                                      pick->algo, ws, pick->memory, &zero, yd.h, y.data()));
  if (ctx.has_input(2)) {
    const DeviceTensor& b = ctx.input(2);
    if (b.dtype != x.dtype || b.numel() != c_out) ctx.invalid("B must hold one value per output channel");
    TensorDesc bd(t, 1, to_int(ctx, c_out), 1, 1);
    CUDNN_CHECK(cudnnAddTensor(ctx.session.cudnn(), &one, bd.h, b.data(), &one, yd.h, y.data()));
  }
}

}  // namespace kiln::conv
