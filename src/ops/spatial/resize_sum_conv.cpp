// ResizeSumConv (resize_sum_conv.h): type and shape inference, and the CPU reference — ResizeSum's
// and Conv's own references in turn, so the fused node computes exactly what the two did.
#include "ops/spatial/resize_sum_conv.h"

#include <algorithm>
#include <string>

#include "ops/op_util.h"
#include "ops/registry.h"
#include "ops/spatial/spatial_ops.h"

namespace kiln::spatial {
namespace {

// The number of feature maps: every input but W and B.
size_t feature_maps(const OpContextBase& ctx, size_t inputs) {
  if (inputs < 3 || inputs > size_t(kResizeSumMaxInputs) + 2)
    ctx.invalid("takes 1 to " + std::to_string(kResizeSumMaxInputs) + " feature maps, then W and B, got " +
                std::to_string(inputs) + " inputs");
  return inputs - 2;
}

std::vector<ValueType> infer(const InferContext& ctx) {
  std::vector<ValueType> in;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) in.push_back(ctx.type(i));
  return {resize_sum_conv_type(ctx, in)};
}

std::vector<Tensor> cpu(const KernelContext& ctx) {
  std::vector<ValueType> types;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) types.push_back({ctx.input(i).dtype(), shape_of(ctx.input(i).dims())});
  resize_sum_conv_type(ctx, types);
  const size_t n = ctx.num_inputs() - 2;
  Node sum;
  sum.name = ctx.node.name + "/ResizeSum";
  sum.op_type = kResizeSumOp;
  sum.domain = kKilnDomain;
  sum.opset = 1;
  sum.attrs = ctx.attrs();  // exactly ResizeSum's
  sum.outputs = {"s"};
  std::vector<const Tensor*> maps;
  for (size_t i = 0; i < n; ++i) maps.push_back(&ctx.input(i));
  const Tensor s = run_cpu_reference(sum, maps);
  Node conv;  // no attributes: a 1x1 kernel from W, stride 1, no padding, group 1
  conv.name = ctx.node.name + "/Conv";
  conv.op_type = "Conv";
  conv.opset = 17;
  conv.outputs = {"y"};
  return {run_cpu_reference(conv, {&s, &ctx.input(n), &ctx.input(n + 1)})};
}

// The kernel's band: each pixel's taps ordered (index 1 >= index 0), index 0 never decreasing, and
// every nonzero-weight tap of a group of kRscBand pixels within kRscBand columns of the group's
// first index 0. Then the most columns one kRscTileX tile reads, from its first pixel's first
// tap to its last pixel's second; else 0.
int64_t banded_span(const AxisTaps& t) {
  auto at = [&](int64_t p, int k) { return t.index[size_t(2 * p + k)]; };
  for (int64_t p = 0; p < t.out; ++p)
    if (at(p, 1) < at(p, 0) || (p > 0 && at(p, 0) < at(p - 1, 0))) return 0;
  for (int64_t m0 = 0; m0 < t.out; m0 += kRscBand) {
    const int64_t base = at(m0, 0);
    for (int64_t p = m0; p < std::min(t.out, m0 + kRscBand); ++p)
      for (int k = 0; k < 2; ++k)
        if (t.weight[size_t(2 * p + k)] != 0.0 && at(p, k) >= base + kRscBand) return 0;
  }
  int64_t span = 0;
  for (int64_t x0 = 0; x0 < t.out; x0 += kRscTileX)
    span = std::max(span, at(std::min(t.out, x0 + kRscTileX) - 1, 1) - at(x0, 0) + 1);
  return span;
}

}  // namespace

