// Gemm: Y = alpha * op(A) * op(B) + beta * C, A and B 2-D (transposed by transA / transB), the
// optional C broadcast unidirectionally to (M, N).
#include "ops/linear/gemm_kernels.h"
#include "ops/linear/linear_ops.h"
#include "ops/op_util.h"

namespace kiln::linear {
namespace {

constexpr std::initializer_list<DType> kGemmTypes = {DType::kF32, DType::kF64, DType::kF16,
                                                     DType::kBF16, DType::kI32, DType::kI64};

// C's shape must broadcast to (m, n) without growing: ranks <= 2, dims equal or 1.
bool c_broadcasts(const Shape& c, const Dim& m, const Dim& n) {
  if (c.size() > 2) return false;
  Shape target{m, n};
  for (size_t i = 0; i < c.size(); ++i) {
    const Dim& t = target[2 - c.size() + i];
    if (c[i].known() && t.known() && c[i].value != 1 && c[i].value != t.value) return false;
  }
  return true;
}

// C expanded to (m, n) as T.
template <class T> void fill_with_c(const Tensor& c, int64_t m, int64_t n, T* y) {
  Dims strides = broadcast_strides(c.dims(), {m, n});
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      y[i * n + j] = from_double<T>(c.at_double(i * strides[0] + j * strides[1]));
}

}  // namespace

std::vector<ValueType> gemm_infer(const InferContext& ctx) {
  ctx.require_dtype(0, kGemmTypes);
  for (size_t i = 1; i < 3; ++i)
    if (ctx.has_input(i) && ctx.dtype(i) != ctx.dtype(0)) ctx.invalid("operand dtypes differ");
  const Shape* as = ctx.shape(0);
  const Shape* bs = ctx.shape(1);
  if ((as && as->size() != 2) || (bs && bs->size() != 2)) ctx.invalid("A and B must be 2-D");
  bool ta = ctx.attrs().get_int("transA", 0) != 0, tb = ctx.attrs().get_int("transB", 0) != 0;
  Dim m, n;
  if (as && bs) {
    const Dim& ka = (*as)[ta ? 0 : 1];
    const Dim& kb = (*bs)[tb ? 1 : 0];
    if (ka.known() && kb.known() && ka.value != kb.value)
      ctx.invalid("inner dimensions differ: " + shape_to_string(*as) + " x " + shape_to_string(*bs));
  }
  if (as) m = (*as)[ta ? 1 : 0];
  if (bs) n = (*bs)[tb ? 0 : 1];
  if (ctx.has_input(2))
    if (const Shape* cs = ctx.shape(2); cs && !c_broadcasts(*cs, m, n))
      ctx.invalid("C of shape " + shape_to_string(*cs) + " does not broadcast to (M, N)");
  return {{ctx.dtype(0), Shape{m, n}}};
}

std::vector<Tensor> gemm_cpu(const KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (a.rank() != 2 || b.rank() != 2) ctx.invalid("A and B must be 2-D");
  GemmShape g;
  g.trans_a = ctx.attrs().get_int("transA", 0) != 0;
  g.trans_b = ctx.attrs().get_int("transB", 0) != 0;
  g.m = a.dim(g.trans_a ? 1 : 0);
  g.k = a.dim(g.trans_a ? 0 : 1);
  g.n = b.dim(g.trans_b ? 0 : 1);
  if (b.dim(g.trans_b ? 1 : 0) != g.k)
    ctx.invalid("inner dimensions differ: " + dims_to_string(a.dims()) + " x " +
                dims_to_string(b.dims()));
  double alpha = ctx.attrs().get_float("alpha", 1.0f);
  double beta = ctx.attrs().get_float("beta", 1.0f);
  const Tensor* c = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  if (c && !c_broadcasts(shape_of(c->dims()), g.m, g.n))
    ctx.invalid("C of shape " + dims_to_string(c->dims()) + " does not broadcast to (M, N)");
  for (const Tensor* t : {&b, c})
    if (t && t->dtype() != a.dtype()) ctx.invalid("operand dtypes differ");
  double gemm_beta = c ? beta : 0.0;
  Tensor y(a.dtype(), {g.m, g.n});
  const std::vector<int64_t> zero{0};

  auto run_float = [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (c) fill_with_c(*c, g.m, g.n, y.data<T>());
    batched_gemm(a.data<T>(), zero, b.data<T>(), zero, y.data<T>(), 1, g, alpha, gemm_beta);
  };
  auto run_int = [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (alpha == 1.0 && (gemm_beta == 0.0 || gemm_beta == 1.0)) {
      if (c) fill_with_c(*c, g.m, g.n, y.data<T>());
      batched_gemm(a.data<T>(), zero, b.data<T>(), zero, y.data<T>(), 1, g, 1.0, gemm_beta);
      return;
    }
    // Other scalings: exact integer product, then alpha/beta applied in double.
    Tensor prod(a.dtype(), {g.m, g.n});
    batched_gemm(a.data<T>(), zero, b.data<T>(), zero, prod.data<T>(), 1, g);
    std::vector<T> cv(static_cast<size_t>(g.m * g.n), T(0));
    if (c) fill_with_c(*c, g.m, g.n, cv.data());
    T* yp = y.data<T>();
    const T* pp = prod.data<T>();
    for (size_t i = 0; i < cv.size(); ++i)
      yp[i] = T(alpha * double(pp[i]) + gemm_beta * double(cv[i]));
  };

  switch (a.dtype()) {
    case DType::kF32: run_float(TypeTag<float>{}); break;
    case DType::kF64: run_float(TypeTag<double>{}); break;
    case DType::kI32: run_int(TypeTag<int32_t>{}); break;
    case DType::kI64: run_int(TypeTag<int64_t>{}); break;
    case DType::kF16:
    case DType::kBF16: {
      std::vector<float> af = to_float_buffer(a), bf = to_float_buffer(b);
      std::vector<float> yf(static_cast<size_t>(g.m * g.n), 0.0f);
      if (c) fill_with_c(*c, g.m, g.n, yf.data());
      batched_gemm(af.data(), zero, bf.data(), zero, yf.data(), 1, g, alpha, gemm_beta);
      from_float_buffer(yf, y);
      break;
    }
    default:
      ctx.unsupported(std::string("dtype ") + dtype_name(a.dtype()) + " is not supported");
  }
  return {y};
}

}  // namespace kiln::linear
