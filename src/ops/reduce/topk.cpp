// TopK (opset 1-20; K is an attribute before opset 10, a 1-element int64 input after):
// the K largest (or smallest) elements along `axis` and their int64 indices. Equal values are
// ordered by lower index first. NaN ranks above every number (numpy's sort order), so it is
// "largest"; this also keeps the comparison a strict weak order. Output is always sorted,
// which `sorted = 0` permits.
#include <algorithm>
#include <vector>

#include "ops/reduce/reduce_common.h"

namespace kiln::reduce {
namespace {

struct TopKParams {
  int64_t axis = -1;
  bool largest = true;
};

TopKParams topk_params(const OpContextBase& ctx) {
  TopKParams p;
  p.axis = ctx.attrs().get_int("axis", -1);
  p.largest = ctx.attrs().get_int("largest", 1) != 0;
  return p;
}

void check_k(const OpContextBase& ctx, int64_t k) {
  if (k < 0) ctx.invalid("K must be non-negative, got " + std::to_string(k));
}

void check_k_tensor_type(const OpContextBase& ctx, DType dt, size_t rank, int64_t numel) {
  if (dt != DType::kI64) ctx.invalid(std::string("K must be int64, got ") + dtype_name(dt));
  if (rank > 1 || numel != 1) ctx.invalid("K must be a 1-D tensor with one element");
}

std::vector<ValueType> topk_infer(const InferContext& ctx) {
  ctx.require_dtype(0, kNumericTypes);
  const TopKParams p = topk_params(ctx);
  std::optional<int64_t> k;
  if (ctx.opset() < 10) {
    k = ctx.attrs().get_int("k");
  } else {
    const ValueType& kt = ctx.type(1);
    if (kt.shape && shape_known(*kt.shape))
      check_k_tensor_type(ctx, kt.dtype, kt.shape->size(), numel_of(shape_dims(*kt.shape)));
    else if (kt.dtype != DType::kI64)
      ctx.invalid(std::string("K must be int64, got ") + dtype_name(kt.dtype));
    if (const Tensor* c = ctx.constant(1)) k = c->at_int(0);
  }
  if (k) check_k(ctx, *k);
  ValueType values{ctx.dtype(0), std::nullopt};
  if (const Shape* in = ctx.shape(0)) {
    const int axis = normalize_axis(ctx, p.axis, int(in->size()));
    Shape s = *in;
    const Dim& d = s[size_t(axis)];
    if (k && d.known() && *k > d.value)
      ctx.invalid("K = " + std::to_string(*k) + " exceeds the axis length " + std::to_string(d.value));
    s[size_t(axis)] = k ? Dim(*k) : Dim();
    values.shape = std::move(s);
  }
  ValueType indices{DType::kI64, values.shape};
  return {values, indices};
}

// Strict weak order "a comes before b" for (value, index) pairs.
template <bool kLargest, class V> struct Before {
  bool operator()(const std::pair<V, int64_t>& a, const std::pair<V, int64_t>& b) const {
    const bool an = is_nan(a.first), bn = is_nan(b.first);
    if (an || bn) {
      if (an && bn) return a.second < b.second;
      return kLargest ? an : bn;  // NaN is the largest value
    }
    if (a.first != b.first) return kLargest ? a.first > b.first : a.first < b.first;
    return a.second < b.second;
  }
};

template <bool kLargest, class T>
void topk_run(const T* x, T* vals, int64_t* idx, const AxisView& v, int64_t k) {
  using V = cmp_t<T>;
  const int64_t slices = v.outer * v.inner;
  parallel_for(slices, std::max<int64_t>(1, 8192 / std::max<int64_t>(v.axis_len, 1)),
               [&](int64_t b, int64_t e) {
                 std::vector<std::pair<V, int64_t>> buf(static_cast<size_t>(v.axis_len));
                 for (int64_t sl = b; sl < e; ++sl) {
                   const int64_t o = sl / v.inner, i = sl % v.inner;
                   const T* src = x + o * v.axis_len * v.inner + i;
                   for (int64_t a = 0; a < v.axis_len; ++a) buf[size_t(a)] = {to_cmp(src[a * v.inner]), a};
                   std::partial_sort(buf.begin(), buf.begin() + k, buf.end(), Before<kLargest, V>{});
                   const int64_t out = o * k * v.inner + i;
                   for (int64_t j = 0; j < k; ++j) {
                     const int64_t a = buf[size_t(j)].second;
                     vals[out + j * v.inner] = src[a * v.inner];
                     idx[out + j * v.inner] = a;
                   }
                 }
               });
}

std::vector<Tensor> topk_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() == DType::kBool)
    ctx.unsupported(std::string("input of type ") + dtype_name(x.dtype()) + " is not supported");
  const TopKParams p = topk_params(ctx);
  int64_t k;
  if (ctx.opset() < 10) {
    k = ctx.attrs().get_int("k");
  } else {
    const Tensor& kt = ctx.input(1);
    check_k_tensor_type(ctx, kt.dtype(), size_t(kt.rank()), kt.numel());
    k = kt.at_int(0);
  }
  check_k(ctx, k);
  const int axis = normalize_axis(ctx, p.axis, x.rank());
  const AxisView v = axis_view(x.dims(), axis);
  if (k > v.axis_len)
    ctx.invalid("K = " + std::to_string(k) + " exceeds the axis length " + std::to_string(v.axis_len));
  Dims dims = x.dims();
  dims[size_t(axis)] = k;
  Tensor vals(x.dtype(), dims), idx(DType::kI64, dims);
  if (vals.numel() == 0) return {vals, idx};
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_void_v<T> && !std::is_same_v<T, bool>) {
      if (p.largest) topk_run<true>(x.data<T>(), vals.data<T>(), idx.data<int64_t>(), v, k);
      else topk_run<false>(x.data<T>(), vals.data<T>(), idx.data<int64_t>(), v, k);
    }
  });
  return {vals, idx};
}

}  // namespace

void register_topk_op(OpRegistry& r) {
  r.add({.domain = "", .name = "TopK", .min_inputs = 1, .max_inputs = 2, .min_outputs = 2,
         .max_outputs = 2, .infer = topk_infer, .cpu = topk_cpu});
}

}  // namespace kiln::reduce
