// Conv on the GPU. conv_path() (conv_path.h) picks the implementation from the geometry:
//   pointwise  1x1 convs as one cuBLASLt GEMM per image, no copies;
//   depthwise  own direct kernel, bias fused (conv_depthwise_cuda.cpp);
//   patchify   kernel == stride convs as window rearrangement + GEMM (conv_patchify_cuda.cpp);
//   cudnn      the rest through cuDNN's convolution API: NCHW descriptors (1-D convs as H = 1),
//              an algorithm whose math type honours the precision rules and whose workspace fits
//              (from the tuning cache, timed when building, else cuDNN's heuristic) — or, for
//              groups-1 convs where the builder timed it faster (patch embeddings), the same
//              im2col + GEMM as patchify. Pads that differ at the two ends of an axis, which
//              cuDNN cannot take, always go that way.
// Mixed convs (fp16 X and W, fp32 B and Y; conv_like.h) run as GEMMs with an fp32 output: the
// 1x1 and patchify paths as they are, the rest through im2col.
// The GEMM and cuDNN paths add the bias in place afterwards, with FusedConv's shortcut and
// activation in the same pass (channel_epilogue.cu). Geometry comes from the CPU
// reference's window code (window.h), so both backends agree on pads and output extents.
#include "ops/conv/conv_cuda.h"

#include <array>
#include <cstring>
#include <memory>
#include <string>

#include "ops/conv/channel_epilogue.h"
#include "ops/conv/conv_path.h"
#include "ops/conv/conv_paths_cuda.h"
#include "ops/conv/window.h"
#include "ops/linear/linear_ops.h"
#include "runtime/cuda/candidate_timer.h"
#include "runtime/cuda/cuda_kernel_context.h"
#include "runtime/cuda/library_check.h"

