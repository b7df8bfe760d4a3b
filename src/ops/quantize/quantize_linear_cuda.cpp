// QuantizeLinear / DequantizeLinear on the GPU (kernels in quantize_linear.cu and
// dequantize_linear.cu): the CPU reference's parameter checks (quant_params.h) on the concrete
// shapes, then one elementwise pass. bfloat16 has no kernel here.
#include "ops/quantize/quant_params.h"
#include "ops/quantize/quantize_cuda.h"
#include "ops/quantize/quantize_kernels.h"
#include "runtime/cuda/cuda_kernel_context.h"

namespace kiln::quant {
namespace {

// The call's tensors and axis walk, checked as the reference checks them.
QdqCall qdq_call(CudaKernelContext& ctx) {
  const DeviceTensor& x = ctx.input(0);
  const DeviceTensor& s = ctx.input(1);
  const DeviceTensor* z = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  if (s.dtype != DType::kF32 && s.dtype != DType::kF16)
    ctx.unsupported(std::string("a ") + dtype_name(s.dtype) + " scale has no CUDA kernel (run with --device cpu)");
  Shape xs = shape_of(x.dims), ss = shape_of(s.dims), zs = z ? shape_of(z->dims) : Shape();
  const int axis = param_axis(ctx, &xs, &ss, z ? &zs : nullptr);
  const AxisWalk walk(x.dims, axis);
  if (s.numel() == 0) ctx.invalid("scale is empty");
  QdqCall c;
  c.x = x.data(), c.scale = s.data(), c.zero = z ? z->data() : nullptr;
  c.x_type = x.dtype, c.scale_type = s.dtype;
  c.n = x.numel(), c.inner = walk.inner, c.count = walk.count;
  return c;
}

}  // namespace

void quantize_linear_cuda(CudaKernelContext& ctx) {
  ctx.require_dtype(0, {DType::kF32, DType::kF16, DType::kI32});
  QdqCall c = qdq_call(ctx);
  const bool int_x = c.x_type == DType::kI32;
  if (int_x ? c.scale_type != DType::kF32 : c.scale_type != c.x_type)
    ctx.invalid(std::string("x is ") + dtype_name(c.x_type) + " but scale is " + dtype_name(c.scale_type));
  c.y_type = ctx.output_dtype(0);
  if (c.y_type != DType::kI8 && c.y_type != DType::kU8)
    ctx.unsupported(std::string("y is ") + dtype_name(c.y_type) + "; kiln quantizes to int8 or uint8");
  if (ctx.has_input(2) && ctx.input(2).dtype != c.y_type) ctx.invalid("zero point is not y's type");
  DeviceTensor& y = ctx.alloc_output(0);
  c.y = y.data();
  launch_quantize_linear(c, ctx.stream());
}

void dequantize_linear_cuda(CudaKernelContext& ctx) {
  ctx.require_dtype(0, {DType::kI8, DType::kU8, DType::kI32});
  QdqCall c = qdq_call(ctx);
  if (ctx.has_input(2) && ctx.input(2).dtype != c.x_type)
    ctx.invalid(std::string("zero point is ") + dtype_name(ctx.input(2).dtype) + " but x is " + dtype_name(c.x_type));
  c.y_type = c.scale_type;
  DeviceTensor& y = ctx.alloc_output(0);
  c.y = y.data();
  launch_dequantize_linear(c, ctx.stream());
}

}  // namespace kiln::quant
