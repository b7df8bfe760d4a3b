#include "passes/convert_precision.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "ops/attention/attention_keep_mask.h"
#include "ops/elementwise/pointwise_program.h"
#include "ops/quantize/int8_conv.h"
#include "ops/quantize/int8_matmul.h"
#include "ops/registry.h"
#include "passes/infer_shapes.h"
#include "passes/pattern.h"
#include "passes/precision_islands.h"

namespace kiln {
namespace {

constexpr int64_t kOnnxFloat = 1, kOnnxFloat16 = 10;
constexpr float kF16Max = 65504.0f;

constexpr const char* kFeedsFp32Only = "feeds only float32 parameters or comparisons";
constexpr const char* kFixedOutput = "op output stays float32 (Range, LayerNormalization statistics)";

// GEMM-like ops accumulate in fp32 and need fp16 operands for tensor-core speed; rounding their
// output once keeps its sign, so a threshold after them still sees the right side. The float32
// region behind a parameter or a comparison stops at them.
bool is_gemm_like(const Node& n) {
  const std::string& op = n.op_type;
  if (n.domain == kKilnDomain) return op == "FusedMatMul" || op == "PatchEmbedTokens";
  return n.domain.empty() &&
         (op == "MatMul" || op == "Gemm" || op == "Conv" || op == "ConvTranspose" || op == "Einsum");
}

// Inputs that stay float32 because fp16 would change what the op does, not just how precisely:
// parameters rather than data, and decisions. Pow's exponent and GridSample's grid stay data:
// the CUDA Pow kernel needs both operands in one dtype (exported exponents 2, 0.5, 3 are exact
// in fp16), and the grid is an activation computed from the image.
bool is_fp32_input(const Node& n, size_t slot) {
  if (is_kiln_op(&n, quant::kInt8MatMulOp) || is_kiln_op(&n, quant::kInt8ConvOp))
    return slot == 1 || slot == 3;  // x_scale, w_scale
  if (is_kiln_op(&n, attention::kAttentionKeepMaskOp)) return true;  // logits thresholded: a decision
  if (!n.domain.empty()) return false;
  const std::string& op = n.op_type;
  if (op == "Resize") return slot == 1 || slot == 2;  // roi, scales: output size, coordinate map
  if (op == "Range") return true;                     // start/limit/delta fix the element count
  if (op == "Dropout") return slot == 1;              // ratio
  if (op == "OneHot") return slot == 1;               // depth
  // Quantization scales are parameters; QuantizeLinear's x is a decision too: fp16 would move
  // it across a rounding boundary to another integer.
  if (op == "QuantizeLinear") return slot <= 1;
  if (op == "DequantizeLinear") return slot == 1;
  // A float cast to an integer or bool is index arithmetic: fp16 moves integers above 2048.
  if (op == "Cast") return !dtype_is_float(dtype_from_onnx(int32_t(n.attrs.get_int("to"))));
  // A comparison is a decision: rounding its operands flips it near the threshold (Mask2Former's
  // masked attention thresholds sigmoid(mask logits) at 0.5, where fp16 resolves only 2^-12).
  return op == "Less" || op == "Greater" || op == "LessOrEqual" || op == "GreaterOrEqual" ||
         op == "Equal";
}

// Inputs an op reads as float32 or float16 alike, rounding float32 to its compute type itself:
// they take whichever version exists, so a float32 graph input needs no Cast (PatchEmbedTokens'
// picture: the Cast alone was a pass over the whole image).
bool reads_either_float(const Node& n, size_t slot) {
  return is_kiln_op(&n, "PatchEmbedTokens") && slot == 0;
}

// fp16's largest finite value is 65504. Larger constants are clamped to ±65504, not rounded to
// ±inf: exported attention masks (-1e9, finfo.min) are often multiplied by a 0/1 mask before
// they are added, and -inf * 0 is NaN where -65504 * 0 is 0; added to a score, -65504 still
// sends Softmax's exp() to exactly 0, so masked keys keep zero weight. Nonzero values that would
// round to 0 become ±2^-24 so that an epsilon guarding a division or a sqrt stays nonzero.
Tensor to_f16(const Tensor& t, PrecisionReport* r) {
  Tensor out(DType::kF16, t.dims());
  const float* src = t.data<float>();
  f16* dst = out.data<f16>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    float v = src[i];
    if (std::isfinite(v) && std::abs(v) > kF16Max) {
      v = std::copysign(kF16Max, v);
      if (r) ++r->elements_clamped;
    }
    uint16_t bits = float_to_f16(v);
    if (v != 0 && std::isfinite(v) && (bits & 0x7fff) == 0) {
      bits |= 1;
      if (r) ++r->elements_kept_nonzero;
    }
    dst[i].bits = bits;
  }
  return out;
}

// Ops whose attribute, not an input, decides the output type follow their float outputs to fp16.
void retarget_attributes(Node& n, PrecisionReport* r) {
  if (!n.domain.empty()) return;
  if (n.op_type == "Cast" && n.attrs.get_int("to") == kOnnxFloat) n.attrs.set("to", kOnnxFloat16);
  if (n.op_type == "EyeLike" && n.attrs.get_int("dtype", 0) == kOnnxFloat)
    n.attrs.set("dtype", kOnnxFloat16);
  if (n.op_type == "ConstantOfShape") {  // no value: ONNX's default, a float32 zero
    Tensor v = n.attrs.has("value") ? n.attrs.get_tensor("value") : Tensor::scalar<float>(0.0f);
    if (v.dtype() == DType::kF32) n.attrs.set("value", to_f16(v, r));
  }
}

// Where a float32 value lives now: under its own name, a cast of it, or a converted copy.
struct Versions {
  std::string f32, f16;
};

class Converter {
 public:
  Converter(Graph& g, PrecisionReport& r, PrecisionIslands islands)
      : g_(g), r_(r), src_(std::move(g.nodes)), islands_(std::move(islands)) {
    g_.nodes.clear();
    for (const auto& [name, v] : g_.values) dtype0_[name] = v.type.dtype;
    outputs_.insert(g_.outputs.begin(), g_.outputs.end());
    auto it = g_.opsets.find("");
    cast_opset_ = it != g_.opsets.end() ? it->second : 17;
    for (const auto& [name, v] : g_.values)
      if (v.type.dtype == DType::kF32 && (v.constant || is_graph_input(name))) ver_[name].f32 = name;
  }

