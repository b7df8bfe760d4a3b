#include "passes/commute_resize_conv.h"

#include <cstring>
#include <optional>
#include <set>

#include "passes/pattern.h"

namespace kiln {
namespace {

bool is_float(const Graph& g, const std::string& v) {
  if (v.empty() || !g.has_value(v)) return false;
  const DType dt = g.value(v).type.dtype;
  return dt == DType::kF32 || dt == DType::kF16;
}

// A rank-4 shape whose channel and spatial dims are known (the batch may be symbolic).
const Shape* image_shape(const Graph& g, const std::string& v) {
  if (v.empty() || !g.has_value(v)) return nullptr;
  const auto& s = g.value(v).type.shape;
  if (!s || s->size() != 4) return nullptr;
  for (size_t i = 1; i < 4; ++i)
    if (!(*s)[i].known()) return nullptr;
  return &*s;
}

int64_t pixels(const Shape& s) { return s[2].value * s[3].value; }

std::optional<Tensor> constant(const Graph& g, const Node& n, size_t slot) {
  if (!n.has_input(slot) || !g.is_constant(n.inputs[slot])) return std::nullopt;
  const Tensor& t = *g.value(n.inputs[slot]).constant;
  if (t.numel() == 0) return std::nullopt;  // "" or an empty tensor: the other of scales/sizes
  return t;
}

// Resize's axes attribute (opset 18) normalized for rank 4; absent: every axis.
std::optional<std::vector<int>> resize_axes(const Node& r) {
  std::vector<int> axes;
  for (int64_t a : r.attrs.get_ints("axes", {0, 1, 2, 3})) {
    if (a < -4 || a > 3) return std::nullopt;
    axes.push_back(int(a < 0 ? a + 4 : a));
  }
  return axes;
}

// A Resize whose every output pixel is a weighted average of its input with weights summing to
// 1, over the last two axes only (see the header).
bool averaging_resize(const Graph& g, const Node& r) {
  if (r.inputs.empty() || r.outputs.size() != 1) return false;
  const Attributes& a = r.attrs;
  const std::string mode = a.get_string("mode", "nearest");
  if (mode != "nearest" && mode != "linear" && mode != "cubic") return false;
  if (a.get_string("coordinate_transformation_mode", "half_pixel") == "tf_crop_and_resize") return false;
  if (a.get_int("antialias", 0) != 0 || a.get_int("exclude_outside", 0) != 0) return false;
  if (a.get_string("keep_aspect_ratio_policy", "stretch") != "stretch") return false;
  const Shape* x = image_shape(g, r.inputs[0]);
  auto axes = resize_axes(r);
  if (!x || !axes) return false;
  // Batch and channel axes, where listed, keep their length exactly.
  if (auto scales = constant(g, r, 2)) {
    if (scales->numel() != int64_t(axes->size())) return false;
    for (size_t i = 0; i < axes->size(); ++i)
      if ((*axes)[i] < 2 && scales->at_double(int64_t(i)) != 1.0) return false;
    return true;
  }
  if (auto sizes = constant(g, r, 3)) {
    if (sizes->numel() != int64_t(axes->size())) return false;
    for (size_t i = 0; i < axes->size(); ++i)
      if ((*axes)[i] < 2 && (!(*x)[size_t((*axes)[i])].known() ||
                             int64_t(sizes->at_double(int64_t(i))) != (*x)[size_t((*axes)[i])].value))
        return false;
    return true;
  }
  return false;  // scales and sizes not constant
}

struct Branch {
  std::string x;                 // what the branch's conv reads
  const Node* resize = nullptr;  // between x and the Concat, or none
  int64_t channels = 0;
};

struct Match {
  const Node* conv;
  std::vector<Branch> branches;
};

std::optional<Match> match(const Graph& g, const GraphIndex& idx, const Node& conv) {
  if (!is_pointwise_conv(g, conv)) return std::nullopt;
  const Node* concat = idx.producer(conv.inputs[0]);
  if (!is_op(concat, "Concat") || concat->inputs.size() < 2 || !idx.used_only_by(conv.inputs[0], conv))
    return std::nullopt;
  const Shape* in = image_shape(g, conv.inputs[0]);
  const Shape* out = image_shape(g, conv.outputs[0]);
  if (!in || !out) return std::nullopt;
  const int64_t axis = concat->attrs.get_int("axis", 0);
  if (axis != 1 && axis != -3) return std::nullopt;
  const DType dt = g.value(conv.inputs[0]).type.dtype;
  if (!is_float(g, conv.inputs[0]) || g.value(conv.inputs[1]).type.dtype != dt) return std::nullopt;
  const int64_t M = (*out)[1].value;

  // Cost in conv multiply-adds + elements written by Resize/Concat/Add (the header's rule).
  const double p0 = double(pixels(*in));
  double before = double(M) * double((*in)[1].value) * p0 + double((*in)[1].value) * p0;
  double after = double(concat->inputs.size() - 1) * double(M) * p0;
  Match m{&conv, {}};
  int64_t channels = 0;
  bool upsampled = false;
  for (const std::string& v : concat->inputs) {
    const Shape* s = image_shape(g, v);
    if (!s || !is_float(g, v) || g.value(v).type.dtype != dt) return std::nullopt;
    Branch b{v, nullptr, (*s)[1].value};
    const Node* r = idx.producer(v);
    if (is_op(r, "Resize")) {
      if (!idx.used_only_by(v, *concat) || !averaging_resize(g, *r)) return std::nullopt;
      b.x = r->inputs[0];
      b.resize = r;
    }
    const Shape* xs = image_shape(g, b.x);
    if (!xs || g.value(b.x).type.dtype != dt || (*xs)[1].value != b.channels) return std::nullopt;
    after += double(M) * double(b.channels) * double(pixels(*xs));
    upsampled |= b.resize && pixels(*xs) < pixels(*in);
    if (b.resize) before += double(b.channels) * p0, after += double(M) * p0;
    channels += b.channels;
    m.branches.push_back(b);
  }
  if (channels != (*in)[1].value || g.value(conv.inputs[1]).constant->dims()[1] != channels) return std::nullopt;
  if (!upsampled || !(after < before)) return std::nullopt;
  return m;
}

// W[:, c0 : c0 + n] of a [M, C, 1, 1] weight, any element type.
Tensor slice_channels(const Tensor& w, int64_t c0, int64_t n) {
  const int64_t M = w.dims()[0], C = w.dims()[1];
  const size_t es = dtype_size(w.dtype());
  Tensor out(w.dtype(), {M, n, 1, 1});
  for (int64_t o = 0; o < M; ++o)
    std::memcpy(static_cast<char*>(out.raw()) + size_t(o * n) * es,
                static_cast<const char*>(w.raw()) + size_t(o * C + c0) * es, size_t(n) * es);
  return out;
}

Node make_node(std::string name, const char* op, int opset, std::vector<std::string> in, std::string out) {
  Node n;
  n.name = std::move(name);
  n.op_type = op;
  n.opset = opset;
  n.inputs = std::move(in);
  n.outputs = {std::move(out)};
  return n;
}

// The rewritten branches and their sum, writing the Conv's output.
std::vector<Node> rewrite(Graph& g, const Match& m) {
  const Node& conv = *m.conv;
  const std::string& z = conv.outputs[0];
  const ValueType zt = g.value(z).type;
  const Tensor w = *g.value(conv.inputs[1]).constant;
  const int64_t M = w.dims()[0];
  size_t bias_at = 0;  // a branch without Resize when there is one
  for (size_t i = 0; i < m.branches.size(); ++i)
    if (!m.branches[i].resize) {
      bias_at = i;
      break;
    }
  std::vector<Node> nodes;
  std::vector<std::string> terms;
  int64_t c0 = 0;
  for (size_t i = 0; i < m.branches.size(); ++i) {
    const Branch& b = m.branches[i];
    const std::string tag = conv.name + "/branch" + std::to_string(i);
    const std::string wi = add_value(g, z + "/w" + std::to_string(i), {w.dtype(), shape_of({M, b.channels, 1, 1})},
                                     slice_channels(w, c0, b.channels));
    c0 += b.channels;
    Shape low = *g.value(b.x).type.shape;
    low[1] = Dim(M);
    std::string y = add_value(g, z + "/branch" + std::to_string(i), {zt.dtype, low});
    std::vector<std::string> in = {b.x, wi};
    if (conv.has_input(2) && i == bias_at) in.push_back(conv.inputs[2]);
    Node c = make_node(tag, "Conv", conv.opset, std::move(in), y);
    c.attrs = conv.attrs;
    nodes.push_back(std::move(c));
    if (b.resize) {
      Node r = *b.resize;
      r.name = tag + "/resize";
      r.inputs[0] = y;
      if (!constant(g, r, 2)) {  // sizes given (scales apply to any channel count)
        const Tensor sizes = *constant(g, r, 3);
        const std::vector<int> axes = *resize_axes(r);  // sizes lists them in this order
        Tensor s(DType::kI64, sizes.dims());
        for (int64_t k = 0; k < s.numel(); ++k)
          s.data<int64_t>()[k] = axes[size_t(k)] == 1 ? M : int64_t(sizes.at_double(k));
        r.inputs[3] = add_value(g, z + "/sizes" + std::to_string(i), {DType::kI64, shape_of(s.dims())}, s);
      }
      Shape full = *zt.shape;
      full[0] = low[0];
      y = add_value(g, z + "/resized" + std::to_string(i), {zt.dtype, full});
      r.outputs = {y};
      nodes.push_back(std::move(r));
    }
    terms.push_back(y);
  }
  std::string sum = terms[0];
  for (size_t i = 1; i < terms.size(); ++i) {
    const bool last = i + 1 == terms.size();
    const std::string out = last ? z : add_value(g, z + "/sum" + std::to_string(i), zt);
    nodes.push_back(make_node(last ? conv.name : conv.name + "/add" + std::to_string(i), "Add", conv.opset,
                              {sum, terms[i]}, out));
    sum = out;
  }
  return nodes;
}

}  // namespace

int commute_resize_conv(Graph& g) {
  const auto found = collect_matches(g, [&](const GraphIndex& idx, const Node& n) { return match(g, idx, n); });
  if (found.empty()) return 0;
  std::vector<Node> added;
  std::set<const Node*> replaced;
  for (const Match& m : found) {
    for (Node& n : rewrite(g, m)) added.push_back(std::move(n));
    replaced.insert(m.conv);
  }
  replace_nodes(g, replaced, std::move(added));  // the Concats and old Resizes now feed nothing
  return int(found.size());
}

}  // namespace kiln
