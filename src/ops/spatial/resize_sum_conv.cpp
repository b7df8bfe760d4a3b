// ResizeSumConv (resize_sum_conv.h): type and shape inference, and the CPU reference — the
// projection's (FusedMatMul's), ResizeSum's and Conv's own references in turn, so the fused node
// computes exactly what the nodes it replaced did.
#include "ops/spatial/resize_sum_conv.h"

#include <algorithm>
#include <string>

#include "ops/op_util.h"
#include "ops/registry.h"
#include "ops/spatial/spatial_ops.h"

namespace kiln::spatial {
namespace {

// X_p' = FusedMatMul(X_p, Wp, Bp)'s type, [batch, pixels, C] in X's type, from X_p, Wp and Bp's.
ValueType projected_type(const OpContextBase& ctx, const ValueType& xp, const ValueType& wp, const ValueType& bp,
                         int p, DType x) {
  const std::string which = "projected input " + std::to_string(p);
  if (xp.dtype != x) ctx.invalid(which + " is " + dtype_name(xp.dtype) + ", not X's " + dtype_name(x));
  if (wp.dtype != x) ctx.invalid(std::string("Wp is ") + dtype_name(wp.dtype) + ", not X's " + dtype_name(x));
  if (bp.dtype != x) ctx.invalid(std::string("Bp is ") + dtype_name(bp.dtype) + ", not X's " + dtype_name(x));
  Dim cin, c;
  if (wp.shape) {
    if (wp.shape->size() != 2) ctx.invalid("Wp must be 2-D [Cin, C], got " + shape_to_string(*wp.shape));
    cin = (*wp.shape)[0], c = (*wp.shape)[1];
  }
  if (bp.shape) {
    const Shape& bs = *bp.shape;
    if (bs.size() != 1) ctx.invalid("Bp must be 1-D [C], got " + shape_to_string(bs));
    if (bs[0].known() && c.known() && bs[0].value != c.value)
      ctx.invalid("Bp " + shape_to_string(bs) + " does not match Wp's " + std::to_string(c.value) + " columns");
    if (!c.known() && c.symbol.empty()) c = bs[0];
  }
  if (!xp.shape) return {x, std::nullopt};
  const Shape& xs = *xp.shape;
  if (xs.size() != 3) ctx.invalid(which + " must be tokens [batch, pixels, Cin], got " + shape_to_string(xs));
  if (xs[2].known() && cin.known() && xs[2].value != cin.value)
    ctx.invalid(which + " has " + std::to_string(xs[2].value) + " channels, Wp " + shape_to_string(*wp.shape) +
                " takes " + std::to_string(cin.value));
  return {x, Shape{xs[0], xs[1], c}};
}

// The same on static dims (the plan's).
Dims projected_dims(const OpContextBase& ctx, const Dims& xp, const Dims& wp, const Dims& bp, int p) {
  const std::string which = "projected input " + std::to_string(p);
  if (wp.size() != 2) ctx.invalid("Wp must be 2-D [Cin, C], got " + dims_to_string(wp));
  if (bp != Dims{wp[1]}) ctx.invalid("Bp must be [" + std::to_string(wp[1]) + "], got " + dims_to_string(bp));
  if (xp.size() != 3 || xp[2] != wp[0])
    ctx.invalid(which + " must be tokens [batch, pixels, " + std::to_string(wp[0]) + "], got " + dims_to_string(xp));
  return {xp[0], xp[1], wp[1]};
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
  const auto [n, p] = resize_sum_conv_inputs(ctx, ctx.num_inputs());
  Node sum;
  sum.name = ctx.node.name + "/ResizeSum";
  sum.op_type = kResizeSumOp;
  sum.domain = kKilnDomain;
  sum.opset = 1;
  sum.attrs = ctx.attrs();  // exactly ResizeSum's
  sum.outputs = {"s"};
  std::vector<const Tensor*> maps;
  for (size_t i = 0; i < n; ++i) maps.push_back(&ctx.input(i));
  Tensor xp;
  if (p >= 0) {  // FusedMatMul's own reference: bias only, Bp's (X's) type out
    Node mm;
    mm.name = ctx.node.name + "/FusedMatMul";
    mm.op_type = "FusedMatMul";
    mm.domain = kKilnDomain;
    mm.opset = 1;
    mm.outputs = {"x"};
    xp = run_cpu_reference(mm, {&ctx.input(size_t(p)), &ctx.input(n + 2), &ctx.input(n + 3)});
    maps[size_t(p)] = &xp;
  }
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

// The most taps (from the first output's first) that the nonzero taps of any `tile` consecutive
// outputs, tiles from 0, span; 0 where one lies before that first tap.
int tile_window(const AxisTaps& t, int64_t tile) {
  int64_t window = 0;
  for (int64_t o0 = 0; o0 < t.out; o0 += tile) {
    const int64_t lo = t.index[size_t(o0 * t.taps)];
    for (int64_t o = o0; o < std::min(t.out, o0 + tile); ++o)
      for (int k = 0; k < t.taps; ++k) {
        const size_t at = size_t(o * t.taps + k);
        if (t.weight[at] == 0.0) continue;
        if (t.index[at] < lo) return 0;
        window = std::max(window, t.index[at] - lo + 1);
      }
  }
  return int(std::min<int64_t>(window, 1 << 20));
}

}  // namespace

ResizeSumConvInputs resize_sum_conv_inputs(const OpContextBase& ctx, size_t inputs) {
  const int64_t p = ctx.attrs().get_int("projected_input", -1);
  const size_t extra = p >= 0 ? 4 : 2;
  if (inputs < extra + 1 || inputs > size_t(kResizeSumMaxInputs) + extra)
    ctx.invalid("takes 1 to " + std::to_string(kResizeSumMaxInputs) + " feature maps, then W and B" +
                (p >= 0 ? ", Wp and Bp" : "") + ", got " + std::to_string(inputs) + " inputs");
  const size_t n = inputs - extra;
  if (p < -1 || p >= int64_t(n))
    ctx.invalid("projected_input " + std::to_string(p) + " is not -1 or a feature map (0 to " +
                std::to_string(n - 1) + ")");
  if (p >= 0 && ctx.attrs().has("layouts")) {
    const std::vector<std::string> layouts = ctx.attrs().get_strings("layouts");
    if (size_t(p) < layouts.size() && layouts[size_t(p)] != "tokens")
      ctx.invalid("projected input " + std::to_string(p) + " has layout '" + layouts[size_t(p)] + "', not \"tokens\"");
  }
  return {n, int(p)};
}

std::optional<RscLayout> resize_sum_conv_layout(const ResizeSumPlan& plan, int64_t classes, int projected,
                                                int64_t projected_channels, std::string* why) {
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
    // A staged row is one TMA box: whole 8-pixel swizzle atoms (1024 bytes), so every row
    // starts aligned as the 128-byte swizzle wants.
    l.cols[l.banded] = int((span + 7) / 8 * 8);
    l.off[l.banded] = int(l.stage_bytes);
    l.stage_bytes += 2 * l.cols[l.banded] * kRscPixelBytes;
    ++l.banded;
  }
  // A window of kRscBand columns may run past a row's span into the next row's (or, for the
  // last, into this padding): only finite values there, which the zero weights ignore.
  if (l.banded > 0) l.stage_bytes += kRscBand * kRscPixelBytes;
  if (projected >= 0) {  // the kernel projects the tile it copies, one 64-channel chunk of source
    if (projected != l.ident)
      return no("projected input " + std::to_string(projected) + " is not the identity (the kernel projects only that)");
    if (projected_channels != kRscChunk)
      return no("the projection reads " + std::to_string(projected_channels) + " channels (the kernel takes 64)");
    l.projected = projected;
  }
  const int64_t tile = kRscTileX * kRscPixelBytes;  // 8 KB
  l.ident_off = 0;
  // the identity's two buffers hold its tokens, or, projected, its 64-channel source tokens
  l.a_off = l.ident >= 0 ? 2 * tile : 0;
  l.w_off = l.a_off + rsc_a_bytes(l.nt);
  l.stage_off = l.w_off + 2 * 32 * l.nt * kRscPixelBytes;
  l.wp_off = l.stage_off;  // projected: Wp's two [64][64] chunk buffers come before the stage buffers
  if (l.projected >= 0) l.stage_off += 2 * 64 * kRscPixelBytes;
  l.x0_off = l.ident_off;
  l.smem_bytes = l.stage_off + 2 * l.stage_bytes + kRscAlignSlack;
  if (l.smem_bytes > kRscSmemLimit)
    return no("its tiles need " + std::to_string(l.smem_bytes) + " bytes of shared memory (" +
              std::to_string(kRscSmemLimit) + " at most)");
  return l;
}

std::optional<RscWgmmaLayout> resize_sum_conv_wgmma_layout(const ResizeSumPlan& plan, const RscLayout& l,
                                                           int64_t classes) {
  int rows[kRscMaxBanded] = {}, cols[kRscMaxBanded] = {};
  for (int i = 0; i < l.banded && i < kRscMaxBanded; ++i) {
    const ResizeSumInput& in = plan.inputs[size_t(l.input[i])];
    rows[i] = tile_window(in.rows, kRscWinTile), cols[i] = tile_window(in.cols, kRscWinTile);
  }
  return rsc_wgmma_layout(l, rows, cols, classes);
}

ValueType resize_sum_conv_type(const OpContextBase& ctx, const std::vector<ValueType>& in) {
  const auto [n, p] = resize_sum_conv_inputs(ctx, in.size());
  const DType x = in[0].dtype;
  if (x != DType::kF32 && x != DType::kF16)
    ctx.invalid(std::string("X_0 is ") + dtype_name(x) + ", not float32 or float16");
  const ValueType &w = in[n], &b = in[n + 1];
  if (w.dtype != x) ctx.invalid(std::string("W is ") + dtype_name(w.dtype) + ", not X's " + dtype_name(x));
  if (b.dtype != x && b.dtype != DType::kF32)
    ctx.invalid(std::string("B is ") + dtype_name(b.dtype) + ", not float32 or X's " + dtype_name(x));
  std::vector<ValueType> maps(in.begin(), in.begin() + std::ptrdiff_t(n));
  if (p >= 0) maps[size_t(p)] = projected_type(ctx, in[size_t(p)], in[n + 2], in[n + 3], p, x);
  const ValueType s = resize_sum_type(ctx, maps);
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
  const auto [n, proj] = resize_sum_conv_inputs(ctx, input_dims.size());
  std::vector<Dims> maps(input_dims.begin(), input_dims.begin() + std::ptrdiff_t(n));
  if (proj >= 0) maps[size_t(proj)] = projected_dims(ctx, maps[size_t(proj)], input_dims[n + 2], input_dims[n + 3], proj);
  ResizeSumPlan p = plan_resize_sum(ctx, maps);
  const Dims &w = input_dims[n], &b = input_dims[n + 1];
  if (w.size() != 4 || w[1] != p.channels || w[2] != 1 || w[3] != 1)
    ctx.invalid("W must be [classes, " + std::to_string(p.channels) + ", 1, 1], got " + dims_to_string(w));
  if (b != Dims{w[0]}) ctx.invalid("B must be [" + std::to_string(w[0]) + "], got " + dims_to_string(b));
  return p;
}

void register_resize_sum_conv(OpRegistry& r) {
  r.add({.domain = kKilnDomain, .name = kResizeSumConvOp, .min_inputs = 3, .max_inputs = kResizeSumMaxInputs + 4,
         .infer = infer, .cpu = cpu});
}

}  // namespace kiln::spatial