  void run() {
    decide_fp32_nodes();
    for (size_t i = 0; i < src_.size(); ++i) convert_node(i);
    g_.nodes = std::move(out_);
    rename_constant_copies();
    g_.remove_dead_nodes();
    count_kept_fp32();
  }

 private:
  bool was_f32(const std::string& v) const { return dtype0_.at(v) == DType::kF32; }
  bool is_graph_input(const std::string& v) const {
    return std::find(g_.inputs.begin(), g_.inputs.end(), v) != g_.inputs.end();
  }
  // Whether node n (source node i) reads input `slot` as float32: a parameter or decision, or
  // an island's float32 input.
  bool wants_fp32(const Node& n, size_t i, size_t slot) const {
    return is_fp32_input(n, slot) || islands_.fp32_slots.count({i, slot}) > 0;
  }

  // Backwards: a node stays float32 when every float32 output it has feeds only inputs that stay
  // float32 (parameters, comparisons, or nodes kept float32): shape arithmetic that ends in
  // Resize scales, Mask2Former's Resize → Sigmoid → Tile → Less attention masks.
  void decide_fp32_nodes() {
    std::map<std::string, std::vector<std::pair<size_t, size_t>>> uses;
    for (size_t i = 0; i < src_.size(); ++i)
      for (size_t s = 0; s < src_[i].inputs.size(); ++s)
        if (src_[i].has_input(s)) uses[src_[i].inputs[s]].push_back({i, s});
    fp32_reason_ = islands_.node_reason;
    for (size_t i = src_.size(); i-- > 0;) {
      const Node& n = src_[i];
      // Island nodes are decided already: wholly float32, or mixed (fp16 operands, fp32 output).
      if (!fp32_reason_[i].empty() || !islands_.mixed_reason[i].empty()) continue;
      if (!n.domain.empty() && n.domain != kKilnDomain) {  // plugin ops: their fp16 support is unknown
        fp32_reason_[i] = "op outside the default domain";
        continue;
      }
      // Engines fuse elementwise chains after this conversion (fuse_elementwise.h); a Pointwise
      // met here (a graph converted after the whole pipeline) may hold comparisons whose operands
      // must stay float32, so it stays float32 whole.
      if (is_kiln_op(&n, ew::kPointwiseOp)) {
        fp32_reason_[i] = "kiln.Pointwise (elementwise chains are fused after fp16 conversion)";
        continue;
      }
      bool any = false, all = true;
      for (const auto& o : n.outputs) {
        if (o.empty() || !was_f32(o)) continue;
        any = true;
        auto it = uses.find(o);
        bool kept = !outputs_.count(o) && it != uses.end();
        for (size_t k = 0; kept && k < it->second.size(); ++k) {
          auto [u, s] = it->second[k];
          kept = !fp32_reason_[u].empty() || wants_fp32(src_[u], u, s);
        }
        all = all && kept;
      }
      if (any && all && !is_gemm_like(n)) fp32_reason_[i] = kFeedsFp32Only;
    }
  }

