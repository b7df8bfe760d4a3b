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
//
// transpose_output (Y [..., N, M], no residual): one strided-batched GEMM per batch item whose D
// cuBLASLt stores in row order, the bias and activation in its epilogue as above; where it has
// no algorithm for that, the product of the swapped operands (column-major Yᵀ) and one epilogue
// pass with a per-row bias.
#include "ops/linear/linear_cuda.h"
#include "ops/linear/linear_ops.h"
#include "runtime/cuda/cuda_kernel_context.h"

namespace kiln::linear {
namespace {

// Y [..., N, M] = act(A·W + bias)ᵀ per batch item (A [..., M, K], W [K, N]).
void transposed_output(CudaKernelContext& ctx, const DeviceTensor& a, const DeviceTensor& w, const DeviceTensor& bias,
                       EpilogueActivation act, DeviceTensor& y) {
  const int64_t k = w.dims[0], n = w.dims[1], m = a.dims[a.rank() - 2];
  const int64_t batch = a.numel() / (m * k);
  GemmCall g;
  g.dtype = a.dtype;
  g.out_dtype = y.dtype;
  g.m = m, g.n = n, g.k = k, g.batch = batch;
  g.a = a.data(), g.lda = k, g.stride_a = m * k;
  g.b = w.data(), g.ldb = n, g.stride_b = 0;
  g.c = y.data(), g.ldc = m, g.stride_c = n * m;
  g.trans_out = true;
  g.bias = bias.data();
  g.epilogue = act == EpilogueActivation::kRelu       ? GemmEpilogue::kReluBias
               : act == EpilogueActivation::kGeluTanh ? GemmEpilogue::kGeluTanhBias
                                                      : GemmEpilogue::kBias;
  const bool act_left = act == EpilogueActivation::kGelu;  // erf GELU: after the GEMM
  if (gemm_lt_epilogue(ctx.session, g)) {
    ctx.library = act_left ? "cuBLASLt+kiln" : "cuBLASLt";
    if (act_left) launch_epilogue(act, y.dtype, y.data(), nullptr, nullptr, batch * n, m, ctx.stream());
    return;
  }
  // Column-major Yᵀ [M, N] per item = Aᵀ-stored-as-rows times W: as a row-major [N, M] product,
  // op(Wstorage)ᵀ [N, K] · op(Astorage)ᵀ [K, M].
  GemmCall s;
  s.dtype = a.dtype;
  s.out_dtype = y.dtype;
  s.trans_a = s.trans_b = true;
  s.m = n, s.n = m, s.k = k, s.batch = batch;
  s.a = w.data(), s.lda = n, s.stride_a = 0;
  s.b = a.data(), s.ldb = k, s.stride_b = m * k;
  s.c = y.data(), s.ldc = m, s.stride_c = n * m;
  gemm_lt(ctx.session, s);
  ctx.library = "cuBLASLt+kiln";
  launch_epilogue_row_bias(act, y.dtype, y.data(), bias.data(), batch * n, m, n, ctx.stream());
}

}  // namespace

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
  const bool transposed = fused_matmul_transposes_output(ctx, res != nullptr);
  DeviceTensor& y = ctx.alloc_output(0);
  if (y.numel() == 0) return;
  if (transposed) {
    transposed_output(ctx, a, w, bias, act, y);
    return;
  }

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
