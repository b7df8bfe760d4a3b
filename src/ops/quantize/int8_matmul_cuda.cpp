// kiln.Int8MatMul on the GPU, three launches:
//   1. X → int8 rows xq [M, Kp] (int8_rows.cu), Kp = K rounded up to 16, zeros beyond K;
//   2. acc [M, Np] = xq · Wᵀ in exact int32 on cuBLASLt's int8 tensor cores (int8_gemm_lt_cuda.cpp),
//      Np = N rounded up to 16 — or, where cuBLASLt has no int8 algorithm, the dp4a kernel
//      (int8_gemm_dp4a.cu): never a float GEMM;
//   3. the float epilogue into Y (int8_epilogue.cu).
// Where K or N is not a multiple of 16 (or W's device copy is not 16-byte aligned), a zero-padded
// copy of W [Np, Kp] is made once per node (its state); W must therefore be a constant.
#include <algorithm>
#include <cstring>

#include "ops/linear/linear_ops.h"
#include "ops/quantize/int8_matmul.h"
#include "ops/quantize/quantize_cuda.h"
#include "ops/quantize/quantize_kernels.h"
#include "runtime/cuda/cuda_kernel_context.h"
#include "runtime/cuda/kernel_state.h"

namespace kiln::quant {
namespace {

struct Int8MatMulState : KernelState {
  DeviceTensor padded_w;  // W [Np, Kp] with zeros, when W itself cannot be used
};

Tensor padded_weight(const Tensor& w, int64_t np, int64_t kp) {
  const int64_t n = w.dim(0), k = w.dim(1);
  std::vector<int8_t> v(size_t(np * kp), 0);
  for (int64_t r = 0; r < n; ++r) std::memcpy(&v[size_t(r * kp)], w.data<int8_t>() + r * k, size_t(k));
  return Tensor::from_vector<int8_t>({np, kp}, v);
}

}  // namespace

void int8_matmul_cuda(CudaKernelContext& ctx) {
  const DeviceTensor& x = ctx.input(0);
  const DeviceTensor& w = ctx.input(2);
  const DeviceTensor& ws = ctx.input(3);
  const std::optional<Int8Operand> bias = int8_operand_if(ctx, 4), res = int8_operand_if(ctx, 5);
  const Int8MatMulProblem p = int8_matmul_problem(ctx, {x.dtype, x.dims}, {ctx.input(1).dtype, ctx.input(1).dims},
                                                  {w.dtype, w.dims}, {ws.dtype, ws.dims}, bias, res);
  const Tensor& host_w = ctx.require_constant(2, "W");
  const linear::EpilogueActivation act = linear::epilogue_activation(ctx);
  DeviceTensor& y = ctx.alloc_output(0);
  if (y.numel() == 0) return;
  const int64_t kp = int8_padded(p.k), np = int8_padded(p.n);

  const int8_t* wt = w.ptr<int8_t>();
  if (kp != p.k || np != p.n || (reinterpret_cast<uintptr_t>(wt) & 15)) {
    bool fresh = false;
    Int8MatMulState& st = ctx.state<Int8MatMulState>(&fresh);
    if (fresh) st.padded_w = to_device(padded_weight(host_w, np, kp), ctx.stream());
    wt = st.padded_w.ptr<int8_t>();
  }
  // Scratch lives in these locals until the launches below are queued.
  DeviceTensor xq = ctx.scratch(DType::kI8, {p.m, kp});
  DeviceTensor acc = ctx.scratch(DType::kI32, {p.m, np});
  launch_quantize_rows(x.dtype, x.data(), ctx.input(1).ptr<float>(), xq.ptr<int8_t>(), p.m, p.k, kp, ctx.stream());
  if (int8_gemm_lt(ctx.session, xq.ptr<int8_t>(), wt, acc.ptr<int32_t>(), p.m, np, kp)) {
    ctx.library = "kiln+cuBLASLt";
  } else {
    if ((np + 15) / 16 > 65535) ctx.unsupported("N = " + std::to_string(p.n) + " is beyond the int8 fallback kernel's grid (cuBLASLt has no int8 algorithm for it)");
    launch_int8_gemm_dp4a(xq.ptr<int8_t>(), wt, acc.ptr<int32_t>(), p.m, np, kp, ctx.stream());
    ctx.library = "kiln";
  }
  Int8EpilogueCall e;
  e.acc = acc.ptr<int32_t>(), e.ldacc = np;
  e.x_scale = ctx.input(1).ptr<float>(), e.w_scale = ws.ptr<float>(), e.per_channel = p.per_channel;
  e.bias = bias ? ctx.input(4).data() : nullptr;
  e.residual = res ? ctx.input(5).data() : nullptr;
  e.y = y.data(), e.y_type = y.dtype;
  e.m = p.m, e.n = p.n, e.act = act;
  launch_int8_epilogue(e, ctx.stream());
}

}  // namespace kiln::quant
