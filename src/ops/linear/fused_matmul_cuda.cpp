// kiln.FusedMatMul on the GPU: one cuBLASLt GEMM over A's rows folded into M, with as much of
// the epilogue inside it as cuBLASLt computes exactly as the graph says:
//
//   activation   residual   cuBLASLt epilogue                  then, in place over Y
//   none         no / yes   BIAS (residual as C, beta = 1)     —
//   relu         no         RELU_BIAS                          —
//   gelu_tanh    no         GELU_BIAS (tanh form)              —
//   gelu         no         BIAS                               gelu
//   any          yes        BIAS                               act(·) + residual
//
// cuBLASLt adds beta·C before its activation, so a residual that follows an activation cannot
// ride in C; and its GELU is the tanh form, so exact (erf) GELU runs in epilogue.cu. Where
// cuBLASLt has no algorithm for an epilogue, a plain GEMM and one epilogue pass do it all.
// Mixed nodes (fp16 A and W; fp32 bias, residual and Y) run the same way with an fp32 C/D.
#include "ops/linear/linear_cuda.h"
#include "ops/linear/linear_ops.h"
#include "runtime/cuda/cuda_kernel_context.h"

namespace kiln::linear {

void fused_matmul_cuda(CudaKernelContext& ctx) {
  ctx.require_dtype(0, {DType::kF32, DType::kF16});
  const DeviceTensor& a = ctx.input(0);
  const DeviceTensor& w = ctx.input(1);
  const DeviceTensor& bias = ctx.input(2);
  const DeviceTensor* res = ctx.has_input(3) ? &ctx.input(3) : nullptr;
  const bool mixed = a.dtype == DType::kF16 && bias.dtype == DType::kF32;
  if (w.dtype != a.dtype || (bias.dtype != a.dtype && !mixed) || (res && res->dtype != bias.dtype))
    ctx.invalid("inputs have different types");
  if (a.rank() < 2 || w.rank() != 2 || bias.rank() != 1) ctx.invalid("A must have rank >= 2, W 2-D and bias 1-D");
  const int64_t k = w.dims[0], n = w.dims[1];
  if (k == 0 || a.dims.back() != k || bias.dims[0] != n)
    ctx.invalid("shapes do not match: A " + dims_to_string(a.dims) + ", W " + dims_to_string(w.dims) + ", bias " +
                dims_to_string(bias.dims));
  Dims od = a.dims;
  od.back() = n;
  if (res && res->dims != od)
    ctx.invalid("residual " + dims_to_string(res->dims) + " must have the output's shape " + dims_to_string(od));
  const EpilogueActivation act = epilogue_activation(ctx);
  DeviceTensor& y = ctx.alloc_output(0);
  if (y.numel() == 0) return;

  GemmCall g;
  g.dtype = a.dtype;
  g.out_dtype = y.dtype;
  g.m = a.numel() / k, g.n = n, g.k = k;
  g.lda = k, g.ldb = n, g.ldc = n;
  g.a = a.data(), g.b = w.data(), g.c = y.data();
  g.bias = bias.data();
  EpilogueActivation rest = act;         // left for the epilogue pass
  const void* rest_residual = res ? res->data() : nullptr;
  g.epilogue = GemmEpilogue::kBias;
  if (act == EpilogueActivation::kNone && res) {
    g.c = res->data();  // only read: D is y
    g.d = y.data();
    g.beta = 1.f;
    rest_residual = nullptr;
  } else if (!res && act == EpilogueActivation::kRelu) {
    g.epilogue = GemmEpilogue::kReluBias;
    rest = EpilogueActivation::kNone;
  } else if (!res && act == EpilogueActivation::kGeluTanh) {
    g.epilogue = GemmEpilogue::kGeluTanhBias;
    rest = EpilogueActivation::kNone;
  }
  if (gemm_lt_epilogue(ctx.session, g)) {
    ctx.library = "cuBLASLt";
    if (rest != EpilogueActivation::kNone || rest_residual) {
      ctx.library = "cuBLASLt+kiln";
      launch_epilogue(rest, y.dtype, y.data(), nullptr, rest_residual, g.m, n, ctx.stream());
    }
    return;
  }
  ctx.library = "cuBLASLt+kiln";
  GemmCall plain = g;
  plain.epilogue = GemmEpilogue::kNone;
  plain.bias = nullptr;
  plain.c = y.data(), plain.d = nullptr, plain.beta = 0.f;
  gemm_lt(ctx.session, plain);
  launch_epilogue(act, y.dtype, y.data(), bias.data(), res ? res->data() : nullptr, g.m, n, ctx.stream());
}

}  // namespace kiln::linear
