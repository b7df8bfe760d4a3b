#include "runtime/layer_cost.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "ops/linear/einsum_equation.h"
#include "ops/op.h"
#include "ops/spatial/resize_sum_conv.h"

namespace kiln {
namespace {

bool in(const std::string& op, std::initializer_list<const char*> names) {
  return std::any_of(names.begin(), names.end(), [&](const char* s) { return op == s; });
}

// Static dims of a value: the constant's dims, else the inferred shape, which must be known.
Dims dims_of(const Graph& g, const Node& n, const std::string& name) {
  const Value& v = g.value(name);
  if (v.constant) return v.constant->dims();
  if (!v.type.shape || !shape_known(*v.type.shape))
    fail(ErrorCode::kInvalidArgument,
         n.describe() + ": cost needs static shapes, value '" + name + "' has shape " +
             (v.type.shape ? shape_to_string(*v.type.shape) : std::string("of unknown rank")) +
             " (give every input a fixed shape)");
  return shape_dims(*v.type.shape);
}

double numel(const Dims& d) {
  double n = 1;
  for (int64_t x : d) n *= double(x);
  return n;
}

double bytes_of(const Graph& g, const Node& n, const std::string& name) {
  const Value& v = g.value(name);
  DType dt = v.constant ? v.constant->dtype() : v.type.dtype;
  return numel(dims_of(g, n, name)) * double(dt == DType::kUndefined ? 0 : dtype_size(dt));
}

double product_from(const Dims& d, size_t first) {
  double p = 1;
  for (size_t i = first; i < d.size(); ++i) p *= double(d[i]);
  return p;
}

double einsum_flops(const Graph& g, const Node& n) {
  std::vector<Dims> dims;
  std::vector<int> ranks;
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    if (!n.has_input(i)) continue;
    dims.push_back(dims_of(g, n, n.inputs[i]));
    ranks.push_back(int(dims.back().size()));
  }
  const OpContextBase ctx{n};
  const linear::EinsumEquation eq =
      linear::parse_einsum(ctx, n.attrs.get_string("equation"), ranks);
  const std::vector<int64_t> sizes = linear::einsum_label_sizes(ctx, eq, dims);
  std::set<int> used;
  for (const auto& labels : eq.inputs) used.insert(labels.begin(), labels.end());
  double product = 1;
  for (int label : used) {
    const int64_t size = sizes[size_t(label)];
    product *= size >= 0 ? double(size) : 1.0;  // -1 only for ellipsis dims broadcast from 1
  }
  return double(dims.size()) * product;
}

// Taps per output element of an interpolation over `axes` axes: 2^axes (linear), 4^axes (cubic).
double interpolation_flops(const std::string& mode, int axes) {
  if (mode == "linear" || mode == "bilinear") return 2 * std::pow(2.0, axes);
  if (mode == "cubic" || mode == "bicubic") return 2 * std::pow(4.0, axes);
  return 0;  // nearest: index arithmetic only
}

double flops_of(const Graph& g, const Node& n) {
  const std::string& op = n.op_type;
  auto in_dims = [&](size_t i) { return dims_of(g, n, n.inputs.at(i)); };
  auto out_elems = [&]() { return numel(dims_of(g, n, n.outputs.at(0))); };
  if (n.domain == kKilnDomain && op == "Attention") {  // Q [..., Nq, d], K [..., Nk, d], Y [..., Nq, dv]
    const Dims q = in_dims(0), k = in_dims(1);
    if (q.size() < 2 || k.size() < 2) return 0;
    // Nk: K's sequence axis, axis 1 of a seq_first K [B, S, H, D] (and of a packed K/V [B, S, 2H, D]).
    const std::vector<int64_t> seq_first = n.attrs.get_ints("seq_first", {});
    const bool k_seq_first = seq_first.size() == 4 && seq_first[1] == 1 && k.size() == 4;
    double scores = double(k[k_seq_first ? 1 : k.size() - 2]);  // B·Nq·Nk
    for (size_t i = 0; i + 1 < q.size(); ++i) scores *= double(q[i]);
    const double dv = double(dims_of(g, n, n.outputs.at(0)).back());
    return scores * (2 * double(q.back()) + 2 * dv + 5);
  }
  if (n.domain == kKilnDomain && op == "FusedMatMul") {  // the GEMM, then bias, activation, residual
    const Dims a = in_dims(0);
    const double epilogue = 1 + (n.attrs.get_string("activation", "none") != "none") + n.has_input(3);
    return a.empty() ? 0 : 2 * out_elems() * double(a.back()) + epilogue * out_elems();
  }
  if (n.domain == kKilnDomain && (op == "FusedConv" || op == "DepthwiseConvNHWC")) {  // Conv's, + Z, activation
    const Dims w = in_dims(1);  // [M, C/group, k...]; depthwise [C, 1, kh, kw]
    const double epilogue = n.has_input(2) + (n.attrs.get_string("activation", "none") != "none") + n.has_input(3);
    return 2 * out_elems() * product_from(w, 1) + epilogue * out_elems();
  }
  if (n.domain == kKilnDomain && (op == "PatchEmbedTokens" || op == "TokenConv")) {  // W [kh·kw·C, Co]: GEMM + bias
    const Dims w = in_dims(1);
    return w.empty() ? 0 : 2 * out_elems() * double(w[0]) + (n.has_input(2) ? out_elems() : 0);
  }
  // LayerNormalization's count on X; the second copy of the rows is bytes only. Y may be unnamed.
  if (n.domain == kKilnDomain && op == "LayerNormPatchRows") return 5 * numel(in_dims(0));
  if (n.domain == kKilnDomain && op == "MixFFN") {  // LayerNorm, fc1, 3x3 dwconv, fc2 on T tokens, W1 [C, Hd]
    const Dims w1 = in_dims(3);
    const double c = double(w1.at(0)), hd = double(w1.at(1)), t = out_elems() / c;
    const double act = n.attrs.get_string("activation", "none") != "none";
    return t * (5 * c + (2 * c + 1) * hd + (18 + 1 + act) * hd + (2 * hd + 2) * c);
  }
  if (n.domain == kKilnDomain && op == "DwConvMatMul") {  // 3x3 dwconv + bias + act, then fc2, bias, residual
    const Dims w = in_dims(3);                                // W2 [Hd, C]
    const double k = double(w.at(0)), co = double(w.at(1)), t = out_elems() / co;
    const double act = n.attrs.get_string("activation", "none") != "none";
    return t * ((18 + 1 + act) * k + 2 * k * co + 2 * co);
  }
  if (n.domain == kKilnDomain && op == "AttentionBlock") {  // X [B, N, C], KV [B, Nk, 2H, D]: LN, Q, attention, out
    const Dims kv = in_dims(5);
    const double c = double(in_dims(0).at(2)), t = out_elems() / c, nk = double(kv.at(1));
    const double heads = double(kv.at(2)) / 2, d = double(kv.at(3));
    return t * (5 * c + (2 * c + 1) * c + nk * heads * (4 * d + 5) + (2 * c + 2) * c);
  }
  if (n.domain == kKilnDomain && op == "SequenceReduction") {  // X's LN, P·Wr + Br, R's LN, L2·Wkv + Bkv
    const Dims w = in_dims(3), wkv = in_dims(7);  // Wr [p·p·C, C], Wkv [C, N2]
    const double c = double(wkv.at(0)), rows = out_elems() / double(wkv.at(1));
    return 5 * numel(in_dims(0)) + rows * ((2 * double(w.at(0)) + 1) * c + 5 * c + (2 * c + 1) * double(wkv.at(1)));
  }
  if (n.domain == kKilnDomain && op == "ResizeSumConv") {  // the 1x1 Conv and its bias; ResizeSum counts none
    const auto [maps, p] = spatial::resize_sum_conv_inputs(OpContextBase{n}, n.inputs.size());
    const Dims w = in_dims(maps);  // [K, C, 1, 1]
    double projection = 0;  // X_p [B, N, Cin] · Wp [Cin, C]
    if (p >= 0) projection = 2 * numel(in_dims(size_t(p))) * double(in_dims(maps + 2).at(1));
    return 2 * out_elems() * product_from(w, 1) + out_elems() + projection;
  }
  if (n.domain == kKilnDomain && (op == "Int8MatMul" || op == "Int8Conv")) {  // quantize X, GEMM, epilogue
    const Dims w = in_dims(2);  // [N, K] or [O, C, kh, kw]
    const double epilogue = 1 + n.has_input(4) + (n.attrs.get_string("activation", "none") != "none") + n.has_input(5);
    return numel(in_dims(0)) + 2 * out_elems() * product_from(w, 1) + epilogue * out_elems();
  }
  if (n.domain == kKilnDomain && op == "MSDeformAttn") {  // per (b, q, h, level, point): 4 taps + its weight
    const Dims w = in_dims(4), v = in_dims(0);              // weights [B, Q, H, L, P], value [B, S, H, D]
    return w.size() == 5 && v.size() == 4 ? numel(w) * double(v[3]) * (2 * 4 + 2) : 0;
  }
  if (n.domain == kKilnDomain && op == "HeadScores") {  // Q [B, L, N, D], K [B, J, N, D], Y [B, N, L, J]
    const Dims q = in_dims(0);
    return q.empty() ? 0 : 2 * out_elems() * double(q.back());
  }
  if (n.domain == kKilnDomain && op == "MaskPositionEmbedding") return out_elems();  // a sin or cos each
  if (n.domain == kKilnDomain && op == "RowColumnRead") {  // a_col [..., L, H], a_row [..., L, W], Y [..., L, D]
    const Dims c = in_dims(0), r = in_dims(1);
    return c.empty() || r.empty() ? 0 : 2 * out_elems() * double(c.back()) * double(r.back());
  }
  if (!n.domain.empty() && n.domain != "ai.onnx") return 0;

  if (op == "MatMul") {
    const Dims a = in_dims(0);
    return a.empty() ? 0 : 2 * out_elems() * double(a.back());
  }
  if (op == "Gemm") {
    const Dims a = in_dims(0);
    if (a.size() != 2) return 0;
    const double k = double(n.attrs.get_int("transA", 0) ? a[0] : a[1]);
    return 2 * out_elems() * k + (n.has_input(2) ? out_elems() : 0);
  }
  if (op == "Conv") {  // W: [M, C/group, k...]
    const Dims w = in_dims(1);
    return 2 * out_elems() * product_from(w, 1) + (n.has_input(2) ? out_elems() : 0);
  }
  if (op == "ConvTranspose") {  // W: [C, M/group, k...]; every input element meets M/group·k
    const Dims w = in_dims(1);
    return 2 * numel(in_dims(0)) * product_from(w, 1) + (n.has_input(2) ? out_elems() : 0);
  }
  if (op == "Einsum") return einsum_flops(g, n);

  if (in(op, {"Cast", "CastLike"})) return 0;
  if (in(op, {"Sum", "Max", "Min", "Mean"})) {
    size_t k = 0;
    for (size_t i = 0; i < n.inputs.size(); ++i) k += n.has_input(i);
    return out_elems() * double(std::max<size_t>(k, 2) - 1);
  }
  if (in(op, {"Abs",         "Acos",      "Acosh",       "Add",
              "And",         "Asin",      "Asinh",       "Atan",
              "Atanh",       "BitShift",  "Ceil",        "Celu",
              "Clip",        "Cos",       "Cosh",        "Div",
              "Elu",         "Equal",     "Erf",         "Exp",
              "Floor",       "Gelu",      "Greater",     "GreaterOrEqual",
              "HardSigmoid", "HardSwish", "IsInf",       "IsNaN",
              "LeakyRelu",   "Less",      "LessOrEqual", "Log",
              "Mish",        "Mod",       "Mul",         "Neg",
              "Not",         "Or",        "PRelu",       "Pow",
              "Reciprocal",  "Relu",      "Round",       "Selu",
              "Shrink",      "Sigmoid",   "Sign",        "Sin",
              "Sinh",        "Softplus",  "Softsign",    "Sqrt",
              "Sub",         "Tan",       "Tanh",        "ThresholdedRelu",
              "Where",       "Xor"}))
    return out_elems();

  if (in(op, {"LayerNormalization", "InstanceNormalization", "GroupNormalization",
              "MeanVarianceNormalization", "LRN", "Softmax", "LogSoftmax"}))
    return 5 * out_elems();
  if (op == "BatchNormalization") return 2 * out_elems();

  if (in(op, {"ReduceL2", "ReduceSumSquare", "ReduceLogSumExp"})) return 2 * numel(in_dims(0));
  if (in(op, {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
              "ReduceLogSum", "ArgMax", "ArgMin", "CumSum", "TopK", "Hardmax"}))
    return numel(in_dims(0));

  if (in(op, {"MaxPool", "AveragePool", "LpPool"})) {
    double window = 1;
    for (int64_t k : n.attrs.get_ints("kernel_shape", {})) window *= double(k);
    return (op == "LpPool" ? 2 : 1) * out_elems() * window;
  }
  if (in(op, {"GlobalAveragePool", "GlobalMaxPool"})) return numel(in_dims(0));
  if (op == "GlobalLpPool") return 2 * numel(in_dims(0));

  if (op == "Resize") {
    const Dims x = in_dims(0), y = dims_of(g, n, n.outputs.at(0));
    int resized = 0;
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) resized += x[i] != y[i];
    return out_elems() * interpolation_flops(n.attrs.get_string("mode", "nearest"), resized);
  }
  if (op == "GridSample") {
    const int spatial = std::max(int(in_dims(0).size()) - 2, 0);
    const std::string fallback = n.opset >= 20 ? "linear" : "bilinear";
    return out_elems() * interpolation_flops(n.attrs.get_string("mode", fallback), spatial);
  }
  return 0;
}

}  // namespace

