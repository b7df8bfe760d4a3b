// Host side of DepthwiseConvNHWC on the GPU: the geometry the CPU reference uses
// (depthwise_nhwc_shape) into the launcher's plain parameters, with the 32-bit index limits the
// kernels rely on.
#include <string>

#include "ops/conv/conv_cuda.h"
#include "ops/conv/depthwise_nhwc.h"
#include "ops/conv/depthwise_nhwc_launch.h"
#include "ops/linear/linear_ops.h"
#include "runtime/cuda/cuda_kernel_context.h"

namespace kiln::conv {

void depthwise_nhwc_cuda(CudaKernelContext& ctx) {
  ctx.require_dtype(0, {DType::kF32, DType::kF16});
  const DeviceTensor& x = ctx.input(0);
  const DeviceTensor& w = ctx.input(1);
  const DeviceTensor* b = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  if (w.dtype != x.dtype || (b && b->dtype != x.dtype)) ctx.invalid("X, W and B dtypes differ");
  const Shape bs = b ? shape_of(b->dims) : Shape();
  std::vector<Axis> axes;
  depthwise_nhwc_shape(ctx, shape_of(x.dims), shape_of(w.dims), b ? &bs : nullptr, &axes);
  const Axis &h = axes[0], &v = axes[1];
  // Limits that keep every index of a launch in 32 bits, padded and dilated ones included.
  constexpr int64_t kLimit = int64_t(1) << 30;
  const int64_t y_numel = x.dims[0] * h.out * v.out * x.dims[2];
  for (int64_t e : {x.numel(), y_numel, w.numel(), h.in + h.pb + h.pe, v.in + v.pb + v.pe, h.extent(), v.extent()})
    if (e >= kLimit)
      ctx.unsupported("a DepthwiseConvNHWC with " + std::to_string(e) + " elements in one extent has no CUDA kernel");
  DeviceTensor& y = ctx.alloc_output(0);
  DepthwiseNhwcParams p;
  p.x = x.data(), p.w = w.data(), p.b = b ? b->data() : nullptr, p.y = y.data();
  p.batch = int(x.dims[0]), p.channels = int(x.dims[2]);
  p.in_h = int(h.in), p.in_w = int(v.in), p.out_h = int(h.out), p.out_w = int(v.out);
  p.k_h = int(h.k), p.k_w = int(v.k), p.s_h = int(h.s), p.s_w = int(v.s), p.d_h = int(h.d), p.d_w = int(v.d);
  p.p_h = int(h.pb), p.p_w = int(v.pb);
  p.act = linear::epilogue_activation(ctx);
  launch_depthwise_nhwc(x.dtype, p, ctx.stream());
}

}  // namespace kiln::conv