  // Whether the op's schema accepts the node with its float32 data inputs in fp16.
  bool accepts_fp16(const Node& n) const {
    Node trial = n;
    retarget_attributes(trial, nullptr);
    std::vector<Value> tmp(trial.inputs.size());
    InferContext ctx{{trial}, {}};
    for (size_t s = 0; s < trial.inputs.size(); ++s) {
      if (!trial.has_input(s)) {
        ctx.inputs.push_back(nullptr);
        continue;
      }
      tmp[s] = g_.value(trial.inputs[s]);
      if (was_f32(trial.inputs[s]) && !is_fp32_input(trial, s)) {
        tmp[s].type.dtype = DType::kF16;
        tmp[s].constant.reset();  // data inputs: only their type matters to inference
      }
      ctx.inputs.push_back(&tmp[s]);
    }
    const OpSchema* schema = OpRegistry::instance().find(trial.domain, trial.op_type);
    KILN_ASSERT(schema);
    try {
      schema->infer(ctx);
      return true;
    } catch (const Error&) {
      return false;
    }
  }

  // A Cast node into value `to`, which already exists with its type.
  void add_cast(const std::string& from, const std::string& to, DType dt) {
    Node c;
    c.name = to;
    c.op_type = "Cast";
    c.opset = cast_opset_;
    c.inputs = {from};
    c.outputs = {to};
    c.attrs.set("to", int64_t(dtype_to_onnx(dt)));
    out_.push_back(std::move(c));
    ++r_.casts_inserted;
  }

  // The name under which float32 value v is available as `want`, made on first request: a
  // converted copy for a constant (converted once, here), a Cast for anything else.
  std::string version(const std::string& v, DType want) {
    Versions& x = ver_[v];
    std::string& have = want == DType::kF16 ? x.f16 : x.f32;
    if (!have.empty()) return have;
    const std::string& from = want == DType::kF16 ? x.f32 : x.f16;
    KILN_ASSERT(!from.empty());
    const std::string base = v + (want == DType::kF16 ? "/fp16" : "/fp32");
    const Value& src = g_.value(from);
    if (src.constant) {
      KILN_ASSERT(want == DType::kF16);
      ++r_.constants_converted;
      return have = add_value(g_, base, {DType::kF16, src.type.shape}, to_f16(*src.constant, &r_));
    }
    const std::string name = add_value(g_, base, {want, src.type.shape});
    add_cast(from, name, want);
    return have = name;
  }

  void convert_node(size_t i) {
    Node n = std::move(src_[i]);
    std::string reason = fp32_reason_[i];
    if (reason.empty() && !accepts_fp16(n)) reason = "op rejects float16";
    const bool to16 = reason.empty();
    if (to16) retarget_attributes(n, &r_);
    for (size_t s = 0; s < n.inputs.size(); ++s)
      if (n.has_input(s) && was_f32(n.inputs[s])) {
        DType want = to16 && !wants_fp32(n, i, s) ? DType::kF16 : DType::kF32;
        if (want == DType::kF16 && reads_either_float(n, s) && ver_[n.inputs[s]].f16.empty()) want = DType::kF32;
        n.inputs[s] = version(n.inputs[s], want);
      }
    try {
      infer_node(g_, n);
    } catch (const Error& e) {
      fail(ErrorCode::kInternal, std::string("internal error: fp16 conversion: ") + e.what());
    }
    std::vector<std::string> public_outputs;
    for (auto& o : n.outputs) {
      if (o.empty() || !was_f32(o)) continue;
      DType now = g_.value(o).type.dtype;
      KILN_ASSERT(now == DType::kF16 || now == DType::kF32);
      if (now == DType::kF32) {
        ver_[o].f32 = o;
        kept_[o] = !to16                                ? reason
                   : !islands_.mixed_reason[i].empty() ? islands_.mixed_reason[i]
                                                       : kFixedOutput;
        continue;
      }
      ++r_.values_converted;
      if (!outputs_.count(o)) {
        ver_[o].f16 = o;
        continue;
      }
      // A graph output keeps its name and float32 type behind a final Cast.
      std::string internal = add_value(g_, o + "/fp16", g_.value(o).type);
      g_.value(o).type.dtype = DType::kF32;
      ver_[o] = {o, internal};
      public_outputs.push_back(o);
      o = internal;
    }
    out_.push_back(std::move(n));
    for (const auto& o : public_outputs) add_cast(ver_[o].f16, o, DType::kF32);
  }