std::optional<RscLayout> resize_sum_conv_layout(const ResizeSumPlan& plan, int64_t classes, std::string* why) {
  auto no = [&](const std::string& reason) -> std::optional<RscLayout> {
    if (why) *why = reason;
    return std::nullopt;
  };
  if (plan.channels < kRscChunk || plan.channels % kRscChunk != 0)
    return no(std::to_string(plan.channels) + " channels (the kernel takes whole chunks of 64)");
  if (classes < 1 || classes > kRscMaxClasses) return no(std::to_string(classes) + " outputs (1 to 160)");
  RscLayout l;
  l.nt = rsc_nt(classes);
  for (size_t i = 0; i < plan.inputs.size(); ++i) {
    const ResizeSumInput& in = plan.inputs[i];
    const std::string which = "input " + std::to_string(i);
    if (!in.tokens) return no(which + " is NCHW (the kernel reads tokens)");
    if (l.ident < 0 && taps_copy(in.rows) && taps_copy(in.cols)) {
      l.ident = int(i);
      continue;
    }
    const int64_t span = banded_span(in.cols);
    if (span == 0) return no(which + "'s columns are not a band of 16 a 16-pixel group (downsampled?)");
    if (l.banded == kRscMaxBanded) return no("more than 3 resized inputs");
    l.input[l.banded] = int(i);
    l.cols[l.banded] = int(span);
    l.off[l.banded] = int(l.stage_bytes);
    l.stage_bytes += 2 * span * kRscPixelBytes;
    ++l.banded;
  }
  // A window of kRscBand columns may run past a row's span into the next row's (or, for the
  // last, into this padding): only finite values there, which the zero weights ignore.
  if (l.banded > 0) l.stage_bytes += (kRscBand - 1) * kRscPixelBytes;
  const int64_t tile = kRscTileX * kRscPixelBytes;
  l.ident_off = 0;
  l.a_off = l.ident >= 0 ? 2 * tile : 0;
  l.w_off = l.a_off + tile;
  l.stage_off = l.w_off + 2 * 32 * l.nt * kRscPixelBytes;
  l.smem_bytes = l.stage_off + 2 * l.stage_bytes;
  if (l.smem_bytes > kRscSmemLimit)
    return no("its tiles need " + std::to_string(l.smem_bytes) + " bytes of shared memory (227 KB at most)");
  return l;
}

ValueType resize_sum_conv_type(const OpContextBase& ctx, const std::vector<ValueType>& in) {
  const size_t n = feature_maps(ctx, in.size());
  const DType x = in[0].dtype;
  if (x != DType::kF32 && x != DType::kF16)
    ctx.invalid(std::string("X_0 is ") + dtype_name(x) + ", not float32 or float16");
  const ValueType &w = in[n], &b = in[n + 1];
  if (w.dtype != x) ctx.invalid(std::string("W is ") + dtype_name(w.dtype) + ", not X's " + dtype_name(x));
  if (b.dtype != x && b.dtype != DType::kF32)
    ctx.invalid(std::string("B is ") + dtype_name(b.dtype) + ", not float32 or X's " + dtype_name(x));
  const ValueType s = resize_sum_type(ctx, std::vector<ValueType>(in.begin(), in.begin() + std::ptrdiff_t(n)));
  const Shape& ss = *s.shape;  // [batch, C, height, width]
  Dim classes;
  if (w.shape) {
    const Shape& ws = *w.shape;
    if (ws.size() != 4 || (ws[2].known() && ws[2].value != 1) || (ws[3].known() && ws[3].value != 1))
      ctx.invalid("W must be [classes, channels, 1, 1], got " + shape_to_string(ws));
    if (ws[1].known() && ss[1].known() && ws[1].value != ss[1].value)
      ctx.invalid("W " + shape_to_string(ws) + " takes " + std::to_string(ws[1].value) +
                  " channels, the feature maps have " + std::to_string(ss[1].value));
    classes = ws[0];
  }
  if (b.shape) {
    const Shape& bs = *b.shape;
    if (bs.size() != 1) ctx.invalid("B must be 1-D [classes], got " + shape_to_string(bs));
    if (bs[0].known() && classes.known() && bs[0].value != classes.value)
      ctx.invalid("B " + shape_to_string(bs) + " does not match W's " + std::to_string(classes.value) + " classes");
    if (!classes.known() && classes.symbol.empty()) classes = bs[0];
  }
  return {b.dtype, Shape{ss[0], classes, ss[2], ss[3]}};
}

ResizeSumPlan plan_resize_sum_conv(const OpContextBase& ctx, const std::vector<Dims>& input_dims) {
  const size_t n = feature_maps(ctx, input_dims.size());
  ResizeSumPlan p = plan_resize_sum(ctx, std::vector<Dims>(input_dims.begin(), input_dims.begin() + std::ptrdiff_t(n)));
  const Dims &w = input_dims[n], &b = input_dims[n + 1];
  if (w.size() != 4 || w[1] != p.channels || w[2] != 1 || w[3] != 1)
    ctx.invalid("W must be [classes, " + std::to_string(p.channels) + ", 1, 1], got " + dims_to_string(w));
  if (b != Dims{w[0]}) ctx.invalid("B must be [" + std::to_string(w[0]) + "], got " + dims_to_string(b));
  return p;
}

void register_resize_sum_conv(OpRegistry& r) {
  r.add({.domain = kKilnDomain, .name = kResizeSumConvOp, .min_inputs = 3, .max_inputs = kResizeSumMaxInputs + 2,
         .infer = infer, .cpu = cpu});
}

}  // namespace kiln::spatial
