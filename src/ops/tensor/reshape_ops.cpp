// Ops that only relabel dims (the data is shared, never copied): Reshape, Squeeze, Unsqueeze,
// Flatten, Identity, and Dropout in inference mode.
#include <algorithm>
#include <set>

#include "ops/tensor/tensor_groups.h"
#include "ops/tensor/tensor_util.h"

namespace kiln::tensor_ops {
namespace {

// Reshape's output shape from the input shape (nullptr: rank unknown) and the target values.
// Shared by inference and the kernel (which passes fully known dims).
Shape reshape_shape(const OpContextBase& ctx, const Shape* in, const std::vector<int64_t>& target,
                    bool allowzero) {
  Shape out(target.size());
  int infer_at = -1;
  bool has_zero = false;
  for (size_t i = 0; i < target.size(); ++i) {
    int64_t v = target[i];
    if (v < -1) ctx.invalid("shape value " + std::to_string(v) + " is negative");
    if (v == -1) {
      if (infer_at >= 0) ctx.invalid("shape has more than one -1");
      infer_at = int(i);
    } else if (v == 0 && !allowzero) {
      if (in && i >= in->size())
        ctx.invalid("shape value 0 at index " + std::to_string(i) + " copies a dim beyond the input's rank " +
                    std::to_string(in->size()));
      out[i] = in ? (*in)[i] : Dim();
    } else {
      has_zero |= v == 0;
      out[i] = Dim(v);
    }
  }
  if (allowzero && has_zero && infer_at >= 0)
    ctx.invalid("shape cannot hold both 0 and -1 when allowzero is set");
  if (!in) return out;
  // Cancel symbolic dims present on both sides; what is left must be known to conclude.
  std::vector<Dim> rest_in(in->begin(), in->end()), rest_out;
  for (size_t i = 0; i < out.size(); ++i)
    if (int(i) != infer_at) rest_out.push_back(out[i]);
  for (auto it = rest_out.begin(); it != rest_out.end();) {
    auto match = it->known() || it->symbol.empty()
                     ? rest_in.end()
                     : std::find(rest_in.begin(), rest_in.end(), *it);
    if (match != rest_in.end()) {
      rest_in.erase(match);
      it = rest_out.erase(it);
    } else {
      ++it;
    }
  }
  if (!shape_known(rest_out)) return out;
  if (!shape_known(rest_in)) {
    // One symbolic dim left over while the known rest balances: -1 is that dim.
    auto unknown = std::find_if(rest_in.begin(), rest_in.end(), [](const Dim& d) { return !d.known(); });
    Dim only = *unknown;
    rest_in.erase(unknown);
    if (infer_at >= 0 && !only.symbol.empty() && shape_known(rest_in) &&
        numel_of(shape_dims(rest_in)) == numel_of(shape_dims(rest_out)))
      out[size_t(infer_at)] = only;
    return out;
  }
  int64_t in_n = numel_of(shape_dims(rest_in)), out_n = numel_of(shape_dims(rest_out));
  if (infer_at >= 0) {
    if (out_n == 0 || in_n % out_n != 0)
      ctx.invalid("cannot reshape " + shape_to_string(*in) + " with -1 in the target shape");
    out[size_t(infer_at)] = Dim(in_n / out_n);
  } else if (in_n != out_n) {
    ctx.invalid("cannot reshape " + shape_to_string(*in) + " into " + shape_to_string(out));
  }
  return out;
}

bool reshape_allowzero(const OpContextBase& ctx) {
  return ctx.opset() >= 14 && ctx.attrs().get_int("allowzero", 0) != 0;
}

std::vector<ValueType> reshape_infer(const InferContext& ctx) {
  ctx.require_dtype(1, {DType::kI64});
  auto target = constant_ints(ctx, 1);
  if (!target) {
    auto n = known_length(ctx, 1);
    return {{ctx.dtype(0), n ? std::optional<Shape>(unknown_shape(size_t(*n))) : std::nullopt}};
  }
  return {{ctx.dtype(0), reshape_shape(ctx, ctx.shape(0), *target, reshape_allowzero(ctx))}};
}

std::vector<Tensor> reshape_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Shape in = shape_of(x.dims());
  Shape out = reshape_shape(ctx, &in, kernel_ints(ctx, 1, "shape"), reshape_allowzero(ctx));
  return {x.reshaped(shape_dims(out))};
}

// Squeeze/Unsqueeze axes: input 1 since opset 13, attribute before.
std::optional<std::vector<int64_t>> axes_of(const InferContext& ctx, bool* present) {
  if (ctx.opset() < 13) {
    *present = ctx.attrs().has("axes");
    return ctx.attrs().get_ints("axes", {});
  }
  *present = ctx.has_input(1);
  if (!*present) return std::vector<int64_t>{};
  ctx.require_dtype(1, {DType::kI64});
  return constant_ints(ctx, 1);
}

std::vector<int64_t> kernel_axes(const KernelContext& ctx, bool* present) {
  if (ctx.opset() < 13) {
    *present = ctx.attrs().has("axes");
    return ctx.attrs().get_ints("axes", {});
  }
  *present = ctx.has_input(1);
  return *present ? kernel_ints(ctx, 1, "axes") : std::vector<int64_t>{};
}

std::vector<bool> axis_mask(const OpContextBase& ctx, const std::vector<int64_t>& axes, int rank) {
  std::vector<bool> mask(size_t(std::max(rank, 0)), false);
  for (int64_t a : axes) {
    int n = normalize_axis(ctx, a, rank);
    if (mask[size_t(n)]) ctx.invalid("axis " + std::to_string(a) + " is repeated");
    mask[size_t(n)] = true;
  }
  return mask;
}

// nullopt when the rank of the result cannot be known.
std::optional<Shape> squeeze_shape(const OpContextBase& ctx, const Shape& in,
                                   const std::vector<int64_t>& axes, bool present) {
  Shape out;
  if (!present) {
    for (const Dim& d : in) {
      if (!d.known()) return std::nullopt;
      if (d.value != 1) out.push_back(d);
    }
    return out;
  }
  std::vector<bool> mask = axis_mask(ctx, axes, int(in.size()));
  for (size_t i = 0; i < in.size(); ++i) {
    if (!mask[i]) {
      out.push_back(in[i]);
    } else if (in[i].known() && in[i].value != 1) {
      ctx.invalid("cannot squeeze axis " + std::to_string(i) + " of size " + std::to_string(in[i].value));
    }
  }
  return out;
}

std::vector<ValueType> squeeze_infer(const InferContext& ctx) {
  bool present = false;
  auto axes = axes_of(ctx, &present);
  const Shape* in = ctx.shape(0);
  if (!in) return {{ctx.dtype(0), std::nullopt}};
  if (!axes) {
    auto n = known_length(ctx, 1);
    if (!n) return {{ctx.dtype(0), std::nullopt}};
    if (*n > int64_t(in->size())) ctx.invalid("more axes than the input has dims");
    return {{ctx.dtype(0), unknown_shape(in->size() - size_t(*n))}};
  }
  return {{ctx.dtype(0), squeeze_shape(ctx, *in, *axes, present)}};
}

std::vector<Tensor> squeeze_cpu(const KernelContext& ctx) {
  bool present = false;
  auto axes = kernel_axes(ctx, &present);
  const Tensor& x = ctx.input(0);
  return {x.reshaped(shape_dims(*squeeze_shape(ctx, shape_of(x.dims()), axes, present)))};
}

Shape unsqueeze_shape(const OpContextBase& ctx, const Shape& in, const std::vector<int64_t>& axes) {
  int rank = int(in.size() + axes.size());
  std::vector<bool> mask = axis_mask(ctx, axes, rank);
  Shape out;
  size_t j = 0;
  for (int i = 0; i < rank; ++i) out.push_back(mask[size_t(i)] ? Dim(1) : in[j++]);
  return out;
}

std::vector<ValueType> unsqueeze_infer(const InferContext& ctx) {
  bool present = false;
  auto axes = axes_of(ctx, &present);
  if (!present) ctx.invalid("axes are required");
  const Shape* in = ctx.shape(0);
  if (!in) return {{ctx.dtype(0), std::nullopt}};
  if (!axes) {
    auto n = known_length(ctx, 1);
    if (!n) return {{ctx.dtype(0), std::nullopt}};
    return {{ctx.dtype(0), unknown_shape(in->size() + size_t(*n))}};
  }
  return {{ctx.dtype(0), unsqueeze_shape(ctx, *in, *axes)}};
}

std::vector<Tensor> unsqueeze_cpu(const KernelContext& ctx) {
  bool present = false;
  auto axes = kernel_axes(ctx, &present);
  if (!present) ctx.invalid("axes are required");
  const Tensor& x = ctx.input(0);
  return {x.reshaped(shape_dims(unsqueeze_shape(ctx, shape_of(x.dims()), axes)))};
}

// Product of dims[b, e): known when all are, the dim itself when it is the only one.
Dim dim_product(const Shape& s, size_t b, size_t e) {
  if (e - b == 1) return s[b];
  int64_t p = 1;
  for (size_t i = b; i < e; ++i) {
    if (!s[i].known()) return Dim();
    p *= s[i].value;
  }
  return Dim(p);
}

Shape flatten_shape(const OpContextBase& ctx, const Shape& in) {
  int rank = int(in.size());
  int64_t axis = ctx.attrs().get_int("axis", 1);
  if (axis < -rank || axis > rank)
    ctx.invalid("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  size_t a = size_t(axis < 0 ? axis + rank : axis);
  return {dim_product(in, 0, a), dim_product(in, a, in.size())};
}

std::vector<ValueType> flatten_infer(const InferContext& ctx) {
  const Shape* in = ctx.shape(0);
  if (!in) return {{ctx.dtype(0), unknown_shape(2)}};
  return {{ctx.dtype(0), flatten_shape(ctx, *in)}};
}

std::vector<Tensor> flatten_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  return {x.reshaped(shape_dims(flatten_shape(ctx, shape_of(x.dims()))))};
}

std::vector<ValueType> identity_infer(const InferContext& ctx) { return {ctx.type(0)}; }
std::vector<Tensor> identity_cpu(const KernelContext& ctx) { return {ctx.input(0)}; }

// Dropout: inference passes data through. Training mode is random unless the ratio is 0.
void check_dropout_mode(const OpContextBase& ctx, bool training, double ratio) {
  if (training && ratio != 0.0)
    ctx.unsupported("training_mode with a nonzero ratio (random dropout) is not supported");
}

std::vector<ValueType> dropout_infer(const InferContext& ctx) {
  ctx.require_dtype(0, kFloatTypes);
  if (ctx.has_input(1)) ctx.require_dtype(1, kFloatTypes);
  if (ctx.has_input(2)) ctx.require_dtype(2, {DType::kBool});
  const Tensor* mode = ctx.constant(2);
  const Tensor* ratio = ctx.constant(1);
  if (mode && mode->numel() == 1 && mode->at_int(0) != 0 && (!ctx.has_input(1) || ratio))
    check_dropout_mode(ctx, true, ratio && ratio->numel() == 1 ? ratio->at_double(0) : 0.5);
  std::vector<ValueType> out{ctx.type(0)};
  if (ctx.num_outputs() > 1) out.push_back({DType::kBool, ctx.type(0).shape});
  return out;
}

std::vector<Tensor> dropout_cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  bool training = false;
  double ratio = 0.5;
  if (ctx.has_input(2)) {
    if (ctx.input(2).numel() != 1) ctx.invalid("training_mode must be a scalar");
    training = ctx.input(2).at_int(0) != 0;
  }
  if (ctx.has_input(1)) {
    if (ctx.input(1).numel() != 1) ctx.invalid("ratio must be a scalar");
    ratio = ctx.input(1).at_double(0);
  }
  check_dropout_mode(ctx, training, ratio);
  std::vector<Tensor> out{x};
  if (ctx.num_outputs() > 1) {
    Tensor mask(DType::kBool, x.dims());
    std::fill(mask.data<bool>(), mask.data<bool>() + mask.numel(), true);
    out.push_back(mask);
  }
  return out;
}

}  // namespace

void register_reshape_ops(OpRegistry& r) {
  r.add({.domain = "", .name = "Reshape", .min_inputs = 2, .max_inputs = 2,
         .infer = reshape_infer, .cpu = reshape_cpu});
  r.add({.domain = "", .name = "Squeeze", .min_inputs = 1, .max_inputs = 2,
         .infer = squeeze_infer, .cpu = squeeze_cpu});
  r.add({.domain = "", .name = "Unsqueeze", .min_inputs = 1, .max_inputs = 2,
         .infer = unsqueeze_infer, .cpu = unsqueeze_cpu});
  r.add({.domain = "", .name = "Flatten", .infer = flatten_infer, .cpu = flatten_cpu});
  r.add({.domain = "", .name = "Identity", .infer = identity_infer, .cpu = identity_cpu});
  r.add({.domain = "", .name = "Dropout", .min_inputs = 1, .max_inputs = 3, .min_outputs = 1,
         .max_outputs = 2, .infer = dropout_infer, .cpu = dropout_cpu});
}

}  // namespace kiln::tensor_ops
