// Host side of ResizeSumPointwiseConv on the GPU. fp16 images with C a multiple of 8 and a
// 16-byte aligned W run the fused tensor-core kernel (resize_sum_pointwise_conv.cu). Anything
// else — fp32 engines above all — runs what the unfused graph runs: ResizeSum's kernel into
// node scratch, the 1x1 Conv's per-image cuBLASLt GEMM and its bias pass, so the result is the
// unfused one exactly (the simplest correct choice: fp32 SegFormer engines are not the target).
#include <cstdint>
#include <string>

#include "ops/conv/channel_epilogue.h"
#include "ops/conv/conv_paths_cuda.h"
#include "ops/spatial/resize_sum_params.h"
#include "ops/spatial/resize_sum_pointwise_conv.h"
#include "ops/spatial/resize_sum_pointwise_conv_launch.h"
#include "ops/spatial/spatial_cuda.h"

namespace kiln::spatial {
namespace {

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

// Taps of a ResizeSum input that is already at the output size: the pixel itself.
bool identity_taps(const ResizeSumInput& in) {
  for (const AxisTaps* t : {&in.rows, &in.cols}) {
    if (t->taps != 2) return false;
    for (size_t o = 0; o * 2 < t->index.size(); ++o)
      if (t->index[2 * o] != int64_t(o) || t->weight[2 * o] != 1.0 || t->weight[2 * o + 1] != 0.0) return false;
  }
  return true;
}

}  // namespace

void resize_sum_pointwise_conv_cuda(CudaKernelContext& ctx) {
  const size_t first = kResizeSumConvFirstImage;
  if (ctx.num_inputs() <= first) ctx.invalid("takes W, B and at least one image");
  ctx.require_dtype(first, {DType::kF32, DType::kF16});
  const DType dt = ctx.input(first).dtype;
  std::vector<Dims> dims;
  std::vector<const DeviceTensor*> xs;
  for (size_t i = first; i < ctx.num_inputs(); ++i) {
    if (ctx.input(i).dtype != dt) ctx.invalid("images of different dtypes");
    dims.push_back(ctx.input(i).dims);
    xs.push_back(&ctx.input(i));
  }
  const ResizeSumPlan plan = plan_resize_sum(ctx, dims);
  const DeviceTensor& w = ctx.input(kResizeSumConvWeight);
  const DeviceTensor* b = ctx.has_input(kResizeSumConvBias) ? &ctx.input(kResizeSumConvBias) : nullptr;
  if (w.dtype != dt || w.rank() != 2 || w.dims[1] != plan.channels)
    ctx.invalid("W must be [Co, " + std::to_string(plan.channels) + "] in the images' type");
  const int64_t co = w.dims[0];
  if (b && (b->numel() != co || (b->dtype != dt && !(dt == DType::kF16 && b->dtype == DType::kF32))))
    ctx.invalid("B must hold one value per output channel, in the images' type or float32 for float16 images");
  const int64_t pixels = plan.height * plan.width;
  ResizeSumParams sum = resize_sum_params(ctx, plan, xs, plan.batch * co * pixels, ctx.state<ResizeSumTaps>());
  DeviceTensor& y = ctx.alloc_output(0);
  if (y.numel() == 0) return;

  if (dt == DType::kF16 && plan.channels % 8 == 0 && aligned16(w.data()) &&
      resize_sum_conv_pixel_tiles(plan.batch, plan.height, plan.width) < (int64_t(1) << 31) &&
      (co + kResizeSumConvTileN - 1) / kResizeSumConvTileN < 65536) {
    ResizeSumConvParams p;
    p.sum = sum;
    p.w = w.data();
    p.b = b ? b->data() : nullptr;
    p.b_f32 = b && b->dtype == DType::kF32;
    p.y = y.data();
    p.y_f32 = y.dtype == DType::kF32;
    p.co = int(co);
    p.vec_store = pixels % 4 == 0 && aligned16(p.y);
    for (size_t i = 0; i < plan.inputs.size(); ++i) p.identity[i] = identity_taps(plan.inputs[i]);
    launch_resize_sum_conv_f16(p, ctx.stream());
    ctx.library = "kiln";
    return;
  }
  // The unfused pair: h in scratch, then Y[n] = W · h[n] per image and the bias.
  DeviceTensor h = ctx.scratch(dt, {plan.batch, plan.channels, plan.height, plan.width});
  sum.y = h.data();
  sum.vec_store = plan.width % (16 / int64_t(dtype_size(dt))) == 0 && aligned16(sum.y);
  launch_resize_sum(dt, sum, ctx.stream());
  conv::conv_as_gemm(ctx, w, h.data(), plan.channels, pixels, plan.batch, y);
  if (b)
    conv::launch_channel_epilogue(y.dtype, y.data(), b->data(), nullptr, linear::EpilogueActivation::kNone,
                                  plan.batch * co, co, pixels, ctx.stream());
  ctx.library = "kiln+cuBLASLt";
}

}  // namespace kiln::spatial
