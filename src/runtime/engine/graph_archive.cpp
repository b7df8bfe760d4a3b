#include "runtime/engine/graph_archive.h"

#include <set>
#include <variant>

#include "ops/registry.h"

namespace kiln {
namespace {

// Every field of every structure below is written and read by the same template: with a
// ByteWriter each ar.xxx(field) appends it, with a ByteReader it fills it in.

template <class Ar> void field(Ar& ar, int64_t& v);
template <class Ar> void field(Ar& ar, int& v);
template <class Ar> void field(Ar& ar, float& v);
template <class Ar> void field(Ar& ar, std::string& v);
template <class Ar> void field(Ar& ar, DType& dt);
template <class Ar> void field(Ar& ar, Tensor& t);
template <class Ar> void field(Ar& ar, Dim& d);
template <class Ar> void field(Ar& ar, ValueType& t);
template <class Ar> void field(Ar& ar, Value& v);
template <class Ar> void field(Ar& ar, AttrValue& v);
template <class Ar> void field(Ar& ar, Attributes& attrs);
template <class Ar> void field(Ar& ar, Node& n);
template <class Ar> void field(Ar& ar, Graph& g);

template <class Ar> void field(Ar& ar, int64_t& v) { ar.i64(v); }
template <class Ar> void field(Ar& ar, float& v) { ar.f32(v); }
template <class Ar> void field(Ar& ar, std::string& v) { ar.str(v); }

// Vectors: a count, then each element; min_bytes is the smallest encoding of one element,
// so a reader refuses counts the file could not hold before resizing.
template <class Ar, class T> void field(Ar& ar, std::vector<T>& v, uint64_t min_bytes) {
  uint64_t n = v.size();
  ar.count(n, min_bytes);
  if constexpr (Ar::kReading) v.resize(size_t(n));
  for (auto& x : v) field(ar, x);
}
template <class Ar> void field(Ar& ar, std::vector<int64_t>& v) { field<Ar, int64_t>(ar, v, 8); }
template <class Ar> void field(Ar& ar, std::vector<float>& v) { field<Ar, float>(ar, v, 4); }
template <class Ar> void field(Ar& ar, std::vector<std::string>& v) { field<Ar, std::string>(ar, v, 8); }

template <class Ar> void field(Ar& ar, DType& dt) {
  uint8_t code = uint8_t(dt);
  ar.u8(code);
  if (code > uint8_t(DType::kBool)) ar.corrupt("unknown dtype code " + std::to_string(code));
  dt = DType(code);
}

// Element count of dims, refusing negative dims and any count whose bytes the file could not
// hold (checked step by step, so no product overflows).
template <class Ar> int64_t checked_numel(Ar& ar, const Dims& dims, size_t elem_size) {
  for (int64_t d : dims)
    if (d < 0) ar.corrupt("negative tensor dimension");
  for (int64_t d : dims)
    if (d == 0) return 0;
  uint64_t limit = ar.remaining() / elem_size, n = 1;
  for (int64_t d : dims) {
    if (uint64_t(d) > limit / n) ar.corrupt("a tensor larger than the file");
    n *= uint64_t(d);
  }
  return int64_t(n);
}

template <class Ar> void field(Ar& ar, Tensor& t) {
  DType dt = t.dtype();
  field(ar, dt);
  Dims dims = t.dims();
  field(ar, dims);
  if constexpr (Ar::kReading) {
    if (dt == DType::kUndefined) {
      if (!dims.empty()) ar.corrupt("an undefined tensor with dimensions");
      t = Tensor();
      return;
    }
    checked_numel(ar, dims, dtype_size(dt));  // before Tensor allocates
    t = Tensor(dt, dims);
    ar.raw(t.raw(), t.nbytes());
  } else if (t.defined()) {
    ar.raw(t.raw(), t.nbytes());
  }
}

template <class Ar> void field(Ar& ar, Dim& d) {
  ar.i64(d.value);
  ar.str(d.symbol);
  if (d.value < -1) ar.corrupt("dimension " + std::to_string(d.value));
}

template <class Ar> void field(Ar& ar, ValueType& t) {
  field(ar, t.dtype);
  uint8_t has_shape = t.shape.has_value();
  ar.u8(has_shape);
  if constexpr (Ar::kReading)
    if (has_shape) t.shape.emplace();
  if (has_shape) field<Ar, Dim>(ar, *t.shape, 16);
}

template <class Ar> void field(Ar& ar, Value& v) {
  ar.str(v.name);
  field(ar, v.type);
  uint8_t has_constant = v.constant.has_value();
  ar.u8(has_constant);
  if constexpr (Ar::kReading)
    if (has_constant) v.constant.emplace();
  if (has_constant) field(ar, *v.constant);
}

// An AttrValue of kind k, default-constructed (the reader fills it in).
template <size_t I = 0> AttrValue attr_of_kind(size_t k) {
  if constexpr (I < std::variant_size_v<AttrValue>) {
    if (k == I) return AttrValue(std::in_place_index<I>);
    return attr_of_kind<I + 1>(k);
  } else {
    KILN_ASSERT(false);
  }
}

// The kind byte is the AttrValue variant index: 0 int, 1 float, 2 string, 3 ints, 4 floats,
// 5 strings, 6 tensor. A new kind is appended, never inserted (older files keep reading).
template <class Ar> void field(Ar& ar, AttrValue& v) {
  uint8_t kind = uint8_t(v.index());
  ar.u8(kind);
  if constexpr (Ar::kReading) {
    if (kind >= std::variant_size_v<AttrValue>) ar.corrupt("unknown attribute kind " + std::to_string(kind));
    v = attr_of_kind(kind);
  }
  std::visit([&](auto& x) { field(ar, x); }, v);
}

template <class Ar> void field(Ar& ar, Attributes& attrs) {
  uint64_t n = attrs.all().size();
  ar.count(n, 9);  // a name's length + a kind byte
  if constexpr (Ar::kReading) {
    for (uint64_t i = 0; i < n; ++i) {
      std::string name;
      AttrValue value;
      ar.str(name);
      field(ar, value);
      if (attrs.has(name)) ar.corrupt("attribute '" + name + "' twice");
      attrs.set(name, std::move(value));
    }
  } else {
    for (const auto& [name, value] : attrs.all()) {
      std::string key = name;
      AttrValue copy = value;  // shares tensor bytes; the writer only reads it
      ar.str(key);
      field(ar, copy);
    }
  }
}

template <class Ar> void field(Ar& ar, Node& n) {
  ar.str(n.name);
  ar.str(n.op_type);
  ar.str(n.domain);
  int64_t opset = n.opset;
  ar.i64(opset);
  n.opset = int(opset);
  field(ar, n.inputs);
  field(ar, n.outputs);
  field(ar, n.attrs);
}

// A std::map<std::string, V> as a count and (key, value) pairs in key order.
template <class Ar, class V> void field(Ar& ar, std::map<std::string, V>& m, uint64_t min_bytes) {
  uint64_t n = m.size();
  ar.count(n, min_bytes);
  if constexpr (Ar::kReading) {
    for (uint64_t i = 0; i < n; ++i) {
      std::string key;
      V value{};
      ar.str(key);
      field(ar, value);
      if (!m.emplace(key, std::move(value)).second) ar.corrupt("'" + key + "' twice");
    }
  } else {
    for (auto& [key, value] : m) {
      std::string k = key;
      ar.str(k);
      field(ar, value);
    }
  }
}
template <class Ar> void field(Ar& ar, int& v) {
  int64_t wide = v;
  ar.i64(wide);
  v = int(wide);
}

template <class Ar> void field(Ar& ar, Graph& g) {
  ar.str(g.name);
  field<Ar, Value>(ar, g.values, 8 + 8 + 1 + 1 + 1);
  field<Ar, Node>(ar, g.nodes, 6 * 8 + 8);
  field(ar, g.inputs);
  field(ar, g.outputs);
  field<Ar, int>(ar, g.opsets, 16);
  field<Ar, int>(ar, g.source_ops, 16);
}

// A checksum-valid file can still be hand-made: every name used must exist, and every op
// must be one this kiln runs.
void check_references(const Graph& g, const ByteReader& r) {
  auto need = [&](const std::string& name, const std::string& where) {
    if (!g.has_value(name)) r.corrupt(where + " refers to unknown value '" + name + "'");
  };
  for (const auto& [key, v] : g.values)
    if (key != v.name) r.corrupt("value '" + key + "' is stored under another name");
  for (const auto& name : g.inputs) need(name, "a graph input");
  for (const auto& name : g.outputs) need(name, "a graph output");
  // Nodes must stay in topological order: each reads only inputs, constants and values that
  // earlier nodes produced, and each value is produced once.
  std::set<std::string> ready(g.inputs.begin(), g.inputs.end());
  for (const auto& [key, v] : g.values)
    if (v.constant) ready.insert(key);
  const OpRegistry& registry = OpRegistry::instance();
  for (const auto& n : g.nodes) {
    for (const auto& name : n.inputs)
      if (!name.empty()) {
        need(name, n.describe());
        if (!ready.count(name)) r.corrupt(n.describe() + " reads '" + name + "' before it is produced");
      }
    for (const auto& name : n.outputs)
      if (!name.empty()) {
        need(name, n.describe());
        if (!ready.insert(name).second) r.corrupt("'" + name + "' is produced twice");
      }
    if (!registry.find(n.domain, n.op_type))
      fail(ErrorCode::kUnsupported, r.what() + " uses op " + n.op_type +
                                        (n.domain.empty() ? "" : " (domain " + n.domain + ")") +
                                        ", which this kiln does not know; rebuild it with this kiln's `kiln build`");
  }
}

}  // namespace

void write_graph(ByteWriter& w, const Graph& g) {
  field(w, const_cast<Graph&>(g));  // the writer only reads through the reference
}

Graph read_graph(ByteReader& r) {
  Graph g;
  field(r, g);
  check_references(g, r);
  return g;
}

}  // namespace kiln
