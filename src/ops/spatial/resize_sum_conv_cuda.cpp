// Host side of ResizeSumConv on the GPU: the CPU reference's checks, ResizeSum's input plan
// (resize_sum_inputs) behind the conv's own shared memory, then the fused kernel
// (resize_sum_conv.cu) for the float16 widths resize_sum_conv_fits names — the only ones
// fuse_resize_sum_conv makes.
#include <string>

#include "ops/spatial/resize_sum_conv.h"
#include "ops/spatial/resize_sum_conv_launch.h"
#include "ops/spatial/resize_sum_cuda.h"
#include "ops/spatial/spatial_cuda.h"
#include "runtime/cuda/cuda_kernel_context.h"

namespace kiln::spatial {

void resize_sum_conv_cuda(CudaKernelContext& ctx) {
  const size_t n = ctx.num_inputs();
  std::vector<ValueType> types;
  std::vector<Dims> dims;
  for (size_t i = 0; i < n; ++i) {
    types.push_back({ctx.input(i).dtype, shape_of(ctx.input(i).dims)});
    dims.push_back(ctx.input(i).dims);
  }
  resize_sum_conv_type(ctx, types);
  const ResizeSumPlan plan = plan_resize_sum_conv(ctx, dims);
  const DeviceTensor& w = ctx.input(n - 2);
  const DeviceTensor& b = ctx.input(n - 1);
  const int64_t classes = w.dims[0];
  if (ctx.input(0).dtype != DType::kF16 || !resize_sum_conv_fits(plan.channels, classes))
    ctx.unsupported("a ResizeSumConv of " + std::string(dtype_name(ctx.input(0).dtype)) + " with " +
                    std::to_string(plan.channels) + " channels and " + std::to_string(classes) +
                    " outputs has no CUDA kernel (float16, channels a multiple of 64, at most 160 outputs)");
  if ((reinterpret_cast<uintptr_t>(w.data()) & 15) != 0) ctx.unsupported("W is not 16-byte aligned");
  ResizeSumConvParams p;
  p.nt = int(resize_sum_conv_nt(classes));
  p.a_off = 0, p.w_off = int(kResizeSumConvATileBytes);
  p.sum = resize_sum_inputs(ctx, plan, kResizeSumConvATileBytes + resize_sum_conv_w_bytes(p.nt), kResizeSumConvSmemLimit);
  DeviceTensor& y = ctx.alloc_output(0);
  if (y.numel() == 0) return;
  p.w = w.data(), p.bias = b.data(), p.y = y.data();
  p.classes = int(classes);
  p.bias_f32 = b.dtype == DType::kF32, p.y_f32 = y.dtype == DType::kF32;
  launch_resize_sum_conv(p, ctx.stream());
}

}  // namespace kiln::spatial
