// Host side of Resize on the GPU: the plan and tap tables come from the CPU reference's code
// (resize_plan.h, resize_taps.h); the tables are uploaded and one kernel resamples.
#include "ops/spatial/spatial_cuda.h"

#include "ops/spatial/resize_plan.h"
#include "ops/spatial/resize_taps.h"
#include "runtime/cuda/cuda_kernel_context.h"

namespace kiln::spatial {
namespace {

constexpr size_t kRoi = 1, kScales = 2, kSizes = 3;

bool present(const CudaKernelContext& ctx, size_t i) {
  return ctx.has_input(i) && ctx.input(i).numel() > 0;
}

std::vector<double> doubles(const Tensor& t) {
  std::vector<double> v(size_t(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[size_t(i)] = t.at_double(i);
  return v;
}

// One axis's taps as device tables (int32 indices, float weights).
struct DeviceTaps {
  DeviceTensor index, weight;
  int taps = 1;
};
DeviceTaps upload(const AxisTaps& t, CudaStream stream) {
  const size_t count = t.index.size();
  std::vector<int32_t> idx(count);
  std::vector<float> w(count);
  for (size_t i = 0; i < count; ++i) {
    idx[i] = int32_t(t.index[i]);
    w[i] = float(t.weight[i]);
  }
  DeviceTaps d;
  d.taps = t.taps;
  d.index = to_device(Tensor::from_vector<int32_t>({int64_t(count)}, idx), stream);
  d.weight = to_device(Tensor::from_vector<float>({int64_t(count)}, w), stream);
  return d;
}

// The tables depend only on shapes and constants: uploaded once per plan.
struct ResizeState : KernelState {
  DeviceTaps h, w;
};

}  // namespace

void resize_cuda(CudaKernelContext& ctx) {
  ctx.require_dtype(0, {DType::kF32, DType::kF16});
  ResizeAttrs a = parse_resize_attrs(ctx);
  const DeviceTensor& x = ctx.input(0);
  const bool has_scales = present(ctx, kScales), has_sizes = present(ctx, kSizes);
  if (has_scales == has_sizes) ctx.invalid("exactly one of scales and sizes must be given");
  std::vector<double> scales, roi;
  std::vector<int64_t> sizes;
  if (has_scales) scales = doubles(ctx.require_constant(kScales, "Resize scales"));
  if (has_sizes) sizes = ctx.require_constant(kSizes, "Resize sizes").to_int64_vector();
  const bool crop = a.coord == CoordMode::kTfCropAndResize;
  if (crop) roi = doubles(ctx.require_constant(kRoi, "Resize roi"));
  if (a.antialias) ctx.unsupported("antialiased Resize has no CUDA kernel yet");
  std::vector<AxisPlan> plan = plan_resize(ctx, a, x.dims, has_scales ? &scales : nullptr,
                                           has_sizes ? &sizes : nullptr, crop ? &roi : nullptr);
  DeviceTensor& y = ctx.alloc_output(0);
  if (y.numel() == 0) return;
  const int rank = x.rank();
  if (rank < 2) ctx.unsupported("Resize of rank < 2 has no CUDA kernel");
  std::vector<AxisTaps> taps;
  for (const AxisPlan& p : plan) taps.push_back(make_axis_taps(a, p));
  for (int i = 0; i < rank; ++i) {
    if (taps[size_t(i)].any_outside) ctx.unsupported("tf_crop_and_resize outside the input has no CUDA kernel");
    if (i < rank - 2 && !taps[size_t(i)].identity)
      ctx.unsupported("the CUDA Resize resizes only the last two axes");
  }
  const AxisTaps& th = taps[size_t(rank - 2)];
  const AxisTaps& tw = taps[size_t(rank - 1)];
  bool fresh = false;
  ResizeState& st = ctx.state<ResizeState>(&fresh);
  if (fresh) st.h = upload(th, ctx.stream()), st.w = upload(tw, ctx.stream());
  const DeviceTaps &dh = st.h, &dw = st.w;
  ResizeTaps2D t{dh.index.ptr<int32_t>(), dh.weight.ptr<float>(), dh.taps,
                 dw.index.ptr<int32_t>(), dw.weight.ptr<float>(), dw.taps};
  const int64_t planes = x.numel() / (th.in * tw.in);
  launch_resize_2d(x.dtype, x.data(), y.data(), planes, th.in, tw.in, th.out, tw.out, t, ctx.stream());
}

void grid_sample_cuda(CudaKernelContext& ctx) {
  ctx.require_dtype(0, {DType::kF32, DType::kF16});
  const DeviceTensor& x = ctx.input(0);
  const DeviceTensor& grid = ctx.input(1);
  if (grid.dtype != DType::kF32 && grid.dtype != DType::kF16) ctx.unsupported("grid must be float32 or float16");
  if (x.rank() != 4) ctx.unsupported("GridSample of rank other than 4 has no CUDA kernel yet");
  if (ctx.opset() < 16) ctx.unsupported("GridSample needs opset 16");
  const bool v20 = ctx.opset() >= 20;
  const std::string mode = ctx.attrs().get_string("mode", v20 ? "linear" : "bilinear");
  const std::string pad = ctx.attrs().get_string("padding_mode", "zeros");
  GridSampleArgs a;
  if (mode == "nearest") a.nearest = true;
  else if (mode != (v20 ? "linear" : "bilinear")) ctx.unsupported("GridSample mode '" + mode + "' has no CUDA kernel yet");
  if (pad == "border") a.padding = 1;
  else if (pad == "reflection") a.padding = 2;
  else if (pad != "zeros") ctx.invalid("padding_mode '" + pad + "' is not valid");
  a.align_corners = ctx.attrs().get_int("align_corners", 0) != 0;
  if (grid.rank() != 4 || grid.dims[3] != 2 || grid.dims[0] != x.dims[0]) ctx.invalid("grid must be [N, H_out, W_out, 2]");
  a.batch = x.dims[0], a.channels = x.dims[1], a.in_h = x.dims[2], a.in_w = x.dims[3];
  a.out_h = grid.dims[1], a.out_w = grid.dims[2];
  DeviceTensor& y = ctx.alloc_output(0);
  launch_grid_sample(x.dtype, grid.dtype, x.data(), grid.data(), y.data(), a, ctx.stream());
}

}  // namespace kiln::spatial
