// ConvInteger (opset 10): int32 Y = conv(X - x_zero, W - w_zero), X and W int8 or uint8.
// QLinearConv (opset 10): Y = saturate(round((conv(X - x_zero, W - w_zero) + B) · x_scale ·
// w_scale / y_scale) + y_zero), in y_zero's type; B int32 per output channel. y_zero is added
// after rounding, as for QLinearMatMul.
// X's zero point and scale are per tensor; W's per tensor or per output channel ([M]). Padding
// adds zeros after the shift (i.e. pads X with its zero point). Conv's geometry and attributes,
// and its float64 im2col kernel, which is exact for these integer sums.
#include "ops/conv/conv_kernels.h"
#include "ops/conv/conv_ops.h"
#include "ops/op_util.h"
#include "ops/quantize/quant_math.h"
#include "ops/quantize/quantize_ops.h"

namespace kiln::quant {
namespace {

std::optional<Shape> conv_output_shape(const InferContext& ctx, size_t x, size_t w) {
  const Shape* xs = ctx.shape(x);
  const Shape* ws = ctx.shape(w);
  if (!xs && !ws) return std::nullopt;
  Shape xf = xs ? *xs : Shape(ws->size()), wf = ws ? *ws : Shape(xs->size());
  return conv::conv_shape(ctx, xf, wf, nullptr, nullptr);
}

// A per-tensor parameter (one element) or, when per_channel, one per output channel: the value
// for channel m.
struct ChannelParam {
  std::vector<double> v;
  double at(int64_t m) const { return v.size() == 1 ? v[0] : v[size_t(m)]; }
};

ChannelParam channel_param(const KernelContext& ctx, const Tensor& p, int64_t channels, bool per_channel,
                           const char* what) {
  const bool ok = p.numel() == 1 || (per_channel && p.rank() == 1 && p.dim(0) == channels);
  if (!ok)
    ctx.invalid(std::string(what) + " " + dims_to_string(p.dims()) +
                (per_channel ? " is neither one value nor one per output channel (" + std::to_string(channels) + ")"
                             : " must be one value"));
  return {doubles_of(p)};
}

// conv(X - x_zero, W - w_zero) as float64 [N, M, out...].
Tensor integer_conv(const KernelContext& ctx, size_t xi, size_t xz, size_t wi, size_t wz) {
  const Tensor& X = ctx.input(xi);
  const Tensor& W = ctx.input(wi);
  require_quantized(ctx, X.dtype(), "X");
  require_quantized(ctx, W.dtype(), "W");
  std::vector<conv::Axis> axes;
  const Shape out = conv::conv_shape(ctx, shape_of(X.dims()), shape_of(W.dims()), nullptr, &axes);
  const int64_t M = W.dim(0);
  std::vector<double> x = doubles_of(X), w = doubles_of(W);
  if (ctx.has_input(xz)) {
    if (ctx.input(xz).dtype() != X.dtype()) ctx.invalid("X's zero point is not X's type");
    const double z = channel_param(ctx, ctx.input(xz), 1, false, "X's zero point").at(0);
    for (double& v : x) v -= z;
  }
  if (ctx.has_input(wz)) {
    if (ctx.input(wz).dtype() != W.dtype()) ctx.invalid("W's zero point is not W's type");
    const ChannelParam z = channel_param(ctx, ctx.input(wz), M, true, "W's zero point");
    const int64_t per = M > 0 ? W.numel() / M : 0;
    for (size_t i = 0; i < w.size(); ++i) w[i] -= z.at(int64_t(i) / per);
  }
  Tensor Y(DType::kF64, shape_dims(out));
  conv::conv_forward(x.data(), w.data(), static_cast<const double*>(nullptr), Y.data<double>(), X.dim(0),
                     X.dim(1), M, ctx.attrs().get_int("group", 1), conv::to_geom3(axes));
  return Y;
}

std::vector<ValueType> conv_integer_infer(const InferContext& ctx) {
  check_operand_types(ctx, 0, 2, 1, 3, "X", "W");
  return {{DType::kI32, conv_output_shape(ctx, 0, 1)}};
}

std::vector<Tensor> conv_integer_cpu(const KernelContext& ctx) { return {int32_of(integer_conv(ctx, 0, 2, 1, 3))}; }

// QLinearConv's inputs: x, x_scale, x_zero, w, w_scale, w_zero, y_scale, y_zero, [B].
std::vector<ValueType> qlinear_conv_infer(const InferContext& ctx) {
  check_operand_types(ctx, 0, 2, 3, 5, "X", "W");
  for (size_t s : {1, 4, 6})
    if (ctx.dtype(s) != DType::kF32) ctx.unsupported("scales must be float32 (opset 10)");
  require_quantized(ctx, ctx.dtype(7), "y's zero point");
  if (ctx.has_input(8) && ctx.dtype(8) != DType::kI32) ctx.invalid("B must be int32");
  return {{ctx.dtype(7), conv_output_shape(ctx, 0, 3)}};
}

std::vector<Tensor> qlinear_conv_cpu(const KernelContext& ctx) {
  const Tensor y = integer_conv(ctx, 0, 2, 3, 5);
  const DType out = ctx.input(7).dtype();
  require_quantized(ctx, out, "y's zero point");
  const int64_t M = y.dim(1);
  const double xs = channel_param(ctx, ctx.input(1), 1, false, "x_scale").at(0);
  const ChannelParam ws = channel_param(ctx, ctx.input(4), M, true, "w_scale");
  const double ys = channel_param(ctx, ctx.input(6), 1, false, "y_scale").at(0);
  const double yz = channel_param(ctx, ctx.input(7), 1, false, "y's zero point").at(0);
  ChannelParam bias{{0.0}};
  if (ctx.has_input(8)) {
    const Tensor& b = ctx.input(8);
    if (b.dtype() != DType::kI32) ctx.invalid("B must be int32");
    if (b.rank() != 1 || b.dim(0) != M) ctx.invalid("B " + dims_to_string(b.dims()) + " is not one value per output channel");
    bias = {doubles_of(b)};
  }
  std::vector<double> v = doubles_of(y);
  const int64_t plane = y.numel() / std::max<int64_t>(1, y.dim(0) * M);
  for (size_t i = 0; i < v.size(); ++i) {
    const int64_t m = (int64_t(i) / plane) % M;
    // The multiplier in float32, as the reference computes x_scale * w_scale / y_scale.
    const float mult = float(xs) * float(ws.at(m)) / float(ys);
    v[i] = round_saturate((v[i] + bias.at(m)) * double(mult), yz, out);
  }
  return {tensor_of(out, y.dims(), v)};
}

}  // namespace

void register_integer_conv(OpRegistry& r) {
  r.add({.domain = "", .name = "ConvInteger", .min_inputs = 2, .max_inputs = 4,
         .infer = conv_integer_infer, .cpu = conv_integer_cpu});
  r.add({.domain = "", .name = "QLinearConv", .min_inputs = 8, .max_inputs = 9,
         .infer = qlinear_conv_infer, .cpu = qlinear_conv_cpu});
}

}  // namespace kiln::quant