  // A constant no float32 parameter reads any more is replaced by its fp16 copy, under its name.
  void rename_constant_copies() {
    std::set<std::string> used(outputs_.begin(), outputs_.end());
    for (const Node& n : g_.nodes) used.insert(n.inputs.begin(), n.inputs.end());
    std::map<std::string, std::string> renamed;  // copy → original name
    for (const auto& [name, v] : ver_) {
      if (v.f16.empty() || v.f16 == name || !g_.is_constant(name) || used.count(name)) continue;
      Value copy = std::move(g_.values.at(v.f16));
      g_.values.erase(v.f16);
      copy.name = name;
      g_.values[name] = std::move(copy);
      renamed[v.f16] = name;
    }
    for (Node& n : g_.nodes)
      for (auto& in : n.inputs)
        if (auto it = renamed.find(in); it != renamed.end()) in = it->second;
  }

  void count_kept_fp32() {
    for (const auto& [name, v] : g_.values) {
      if (v.type.dtype != DType::kF32 || !dtype0_.count(name) || !was_f32(name)) continue;
      std::string why;
      if (is_graph_input(name)) why = "graph input";
      else if (outputs_.count(name)) why = ver_[name].f16.empty() ? "graph output kept float32" : "";
      else if (v.constant) why = "constant read as a float32 parameter";
      else why = kept_.at(name);  // every other float32 value left is a node output
      if (why.empty()) continue;
      ++r_.kept_fp32[why];
      ++r_.values_kept_fp32;
    }
  }

  Graph& g_;
  PrecisionReport& r_;
  std::vector<Node> src_, out_;
  std::map<std::string, DType> dtype0_;  // every value's type before the rewrite
  std::set<std::string> outputs_;
  int cast_opset_ = 17;
  PrecisionIslands islands_;                // indexed like src_
  std::vector<std::string> fp32_reason_;  // per source node: why it stays float32; "" converts
  std::map<std::string, Versions> ver_;   // float32 values by original name
  std::map<std::string, std::string> kept_;  // node outputs left float32 → why
};

// Every node must still pass its schema's inference, and the public interface must not move.
void verify(Graph& g, const std::map<std::string, DType>& public_types) {
  for (const Node& n : g.nodes) {
    try {
      infer_node(g, n);
    } catch (const Error& e) {
      fail(ErrorCode::kInternal,
           std::string("internal error: fp16 conversion left an invalid graph: ") + e.what());
    }
  }
  for (const auto& [name, dt] : public_types) KILN_ASSERT(g.value(name).type.dtype == dt);
}

}  // namespace

PrecisionReport convert_to_fp16(Graph& g) {
  PrecisionReport r;
  bool any_f32 = false;
  for (const auto& [name, v] : g.values) any_f32 = any_f32 || v.type.dtype == DType::kF32;
  if (!any_f32) return r;
  std::map<std::string, DType> public_types;
  for (const auto& v : g.inputs) public_types[v] = g.value(v).type.dtype;
  for (const auto& v : g.outputs) public_types[v] = g.value(v).type.dtype;
  PrecisionIslands islands = find_precision_islands(g);
  Converter(g, r, std::move(islands)).run();
  verify(g, public_types);
  return r;
}

std::string describe(const PrecisionReport& r) {
  std::string s = std::to_string(r.values_converted) + " values and " +
                  std::to_string(r.constants_converted) + " constants to float16, " +
                  std::to_string(r.casts_inserted) + " casts, " + std::to_string(r.values_kept_fp32) +
                  " kept float32";
  std::string why;
  for (const auto& [reason, n] : r.kept_fp32)
    why += (why.empty() ? "" : "; ") + reason + ": " + std::to_string(n);
  if (!why.empty()) s += " (" + why + ")";
  if (r.elements_clamped)
    s += ", " + std::to_string(r.elements_clamped) + " constant elements clamped to ±65504";
  return s;
}

}  // namespace kiln
