// kiln.FusedMatMul: what fuse_matmul_epilogue makes of MatMul → Add(bias) → [Relu | Gelu] →
// [Add(residual)]:
//
//   Y = act(A · W + bias) [+ residual]
//
// A [..., M, K] (rank ≥ 2), W [K, N], bias [N], residual [..., M, N] (Y's shape: no
// broadcasting), all of one float dtype — or, in fp16 engines (convert_precision.h), A and W
// float16 with bias, residual and Y float32: fp16 operands, the sum kept in float32. Y has
// bias's type. The CPU reference is MatMul's GEMM (gemm_kernels) on A's rows folded into one
// tall product, then the epilogue in float (double for f64); f16/bf16 round once, at the end.
#include <algorithm>
#include <optional>

#include "ops/linear/gemm_kernels.h"
#include "ops/linear/linear_ops.h"
#include "ops/op_util.h"

namespace kiln::linear {
namespace {

constexpr std::initializer_list<DType> kTypes = {DType::kF32, DType::kF64, DType::kF16, DType::kBF16};

// y[r, j] = act(y[r, j] + bias[j]) (+ residual[r, j]) over m rows of n.
template <class C>
void epilogue(C* y, const C* bias, const C* residual, int64_t m, int64_t n, EpilogueActivation act) {
  parallel_for(m, std::max<int64_t>(1, 16384 / std::max<int64_t>(n, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      C* row = y + r * n;
      const C* res = residual ? residual + r * n : nullptr;
      for (int64_t j = 0; j < n; ++j) {
        const C v = activate(C(row[j] + bias[j]), act);
        row[j] = res ? C(v + res[j]) : v;
      }
    }
  });
}

template <class C>
void run(const C* a, const C* w, const C* bias, const C* residual, C* y, const GemmShape& s,
         EpilogueActivation act) {
  batched_gemm(a, {0}, w, {0}, y, 1, s);
  epilogue(y, bias, residual, s.m, s.n, act);
}

// Y's type: bias's, which is A's or, with float16 A, float32.
DType output_dtype(const OpContextBase& ctx, DType a, DType w, DType bias, std::optional<DType> residual) {
  if (w != a) ctx.invalid(std::string("W has type ") + dtype_name(w) + ", A has " + dtype_name(a));
  if (bias != a && !(a == DType::kF16 && bias == DType::kF32))
    ctx.invalid(std::string("bias has type ") + dtype_name(bias) + ", A has " + dtype_name(a) +
                " (bias must have A's type, or float32 with float16 A)");
  if (residual && *residual != bias)
    ctx.invalid(std::string("residual has type ") + dtype_name(*residual) + ", bias has " + dtype_name(bias));
  return bias;
}

}  // namespace

EpilogueActivation epilogue_activation(const OpContextBase& ctx) {
  const std::string a = ctx.attrs().get_string("activation", "none");
  if (a == "none") return EpilogueActivation::kNone;
  if (a == "relu") return EpilogueActivation::kRelu;
  if (a == "gelu") return EpilogueActivation::kGelu;
  if (a == "gelu_tanh") return EpilogueActivation::kGeluTanh;
  ctx.invalid("activation must be \"none\", \"relu\", \"gelu\" or \"gelu_tanh\", not \"" + a + "\"");
}

std::vector<ValueType> fused_matmul_infer(const InferContext& ctx) {
  ctx.require_dtype(0, kTypes);
  epilogue_activation(ctx);
  if (!ctx.has_input(1) || !ctx.has_input(2)) ctx.invalid("W and bias are required");
  const DType y = output_dtype(ctx, ctx.dtype(0), ctx.dtype(1), ctx.dtype(2),
                               ctx.has_input(3) ? std::optional<DType>(ctx.dtype(3)) : std::nullopt);
  const Shape* a = ctx.shape(0);
  const Shape* w = ctx.shape(1);
  const Shape* b = ctx.shape(2);
  if (a && a->size() < 2) ctx.invalid("A must have rank >= 2, got " + shape_to_string(*a));
  if (w && w->size() != 2) ctx.invalid("W must be 2-D [K, N], got " + shape_to_string(*w));
  if (b && b->size() != 1) ctx.invalid("bias must be 1-D [N], got " + shape_to_string(*b));
  if (w) {
    const Dim &k = (*w)[0], &n = (*w)[1];
    if (k.known() && k.value == 0) ctx.invalid("W has no rows (K = 0)");
    if (a && a->back().known() && k.known() && a->back().value != k.value)
      ctx.invalid("inner dimensions differ: A " + shape_to_string(*a) + " x W " + shape_to_string(*w));
    if (b && (*b)[0].known() && n.known() && (*b)[0].value != n.value)
      ctx.invalid("bias " + shape_to_string(*b) + " does not match W's N in " + shape_to_string(*w));
  }
  if (!a || !w) return {{y, std::nullopt}};
  Shape out = *a;
  out.back() = (*w)[1];
  if (ctx.has_input(3))
    if (const Shape* r = ctx.shape(3)) {
      bool same = r->size() == out.size();
      for (size_t d = 0; same && d < out.size(); ++d)
        same = !((*r)[d].known() && out[d].known() && (*r)[d].value != out[d].value);
      if (!same)
        ctx.invalid("residual " + shape_to_string(*r) + " must have the output's shape " + shape_to_string(out) +
                    " (no broadcasting)");
    }
  return {{y, out}};
}

std::vector<Tensor> fused_matmul_cpu(const KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& w = ctx.input(1);
  const Tensor& bias = ctx.input(2);
  const Tensor* res = ctx.has_input(3) ? &ctx.input(3) : nullptr;
  const EpilogueActivation act = epilogue_activation(ctx);
  if (a.rank() < 2 || w.rank() != 2 || bias.rank() != 1) ctx.invalid("A must have rank >= 2, W 2-D and bias 1-D");
  GemmShape s;
  s.k = w.dim(0);
  s.n = w.dim(1);
  if (s.k == 0 || a.dims().back() != s.k || bias.dim(0) != s.n)
    ctx.invalid("shapes do not match: A " + dims_to_string(a.dims()) + ", W " + dims_to_string(w.dims()) + ", bias " +
                dims_to_string(bias.dims()));
  s.m = a.numel() / s.k;
  Dims od = a.dims();
  od.back() = s.n;
  if (res && res->dims() != od)
    ctx.invalid("residual " + dims_to_string(res->dims()) + " must have the output's shape " + dims_to_string(od));
  Tensor y(output_dtype(ctx, a.dtype(), w.dtype(), bias.dtype(),
                        res ? std::optional<DType>(res->dtype()) : std::nullopt),
           od);
  if (y.dtype() != a.dtype()) {  // mixed: float16 operands, float32 epilogue and output
    std::vector<float> af = to_float_buffer(a), wf = to_float_buffer(w);
    run(af.data(), wf.data(), bias.data<float>(), res ? res->data<float>() : nullptr, y.data<float>(), s, act);
    return {y};
  }
  switch (a.dtype()) {
    case DType::kF32:
      run(a.data<float>(), w.data<float>(), bias.data<float>(), res ? res->data<float>() : nullptr, y.data<float>(), s,
          act);
      break;
    case DType::kF64:
      run(a.data<double>(), w.data<double>(), bias.data<double>(), res ? res->data<double>() : nullptr,
          y.data<double>(), s, act);
      break;
    case DType::kF16:
    case DType::kBF16: {
      std::vector<float> af = to_float_buffer(a), wf = to_float_buffer(w), bf = to_float_buffer(bias);
      std::vector<float> rf = res ? to_float_buffer(*res) : std::vector<float>();
      std::vector<float> yf(size_t(y.numel()));
      run(af.data(), wf.data(), bf.data(), res ? rf.data() : nullptr, yf.data(), s, act);
      from_float_buffer(yf, y);
      break;
    }
    default:
      ctx.unsupported(std::string("dtype ") + dtype_name(a.dtype()) + " is not supported");
  }
  return {y};
}

}  // namespace kiln::linear
