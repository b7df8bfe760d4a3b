// Host side of the elementwise CUDA kernels: dtype checks, broadcast layouts, launches.
#include "ops/elementwise/elementwise_cuda.h"

#include "ops/op_util.h"
#include "runtime/cuda/cuda_kernel_context.h"

namespace kiln::ew {
namespace {

void binary(CudaKernelContext& ctx, CudaBinary op) {
  const DeviceTensor& a = ctx.input(0);
  const DeviceTensor& b = ctx.input(1);
  if (op == CudaBinary::kPow) {
    ctx.require_dtype(0, {DType::kF32, DType::kF16});
    if (b.dtype != a.dtype) ctx.unsupported("Pow with exponent of another type has no CUDA kernel");
  } else {
    ctx.require_dtype(0, {DType::kF32, DType::kF16, DType::kI32, DType::kI64});
  }
  if (b.dtype != a.dtype) ctx.invalid("inputs have different types");
  DeviceTensor& out = ctx.alloc_output(0);
  if (out.numel() == 0) return;
  const Dims& od = out.dims;
  cuda::StridedLayout l = cuda::make_layout(
      od, {contiguous_strides(od), broadcast_strides(a.dims, od), broadcast_strides(b.dims, od)});
  launch_binary(op, a.dtype, a.data(), b.data(), out.data(), l, ctx.stream());
}

void unary(CudaKernelContext& ctx, CudaUnary op) {
  ctx.require_dtype(0, {DType::kF32, DType::kF16});
  DeviceTensor& out = ctx.alloc_output(0);
  launch_unary(op, out.dtype, ctx.input(0).data(), out.data(), out.numel(), ctx.stream());
}

void compare(CudaKernelContext& ctx, CudaCompare op) {
  const DeviceTensor& a = ctx.input(0);
  const DeviceTensor& b = ctx.input(1);
  if (op >= CudaCompare::kAnd) ctx.require_dtype(0, {DType::kBool});
  else ctx.require_dtype(0, {DType::kF32, DType::kF16, DType::kI64, DType::kI32, DType::kI8, DType::kU8, DType::kBool});
  if (b.dtype != a.dtype) ctx.invalid("inputs have different types");
  DeviceTensor& out = ctx.alloc_output(0);
  if (out.numel() == 0) return;
  const Dims& od = out.dims;
  cuda::StridedLayout l = cuda::make_layout(
      od, {contiguous_strides(od), broadcast_strides(a.dims, od), broadcast_strides(b.dims, od)});
  launch_compare(op, a.dtype, a.data(), b.data(), out.ptr<bool>(), l, ctx.stream());
}

}  // namespace

void equal_cuda(CudaKernelContext& ctx) { compare(ctx, CudaCompare::kEqual); }
void less_cuda(CudaKernelContext& ctx) { compare(ctx, CudaCompare::kLess); }
void greater_cuda(CudaKernelContext& ctx) { compare(ctx, CudaCompare::kGreater); }
void less_or_equal_cuda(CudaKernelContext& ctx) { compare(ctx, CudaCompare::kLessOrEqual); }
void greater_or_equal_cuda(CudaKernelContext& ctx) { compare(ctx, CudaCompare::kGreaterOrEqual); }
void and_cuda(CudaKernelContext& ctx) { compare(ctx, CudaCompare::kAnd); }
void or_cuda(CudaKernelContext& ctx) { compare(ctx, CudaCompare::kOr); }
void xor_cuda(CudaKernelContext& ctx) { compare(ctx, CudaCompare::kXor); }

void not_cuda(CudaKernelContext& ctx) {
  ctx.require_dtype(0, {DType::kBool});
  DeviceTensor& out = ctx.alloc_output(0);
  launch_not(ctx.input(0).ptr<bool>(), out.ptr<bool>(), out.numel(), ctx.stream());
}

void where_cuda(CudaKernelContext& ctx) {
  ctx.require_dtype(0, {DType::kBool});
  const DeviceTensor& c = ctx.input(0);
  const DeviceTensor& x = ctx.input(1);
  const DeviceTensor& y = ctx.input(2);
  if (x.dtype != y.dtype) ctx.invalid("X and Y have different types");
  DeviceTensor& out = ctx.alloc_output(0);
  if (out.numel() == 0) return;
  const Dims& od = out.dims;
  cuda::StridedLayout l = cuda::make_layout(od, {contiguous_strides(od), broadcast_strides(c.dims, od),
                                                 broadcast_strides(x.dims, od), broadcast_strides(y.dims, od)});
  launch_where(c.ptr<bool>(), x.data(), y.data(), out.data(), dtype_size(x.dtype), l, ctx.stream());
}

void add_cuda(CudaKernelContext& ctx) { binary(ctx, CudaBinary::kAdd); }
void sub_cuda(CudaKernelContext& ctx) { binary(ctx, CudaBinary::kSub); }
void mul_cuda(CudaKernelContext& ctx) { binary(ctx, CudaBinary::kMul); }
void div_cuda(CudaKernelContext& ctx) { binary(ctx, CudaBinary::kDiv); }
void pow_cuda(CudaKernelContext& ctx) { binary(ctx, CudaBinary::kPow); }
void relu_cuda(CudaKernelContext& ctx) { unary(ctx, CudaUnary::kRelu); }
void sqrt_cuda(CudaKernelContext& ctx) { unary(ctx, CudaUnary::kSqrt); }
void erf_cuda(CudaKernelContext& ctx) { unary(ctx, CudaUnary::kErf); }
void sigmoid_cuda(CudaKernelContext& ctx) { unary(ctx, CudaUnary::kSigmoid); }
void tanh_cuda(CudaKernelContext& ctx) { unary(ctx, CudaUnary::kTanh); }
void exp_cuda(CudaKernelContext& ctx) { unary(ctx, CudaUnary::kExp); }
void log_cuda(CudaKernelContext& ctx) { unary(ctx, CudaUnary::kLog); }
void neg_cuda(CudaKernelContext& ctx) { unary(ctx, CudaUnary::kNeg); }
void abs_cuda(CudaKernelContext& ctx) { unary(ctx, CudaUnary::kAbs); }
void sin_cuda(CudaKernelContext& ctx) { unary(ctx, CudaUnary::kSin); }
void cos_cuda(CudaKernelContext& ctx) { unary(ctx, CudaUnary::kCos); }
void reciprocal_cuda(CudaKernelContext& ctx) { unary(ctx, CudaUnary::kReciprocal); }
void floor_cuda(CudaKernelContext& ctx) { unary(ctx, CudaUnary::kFloor); }
void ceil_cuda(CudaKernelContext& ctx) { unary(ctx, CudaUnary::kCeil); }

void gelu_cuda(CudaKernelContext& ctx) {
  const std::string mode = ctx.attrs().get_string("approximate", "none");
  if (mode != "none" && mode != "tanh")
    ctx.invalid("approximate must be \"none\" or \"tanh\", not \"" + mode + "\"");
  unary(ctx, mode == "tanh" ? CudaUnary::kGeluTanh : CudaUnary::kGelu);
}

void cast_cuda(CudaKernelContext& ctx) {
  ctx.require_dtype(0, {DType::kF32, DType::kF16, DType::kF64, DType::kI64, DType::kI32, DType::kI8,
                        DType::kU8, DType::kBool});
  DType to = ctx.output_dtype(0);
  if (to == DType::kBF16) ctx.unsupported("Cast to bfloat16 has no CUDA kernel");
  const DeviceTensor& in = ctx.input(0);
  if (in.dtype == to) {
    ctx.set_output(0, in);
    return;
  }
  DeviceTensor& out = ctx.alloc_output(0);
  launch_cast(in.dtype, to, in.data(), out.data(), out.numel(), ctx.stream());
}

}  // namespace kiln::ew
