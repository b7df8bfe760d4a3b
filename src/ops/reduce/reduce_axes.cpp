#include "ops/reduce/reduce_axes.h"

#include "ops/op_util.h"

namespace kiln::reduce {
namespace {

void check_axes_tensor_type(const OpContextBase& ctx, DType dt) {
  if (dt != DType::kI64 && dt != DType::kI32)
    ctx.invalid(std::string("axes input must be int64, got ") + dtype_name(dt));
}

}  // namespace

ReduceParams reduce_params(const OpContextBase& ctx) {
  ReduceParams p;
  const int opset = ctx.opset();
  p.axes_from_input = opset >= 18 || (ctx.node.op_type == "ReduceSum" && opset >= 13);
  p.keepdims = ctx.attrs().get_int("keepdims", 1) != 0;
  if (p.axes_from_input) {
    if (ctx.attrs().has("axes"))
      ctx.invalid("'axes' is an input, not an attribute, at opset " + std::to_string(opset));
    p.noop_with_empty_axes = ctx.attrs().get_int("noop_with_empty_axes", 0) != 0;
  } else if (ctx.node.has_input(1)) {
    ctx.invalid("takes no axes input at opset " + std::to_string(opset));
  }
  return p;
}

std::vector<bool> reduced_mask(const OpContextBase& ctx, const std::vector<int64_t>& axes, int rank,
                               bool noop) {
  if (axes.empty()) return std::vector<bool>(size_t(rank), !noop);
  std::vector<bool> mask(size_t(rank), false);
  for (int64_t a : axes) {
    int n = normalize_axis(ctx, a, rank);
    if (mask[size_t(n)]) ctx.invalid("axis " + std::to_string(a) + " is listed twice in axes");
    mask[size_t(n)] = true;
  }
  return mask;
}

Dims reduced_dims(const Dims& dims, const std::vector<bool>& mask, bool keepdims) {
  Dims out;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (!mask[i]) out.push_back(dims[i]);
    else if (keepdims) out.push_back(1);
  }
  return out;
}

std::optional<std::vector<int64_t>> infer_axes(const InferContext& ctx, const ReduceParams& p) {
  if (!p.axes_from_input) return ctx.attrs().get_ints("axes", {});
  if (!ctx.has_input(1)) return std::vector<int64_t>{};
  check_axes_tensor_type(ctx, ctx.dtype(1));
  if (const Shape* s = ctx.shape(1); s && s->size() > 1)
    ctx.invalid("axes input must be 1-D, got shape " + shape_to_string(*s));
  return constant_ints(ctx, 1);
}

std::vector<int64_t> kernel_axes(const KernelContext& ctx, const ReduceParams& p) {
  if (!p.axes_from_input) return ctx.attrs().get_ints("axes", {});
  if (!ctx.has_input(1)) return {};
  const Tensor& t = ctx.input(1);
  check_axes_tensor_type(ctx, t.dtype());
  if (t.rank() > 1) ctx.invalid("axes input must be 1-D, got shape " + dims_to_string(t.dims()));
  return t.to_int64_vector();
}

ValueType reduce_output_type(const InferContext& ctx, const ReduceParams& p) {
  ValueType out{ctx.dtype(0), std::nullopt};
  std::optional<std::vector<int64_t>> axes = infer_axes(ctx, p);
  const Shape* in = ctx.shape(0);
  if (!in) return out;
  const int rank = int(in->size());
  if (!axes) {  // axes known only at run time
    if (p.keepdims) {  // same rank; a dim may become 1, so only 1s stay known
      Shape s(in->size(), Dim());
      for (size_t i = 0; i < in->size(); ++i)
        if ((*in)[i].known() && (*in)[i].value == 1) s[i] = Dim(1);
      out.shape = std::move(s);
    }
    return out;
  }
  std::vector<bool> mask = reduced_mask(ctx, *axes, rank, p.noop_with_empty_axes);
  Shape s;
  for (int i = 0; i < rank; ++i) {
    if (!mask[size_t(i)]) s.push_back((*in)[size_t(i)]);
    else if (p.keepdims) s.push_back(Dim(1));
  }
  out.shape = std::move(s);
  return out;
}

}  // namespace kiln::reduce