LayerCost layer_cost(const Graph& g, const Node& n) {
  const std::string& op = n.op_type;
  const bool onnx_domain = n.domain.empty() || n.domain == "ai.onnx";
  if (onnx_domain && in(op, {"Reshape", "Squeeze", "Unsqueeze", "Flatten", "Identity"})) return {};

  LayerCost c;
  c.flops = flops_of(g, n);
  for (const std::string& out : n.outputs)
    if (!out.empty()) c.bytes += bytes_of(g, n, out);
  const bool selects = onnx_domain && in(op, {"Slice", "Gather", "GatherElements", "GatherND"});
  const bool metadata_only = onnx_domain && in(op, {"Shape", "Size"});
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    if (!n.has_input(i) || metadata_only) continue;
    if (selects && i == 0) {
      // Only the selected elements are read: as many as the output holds, of the data's dtype.
      c.bytes += bytes_of(g, n, n.outputs.at(0));
      continue;
    }
    c.bytes += bytes_of(g, n, n.inputs[i]);
  }
  return c;
}

LayerCost graph_cost(const Graph& g) {
  LayerCost total;
  for (const Node& n : g.nodes) {
    LayerCost c = layer_cost(g, n);
    total.flops += c.flops;
    total.bytes += c.bytes;
  }
  return total;
}

double achieved_fraction(const LayerCost& cost, double seconds, const DevicePeak& peak, bool fp16) {
  if (!(seconds > 0) || !std::isfinite(seconds)) return 0;
  const double peak_flops =
      fp16 && peak.fp16_flops_per_s > 0 ? peak.fp16_flops_per_s : peak.flops_per_s;
  double fraction = 0;
  if (peak_flops > 0) fraction = std::max(fraction, cost.flops / seconds / peak_flops);
  if (peak.bytes_per_s > 0) fraction = std::max(fraction, cost.bytes / seconds / peak.bytes_per_s);
  return fraction;
}

}  // namespace kiln
