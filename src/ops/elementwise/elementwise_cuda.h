// CUDA kernels of the elementwise family: binary arithmetic with broadcasting, unary math and
// activations, Cast. Host launchers (elementwise_cuda.cpp) build broadcast layouts; the kernels
// live in binary.cu, unary.cu and cast.cu. fp32 and fp16 (math in fp32); integer arithmetic
// for Add/Sub/Mul/Div on int32/int64.
#pragma once
#include "ir/dtype.h"
#include "ops/op.h"
#include "runtime/cuda/device_tensor.h"
#include "runtime/cuda/strided_layout.h"

namespace kiln::ew {

enum class CudaBinary { kAdd, kSub, kMul, kDiv, kPow };
enum class CudaUnary { kRelu, kSqrt, kErf, kSigmoid, kTanh, kExp, kLog, kNeg, kAbs, kSin, kCos,
                       kReciprocal, kFloor, kCeil, kGelu, kGeluTanh };

// out = a op b over layout (operand 0 out, 1 a, 2 b), all of dtype dt.
void launch_binary(CudaBinary op, DType dt, const void* a, const void* b, void* out,
                   const cuda::StridedLayout& layout, CudaStream stream);
// out[i] = op(in[i]) over n contiguous elements of dtype dt (f32/f16).
void launch_unary(CudaUnary op, DType dt, const void* in, void* out, int64_t n, CudaStream stream);
enum class CudaCompare { kEqual, kLess, kGreater, kLessOrEqual, kGreaterOrEqual, kAnd, kOr, kXor };
// bool out = a op b over layout (operand 0 out, 1 a, 2 b); a and b of dtype dt.
void launch_compare(CudaCompare op, DType dt, const void* a, const void* b, bool* out,
                    const cuda::StridedLayout& layout, CudaStream stream);
void launch_not(const bool* in, bool* out, int64_t n, CudaStream stream);
// out = cond ? x : y over layout (operands out, cond, x, y); elements of elem_size bytes.
void launch_where(const bool* cond, const void* x, const void* y, void* out, size_t elem_size,
                  const cuda::StridedLayout& layout, CudaStream stream);
// out[i] = (to) in[i] over n elements.
void launch_cast(DType from, DType to, const void* in, void* out, int64_t n, CudaStream stream);

void add_cuda(CudaKernelContext& ctx);
void sub_cuda(CudaKernelContext& ctx);
void mul_cuda(CudaKernelContext& ctx);
void div_cuda(CudaKernelContext& ctx);
void pow_cuda(CudaKernelContext& ctx);
void relu_cuda(CudaKernelContext& ctx);
void sqrt_cuda(CudaKernelContext& ctx);
void erf_cuda(CudaKernelContext& ctx);
void sigmoid_cuda(CudaKernelContext& ctx);
void tanh_cuda(CudaKernelContext& ctx);
void exp_cuda(CudaKernelContext& ctx);
void log_cuda(CudaKernelContext& ctx);
void neg_cuda(CudaKernelContext& ctx);
void abs_cuda(CudaKernelContext& ctx);
void sin_cuda(CudaKernelContext& ctx);
void cos_cuda(CudaKernelContext& ctx);
void reciprocal_cuda(CudaKernelContext& ctx);
void floor_cuda(CudaKernelContext& ctx);
void ceil_cuda(CudaKernelContext& ctx);
void gelu_cuda(CudaKernelContext& ctx);  // approximate none (erf) or tanh
void cast_cuda(CudaKernelContext& ctx);
void equal_cuda(CudaKernelContext& ctx);
void less_cuda(CudaKernelContext& ctx);
void greater_cuda(CudaKernelContext& ctx);
void less_or_equal_cuda(CudaKernelContext& ctx);
void greater_or_equal_cuda(CudaKernelContext& ctx);
void and_cuda(CudaKernelContext& ctx);
void or_cuda(CudaKernelContext& ctx);
void xor_cuda(CudaKernelContext& ctx);
void not_cuda(CudaKernelContext& ctx);
void where_cuda(CudaKernelContext& ctx);

// kiln.Pointwise: the program's generated kernel (pointwise_cuda.cpp).
void pointwise_cuda(CudaKernelContext& ctx);

}  // namespace kiln::ew
