// MatMul with numpy semantics: a 1-D first operand is a row vector and a 1-D second operand a
// column vector (the added axis is dropped from the result); leading batch dims broadcast.
#include "ops/linear/gemm_kernels.h"
#include "ops/linear/linear_ops.h"
#include "ops/op_util.h"

namespace kiln::linear {
namespace {

constexpr std::initializer_list<DType> kMatMulTypes = {DType::kF32, DType::kF64, DType::kF16,
                                                       DType::kBF16, DType::kI32, DType::kI64};

// The product of the batch dims of `in` broadcast to `out`: element offsets of each batch's
// matrix (matrix_size elements each), in out's row-major batch order.
std::vector<int64_t> batch_offsets(const Dims& in, const Dims& out, int64_t matrix_size) {
  Dims strides = broadcast_strides(in, out);
  int64_t total = numel_of(out);
  std::vector<int64_t> offs(static_cast<size_t>(total));
  Dims idx(out.size(), 0);
  for (int64_t i = 0; i < total; ++i) {
    int64_t off = 0;
    for (size_t d = 0; d < out.size(); ++d) off += idx[d] * strides[d];
    offs[size_t(i)] = off * matrix_size;
    for (size_t d = out.size(); d-- > 0;) {
      if (++idx[d] < out[d]) break;
      idx[d] = 0;
    }
  }
  return offs;
}

struct MatMulPlan {
  GemmShape g;
  int64_t batch = 1;
  std::vector<int64_t> a_off, b_off;
  Dims out_dims;
};

MatMulPlan plan_matmul(const KernelContext& ctx, const Dims& ad, const Dims& bd) {
  if (ad.empty() || bd.empty()) ctx.invalid("MatMul operands must have rank >= 1");
  Dims a = ad.size() == 1 ? Dims{1, ad[0]} : ad;
  Dims b = bd.size() == 1 ? Dims{bd[0], 1} : bd;
  MatMulPlan p;
  p.g.m = a[a.size() - 2];
  p.g.k = a.back();
  p.g.n = b.back();
  if (b[b.size() - 2] != p.g.k)
    ctx.invalid("inner dimensions differ: " + dims_to_string(ad) + " x " + dims_to_string(bd));
  Dims ab(a.begin(), a.end() - 2), bb(b.begin(), b.end() - 2);
  Dims ob = broadcast_dims(ctx, ab, bb);
  p.out_dims = ob;
  if (ad.size() > 1) p.out_dims.push_back(p.g.m);
  if (bd.size() > 1) p.out_dims.push_back(p.g.n);
  int64_t batch = numel_of(ob);
  if (bb.empty() || numel_of(bb) == 1) {
    if (numel_of(ab) == batch) {
      // B is shared and A covers the whole batch: one tall product, the Linear-layer case.
      p.g.m *= batch;
      p.a_off = {0};
      p.b_off = {0};
      return p;
    }
  }
  p.batch = batch;
  p.a_off = batch_offsets(ab, ob, p.g.m * p.g.k);
  p.b_off = batch_offsets(bb, ob, p.g.k * p.g.n);
  return p;
}

}  // namespace

std::vector<ValueType> matmul_infer(const InferContext& ctx) {
  ctx.require_dtype(0, kMatMulTypes);
  if (ctx.dtype(1) != ctx.dtype(0)) ctx.invalid("operand dtypes differ");
  const Shape* as = ctx.shape(0);
  const Shape* bs = ctx.shape(1);
  if (!as || !bs) return {{ctx.dtype(0), std::nullopt}};
  if (as->empty() || bs->empty()) ctx.invalid("MatMul operands must have rank >= 1");
  Shape a = as->size() == 1 ? Shape{Dim(1), (*as)[0]} : *as;
  Shape b = bs->size() == 1 ? Shape{(*bs)[0], Dim(1)} : *bs;
  const Dim &ka = a.back(), &kb = b[b.size() - 2];
  if (ka.known() && kb.known() && ka.value != kb.value)
    ctx.invalid("inner dimensions differ: " + shape_to_string(*as) + " x " + shape_to_string(*bs));
  Shape out = broadcast_shapes(ctx, Shape(a.begin(), a.end() - 2), Shape(b.begin(), b.end() - 2));
  if (as->size() > 1) out.push_back(a[a.size() - 2]);
  if (bs->size() > 1) out.push_back(b.back());
  return {{ctx.dtype(0), out}};
}

std::vector<Tensor> matmul_cpu(const KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (a.dtype() != b.dtype()) ctx.invalid("operand dtypes differ");
  MatMulPlan p = plan_matmul(ctx, a.dims(), b.dims());
  Tensor y(a.dtype(), p.out_dims);
  switch (a.dtype()) {
    case DType::kF32:
      batched_gemm(a.data<float>(), p.a_off, b.data<float>(), p.b_off, y.data<float>(), p.batch, p.g);
      break;
    case DType::kF64:
      batched_gemm(a.data<double>(), p.a_off, b.data<double>(), p.b_off, y.data<double>(), p.batch,
                   p.g);
      break;
    case DType::kI32:
      batched_gemm(a.data<int32_t>(), p.a_off, b.data<int32_t>(), p.b_off, y.data<int32_t>(),
                   p.batch, p.g);
      break;
    case DType::kI64:
      batched_gemm(a.data<int64_t>(), p.a_off, b.data<int64_t>(), p.b_off, y.data<int64_t>(),
                   p.batch, p.g);
      break;
    case DType::kF16:
    case DType::kBF16: {
      // Products in float, one rounding per output element.
      std::vector<float> af = to_float_buffer(a), bf = to_float_buffer(b);
      std::vector<float> yf(static_cast<size_t>(y.numel()));
      batched_gemm(af.data(), p.a_off, bf.data(), p.b_off, yf.data(), p.batch, p.g);
      from_float_buffer(yf, y);
      break;
    }
    default:
      ctx.unsupported(std::string("dtype ") + dtype_name(a.dtype()) + " is not supported");
  }
  return {y};
}

}  // namespace kiln::linear