namespace kiln::conv {
namespace {

constexpr size_t kMaxWorkspace = size_t(256) << 20;
constexpr size_t kMaxIm2col = size_t(256) << 20;  // column scratch beyond this stays with cuDNN

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


// Descriptors and the algorithm depend only on shapes and attributes: made once per plan.
struct ConvState : KernelState {
  cudnnDataType_t type = CUDNN_DATA_FLOAT;
  cudnnMathType_t math = CUDNN_FMA_MATH;
  std::unique_ptr<TensorDesc> xd, yd;
  std::unique_ptr<FilterDesc> wd;
  ConvDesc cd;
  cudnnConvolutionFwdAlgo_t algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
  size_t memory = 0;
  std::string key;  // tuning-cache key
  bool im2col = false;  // a groups-1 conv run as im2col + GEMM instead of cuDNN
};

void describe(CudaKernelContext& ctx, ConvState& st, const DeviceTensor& x, const DeviceTensor& w,
              const std::vector<Axis>& axes, int64_t group) {
  st.type = x.dtype == DType::kF32 ? CUDNN_DATA_FLOAT : CUDNN_DATA_HALF;
  st.xd = std::make_unique<TensorDesc>(st.type, to_int(ctx, x.dims[0]), to_int(ctx, x.dims[1]), to_int(ctx, axes[0].in),
                                       to_int(ctx, axes[1].in));
  st.wd = std::make_unique<FilterDesc>(st.type, to_int(ctx, w.dims[0]), to_int(ctx, w.dims[1]), to_int(ctx, axes[0].k),
                                       to_int(ctx, axes[1].k));
  CUDNN_CHECK(cudnnSetConvolution2dDescriptor(st.cd.h, to_int(ctx, axes[0].pb), to_int(ctx, axes[1].pb),
                                              to_int(ctx, axes[0].s), to_int(ctx, axes[1].s),
                                              to_int(ctx, axes[0].d), to_int(ctx, axes[1].d),
                                              CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  CUDNN_CHECK(cudnnSetConvolutionGroupCount(st.cd.h, int(group)));
  st.math = x.dtype == DType::kF16 ? CUDNN_TENSOR_OP_MATH
            : ctx.session.allow_tf32 ? CUDNN_DEFAULT_MATH
                                     : CUDNN_FMA_MATH;
  CUDNN_CHECK(cudnnSetConvolutionMathType(st.cd.h, st.math));
  std::array<int, 4> od{};
  CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(st.cd.h, st.xd->h, st.wd->h, &od[0], &od[1], &od[2], &od[3]));
  if (od[2] != axes[0].out || od[3] != axes[1].out)
    ctx.unsupported("pads that differ at the start and end of an axis have no CUDA kernel yet");
  st.yd = std::make_unique<TensorDesc>(st.type, od[0], od[1], od[2], od[3]);
  st.key = ctx.session.tuning_prefix() + "/conv/" + dtype_name(x.dtype) + "/m" + std::to_string(int(st.math));
  for (int64_t v : {x.dims[0], x.dims[1], axes[0].in, axes[1].in, w.dims[0], w.dims[1], axes[0].k, axes[1].k,
                    axes[0].pb, axes[1].pb, axes[0].s, axes[1].s, axes[0].d, axes[1].d, group})
    st.key += "," + std::to_string(v);
}

bool usable(const cudnnConvolutionFwdAlgoPerf_t& p, cudnnMathType_t math) {
  bool math_ok = math != CUDNN_FMA_MATH || p.mathType == CUDNN_FMA_MATH;
  return p.status == CUDNN_STATUS_SUCCESS && math_ok && p.memory <= kMaxWorkspace;
}

// From the tuning cache; else, when tuning, cuDNN's own timing of every algorithm on the real
// operands (cudnnFind); else its heuristic. The choice is stored for later calls and the engine.
void choose_algo(CudaKernelContext& ctx, ConvState& st, const DeviceTensor& x, const DeviceTensor& w, DeviceTensor& y) {
  CudaSession& s = ctx.session;
  if (s.tuning)
    if (auto hit = s.tuning->find(st.key); hit && hit->size() == 3 * sizeof(int64_t)) {
      int64_t v[3];
      std::memcpy(v, hit->data(), sizeof v);
      st.algo = cudnnConvolutionFwdAlgo_t(v[0]), st.math = cudnnMathType_t(v[1]), st.memory = size_t(v[2]);
      CUDNN_CHECK(cudnnSetConvolutionMathType(st.cd.h, st.math));
      return;
    }
  constexpr int kWanted = 8;
  std::array<cudnnConvolutionFwdAlgoPerf_t, kWanted> perf{};
  int found = 0;
  if (s.tune) {
    DeviceBuffer ws(kMaxWorkspace, s.stream());
    CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithmEx(s.cudnn(), st.xd->h, x.data(), st.wd->h, w.data(), st.cd.h,
                                                       st.yd->h, y.data(), kWanted, &found, perf.data(), ws.data(),
                                                       kMaxWorkspace));
  } else {
    CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(s.cudnn(), st.xd->h, st.wd->h, st.cd.h, st.yd->h, kWanted,
                                                       &found, perf.data()));
  }
  const cudnnConvolutionFwdAlgoPerf_t* pick = nullptr;
  for (int i = 0; i < found && !pick; ++i)
    if (usable(perf[size_t(i)], st.math)) pick = &perf[size_t(i)];
  if (!pick) fail(ErrorCode::kInternal, "internal error: cuDNN offered no usable algorithm for " + ctx.node.describe());
  st.algo = pick->algo, st.math = pick->mathType, st.memory = pick->memory;
  CUDNN_CHECK(cudnnSetConvolutionMathType(st.cd.h, st.math));
  if (s.tuning) {
    int64_t v[3] = {int64_t(st.algo), int64_t(st.math), int64_t(st.memory)};
    s.tuning->put(st.key, std::string(reinterpret_cast<const char*>(v), sizeof v));
  }
}

bool symmetric_pads(const std::vector<Axis>& axes) {
  for (const Axis& a : axes)
    if (a.pb != a.pe) return false;
  return true;
}

// im2col + GEMM or cuDNN for a groups-1 conv: the tuning cache's choice; else, when tuning,
// whichever ran faster on the real operands (cuDNN with its own best algorithm); else cuDNN.
bool choose_im2col(CudaKernelContext& ctx, ConvState& st, const DeviceTensor& x, const DeviceTensor& w,
                   DeviceTensor& y, const std::vector<Axis>& axes) {
  CudaSession& s = ctx.session;
  std::string key = s.tuning_prefix() + "/conv_path/" + dtype_name(x.dtype) + (s.allow_tf32 ? "/tf32" : "");
  for (int64_t v : {x.dims[0], x.dims[1], axes[0].in, axes[1].in, w.dims[0], axes[0].k, axes[1].k, axes[0].pb,
                    axes[1].pb, axes[0].pe, axes[1].pe, axes[0].s, axes[1].s, axes[0].d, axes[1].d})
    key += "," + std::to_string(v);
  if (s.tuning)
    if (auto hit = s.tuning->find(key); hit && hit->size() == 1) return (*hit)[0] == '1';
  if (!s.tune) return false;
  describe(ctx, st, x, w, axes, 1);
  choose_algo(ctx, st, x, w, y);
  DeviceTensor col = device_empty(x.dtype, {int64_t(im2col_bytes(x, w, axes) / dtype_size(x.dtype))}, s.stream());
  const float one = 1.f, zero = 0.f;
  const int pick = cuda::fastest_candidate(s.stream(), 2, [&](int i) {
    if (i == 1) return patchify_conv_forward(ctx, x, w, y, axes, &col), true;
    void* ws = st.memory ? s.workspace(st.memory) : nullptr;
    return cudnnConvolutionForward(s.cudnn(), &one, st.xd->h, x.data(), st.wd->h, w.data(), st.cd.h, st.algo, ws,
                                   st.memory, &zero, st.yd->h, y.data()) == CUDNN_STATUS_SUCCESS;
  });
  const bool im2col = pick == 1;
  if (s.tuning) s.tuning->put(key, im2col ? "1" : "0");
  return im2col;
}

// Conv, then act(Y + Z) for FusedConv (z nullptr and act none for Conv).
void conv_forward(CudaKernelContext& ctx, const DeviceTensor* z, linear::EpilogueActivation act) {
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
  const int64_t c_in = x.dims[1], c_out = w.dims[0];
  if (group < 1 || c_in % group || c_out % group || w.dims[1] * group != c_in)
    ctx.invalid("channels do not match group " + std::to_string(group));

  const DeviceTensor* b = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  const bool mixed = b && x.dtype == DType::kF16 && b->dtype == DType::kF32;
  if (b && ((b->dtype != x.dtype && !mixed) || b->numel() != c_out))
    ctx.invalid("B must hold one value per output channel, in X's type or float32 for float16 X");

  const ConvPath path = conv_path(axes, group, c_in, c_out);
  if (mixed && (group != 1 || (path == ConvPath::kCudnn && im2col_bytes(x, w, axes) > kMaxIm2col)))
    ctx.unsupported("a float16 Conv writing float32 needs groups 1 and im2col columns within " +
                    std::to_string(kMaxIm2col >> 20) + " MiB");
  const bool fused = z || act != linear::EpilogueActivation::kNone;
  auto check_z = [&](const DeviceTensor& y) {
    if (z && (z->dims != y.dims || z->dtype != y.dtype))
      ctx.invalid("Z " + dims_to_string(z->dims) + " " + dtype_name(z->dtype) + " must have Y's shape and type, " +
                  dims_to_string(y.dims) + " " + dtype_name(y.dtype));
  };
  const int64_t planes = x.dims[0] * c_out;
  if (path == ConvPath::kDepthwise) {
    DeviceTensor& y = ctx.alloc_output(0);
    check_z(y);
    if (y.numel() > 0) depthwise_conv_forward(ctx, x, w, b, y, axes);  // the bias fused
    if (fused && y.numel() > 0)
      launch_channel_epilogue(y.dtype, y.data(), nullptr, z ? z->data() : nullptr, act, planes, c_out,
                              y.numel() / planes, ctx.stream());
    ctx.library = "kiln";
    return;
  }
  bool fresh = false;
  ConvState& st = ctx.state<ConvState>(&fresh);
  DeviceTensor& y = ctx.alloc_output(0);
  check_z(y);
  if (y.numel() == 0) return;
  if (fresh && path == ConvPath::kCudnn && group == 1 && im2col_bytes(x, w, axes) <= kMaxIm2col)
    st.im2col = mixed || !symmetric_pads(axes) || choose_im2col(ctx, st, x, w, y, axes);
  if (path == ConvPath::kPointwise) {
    // A 1x1 convolution over NCHW is a GEMM per image: Y[n] (Cout x HW) = W (Cout x Cin) X[n]
    // (Cin x HW), no copies. cuDNN's NCHW kernels reached 3% of peak on SegFormer's 3072->768 fuse.
    conv_as_gemm(ctx, w, x.data(), c_in, axes[0].out * axes[1].out, x.dims[0], y);
    ctx.library = "cuBLASLt";
  } else if (path == ConvPath::kPatchify || st.im2col) {
    patchify_conv_forward(ctx, x, w, y, axes);
    ctx.library = "kiln+cuBLASLt";
  } else {
    ctx.library = "cuDNN";
    if (!st.xd) describe(ctx, st, x, w, axes, group);
    if (fresh) choose_algo(ctx, st, x, w, y);
    const float one = 1.f, zero = 0.f;
    void* ws = st.memory ? ctx.session.workspace(st.memory) : nullptr;
    CUDNN_CHECK(cudnnConvolutionForward(ctx.session.cudnn(), &one, st.xd->h, x.data(), st.wd->h, w.data(), st.cd.h,
                                        st.algo, ws, st.memory, &zero, st.yd->h, y.data()));
  }
  if (b || fused)
    launch_channel_epilogue(y.dtype, y.data(), b ? b->data() : nullptr, z ? z->data() : nullptr, act, planes, c_out,
                            y.numel() / planes, ctx.stream());
}

}  // namespace

void conv_cuda(CudaKernelContext& ctx) { conv_forward(ctx, nullptr, linear::EpilogueActivation::kNone); }

void fused_conv_cuda(CudaKernelContext& ctx) {
  if (!ctx.has_input(2)) ctx.invalid("B is required (zeros when the convolution has no bias)");
  conv_forward(ctx, ctx.has_input(3) ? &ctx.input(3) : nullptr, linear::epilogue_activation(ctx));
}

}  // namespace kiln::conv
