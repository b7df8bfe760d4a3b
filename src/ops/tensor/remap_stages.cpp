// kiln.Remap's stage strings (remap_stages.h): parsing, printing and the dims each produces.
// Every number is bounded before it is used, so hostile attributes give a message, not an
// overflow.
#include "ops/tensor/remap_stages.h"

#include <algorithm>
#include <charconv>

#include "ir/tensor.h"

namespace kiln::tensor_ops {
namespace {

constexpr int64_t kMaxExtent = int64_t(1) << 40;  // any size or offset a stage may name

struct KindName {
  RemapKind kind;
  const char* name;
};
constexpr KindName kKinds[] = {{RemapKind::kReshape, "reshape"},
                               {RemapKind::kTranspose, "transpose"},
                               {RemapKind::kSlice, "slice"},
                               {RemapKind::kPad, "pad"},
                               {RemapKind::kPieces, "pieces"}};

std::string list(const std::vector<int64_t>& v) {
  std::string s;
  for (int64_t x : v) {
    if (!s.empty()) s += ',';
    s += std::to_string(x);
  }
  return s;
}

bool fail(std::string* error, std::string message) {
  *error = std::move(message);
  return false;
}

// The axis named by v[0], checked against rank.
bool axis_ok(int64_t axis, size_t rank, std::string* error) {
  if (axis < 0 || axis >= int64_t(rank))
    return fail(error, "axis " + std::to_string(axis) + " is outside the input's rank " + std::to_string(rank));
  return true;
}

// The product of dims stays within kMaxExtent (the CPU reference allocates every stage).
bool numel_ok(const Dims& d) {
  int64_t n = 1;
  for (int64_t x : d)
    if (__builtin_mul_overflow(n, x, &n) || n > kMaxExtent) return false;
  return true;
}

}  // namespace

bool parse_remap_stage(const std::string& text, RemapStage* out, std::string* error) {
  const size_t colon = text.find(':');
  if (colon == std::string::npos) return fail(error, "stage '" + text + "' has no ':' (kind:numbers)");
  const std::string kind = text.substr(0, colon);
  bool known = false;
  for (const KindName& k : kKinds)
    if (kind == k.name) out->kind = k.kind, known = true;
  if (!known) return fail(error, "stage '" + text + "' has an unknown kind (reshape, transpose, slice, pad, pieces)");
  out->v.clear();
  const char* p = text.data() + colon + 1;
  const char* end = text.data() + text.size();
  while (p < end) {
    int64_t x = 0;
    auto [next, ec] = std::from_chars(p, end, x);
    if (ec != std::errc() || x < -kMaxExtent || x > kMaxExtent || (next < end && *next != ','))
      return fail(error, "stage '" + text + "' has a malformed or out-of-range number");
    out->v.push_back(x);
    p = next < end ? next + 1 : next;
    if (next < end && p == end) return fail(error, "stage '" + text + "' ends in a comma");
  }
  return true;
}

std::string format_remap_stage(const RemapStage& s) {
  for (const KindName& k : kKinds)
    if (k.kind == s.kind) return std::string(k.name) + ":" + list(s.v);
  return "?";
}

std::vector<std::string> format_remap_stages(const std::vector<RemapStage>& stages) {
  std::vector<std::string> out;
  for (const RemapStage& s : stages) out.push_back(format_remap_stage(s));
  return out;
}

Dims remap_stage_dims(const RemapStage& s, const Dims& in, std::string* error) {
  error->clear();
  Dims out = in;
  const auto bad = [&](const std::string& m) {  // the message is built only on failure
    *error = "stage '" + format_remap_stage(s) + "' on " + dims_to_string(in) + ": " + m;
    return Dims{};
  };
  switch (s.kind) {
    case RemapKind::kReshape: {
      if (s.v.size() > size_t(kRemapMaxRank)) return bad("rank above " + std::to_string(kRemapMaxRank));
      int64_t n = 1, m = 1;
      for (int64_t d : s.v) {
        if (d < 0) return bad("a dim is negative");
        if (__builtin_mul_overflow(n, d, &n) || n > kMaxExtent) return bad("too many elements");
      }
      for (int64_t d : in) m *= d;
      if (n != m) return bad("the element counts differ");
      return s.v;
    }
    case RemapKind::kTranspose: {
      if (s.v.size() != in.size()) return bad("perm and input ranks differ");
      std::vector<bool> seen(in.size(), false);
      for (size_t i = 0; i < s.v.size(); ++i) {
        const int64_t p = s.v[i];
        if (p < 0 || p >= int64_t(in.size()) || seen[size_t(p)]) return bad("perm is not a permutation");
        seen[size_t(p)] = true;
        out[i] = in[size_t(p)];
      }
      return out;
    }
    case RemapKind::kSlice: {
      if (s.v.size() != 4) return bad("needs axis,start,step,count");
      if (!axis_ok(s.v[0], in.size(), error)) return bad(*error);
      const int64_t dim = in[size_t(s.v[0])], start = s.v[1], step = s.v[2], n = s.v[3];
      if (start < 0 || step < 1 || n < 0) return bad("start must be ≥ 0, step ≥ 1, count ≥ 0");
      // (n − 1)·step ≤ dim − 1 − start without forming the product, which can overflow.
      if (n > 0 && (start >= dim || n - 1 > (dim - 1 - start) / step)) return bad("the slice runs past the axis");
      out[size_t(s.v[0])] = n;
      return out;
    }
    case RemapKind::kPad: {
      if (s.v.size() != 3) return bad("needs axis,before,after");
      if (!axis_ok(s.v[0], in.size(), error)) return bad(*error);
      if (s.v[1] < 0 || s.v[2] < 0) return bad("pads must be ≥ 0");
      out[size_t(s.v[0])] += s.v[1] + s.v[2];
      return numel_ok(out) ? out : bad("too many elements");
    }
    case RemapKind::kPieces: {
      if (s.v.size() < 3 || s.v.size() % 2 == 0) return bad("needs axis and (start,count) pairs");
      if (!axis_ok(s.v[0], in.size(), error)) return bad(*error);
      const int64_t dim = in[size_t(s.v[0])];
      int64_t total = 0;
      for (size_t i = 1; i < s.v.size(); i += 2) {
        const int64_t start = s.v[i], n = s.v[i + 1];
        if (start < 0 || n < 0 || start + n > dim) return bad("a piece lies outside the axis");
        total += n;
        if (total > kMaxExtent) return bad("too many elements");
      }
      out[size_t(s.v[0])] = total;
      return numel_ok(out) ? out : bad("too many elements");
    }
  }
  return bad("unknown stage kind");
}

Dims remap_dims(const std::vector<RemapStage>& stages, const Dims& x, std::string* error) {
  std::vector<Dims> dims = {x};
  for (const RemapStage& s : stages) {
    dims.push_back(remap_stage_dims(s, dims.back(), error));
    if (!error->empty()) return {};
  }
  int64_t ends = 0;
  for (const Dims* d : {&dims.front(), &dims.back()}) ends = std::max(ends, numel_of(*d));
  for (size_t i = 1; i + 1 < dims.size(); ++i)
    if (numel_of(dims[i]) > 2 * std::max<int64_t>(ends, 1)) {
      *error = "stage '" + format_remap_stage(stages[i - 1]) + "' makes " + std::to_string(numel_of(dims[i])) +
               " elements, more than twice the larger of the input and the result";
      return {};
    }
  return dims.back();
}

}  // namespace kiln::tensor_ops
