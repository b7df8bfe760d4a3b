// Composes kiln.Remap's stages (remap_compile.h). The state is a view of the current
// intermediate tensor T in terms of the input X: each dim of T is a list of factors (outer to
// inner); a factor's coordinate either moves X's offset by a stride or feeds a piecewise axis,
// whose segments map the axis coordinate to an X offset or to the fill. Each stage rewrites the
// view; X is never touched.
#include "ops/tensor/remap_compile.h"

#include <algorithm>
#include <climits>

#include "ir/tensor.h"
#include "ops/op_util.h"

namespace kiln::tensor_ops {
namespace {

struct Factor {
  int64_t size;
  int axis;        // -1: moves the offset; else the piecewise axis it feeds
  int64_t stride;  // X elements per coordinate, or axis coordinates per coordinate
};

struct Segment {
  int64_t begin, end;
  bool fill;
  int64_t start, step;  // u = start + step·(v − begin)
};

struct Term {
  int64_t div, mod, stride;  // stride · ((u / div) % mod), mod 0: none
};

struct Axis {
  int64_t offset = 0;
  std::vector<Segment> segs;
  std::vector<Term> terms;
  bool dead = false;
};

struct View {
  int64_t base = 0;
  std::vector<std::vector<Factor>> dims;
  std::vector<Axis> axes;
};

int add_axis(View& w, int64_t n, std::vector<Term> terms) {
  w.axes.push_back({0, {{0, n, false, 0, 1}}, std::move(terms), false});
  return int(w.axes.size() - 1);
}

// A dim of several offset-moving factors (dims an earlier reshape merged) as one factor feeding
// a new axis whose terms split the coordinate back into them: what a crop or a roll of merged
// dims needs. False when a factor feeds an axis already.
bool radix_dim(View& w, size_t axis) {
  std::vector<Factor>& d = w.dims[axis];
  std::vector<Term> terms;
  int64_t inner = 1;
  for (size_t k = d.size(); k-- > 0;) {
    if (d[k].axis >= 0) return false;
    terms.push_back({inner, k == 0 ? 0 : d[k].size, d[k].stride});
    inner *= d[k].size;
  }
  d.assign(1, Factor{inner, add_axis(w, inner, std::move(terms)), 1});
  return true;
}

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }  // b > 0
int64_t ceil_div(int64_t a, int64_t b) { return -floor_div(-a, b); }

bool reshape(View& w, const Dims& to) {
  std::vector<Factor> flat;
  for (const auto& d : w.dims)
    for (const Factor& f : d)
      if (f.size != 1) flat.push_back(f);
  std::vector<std::vector<Factor>> out;
  size_t k = 0;
  for (int64_t want : to) {
    std::vector<Factor> dim;
    for (int64_t need = want; need > 1;) {
      if (k == flat.size()) return false;
      Factor& f = flat[k];
      if (need % f.size == 0) {  // the whole factor
        dim.push_back(f);
        need /= f.size;
        ++k;
      } else if (f.size % need == 0) {  // its outer part; the inner part stays for the next dim
        dim.push_back({need, f.axis, f.stride * (f.size / need)});
        f.size /= need;
        need = 1;
      } else {
        return false;  // the new dim boundary cuts a factor unevenly
      }
    }
    out.push_back(std::move(dim));
  }
  if (k != flat.size()) return false;
  w.dims = std::move(out);
  return true;
}

bool slice(View& w, size_t axis, int64_t start, int64_t step, int64_t n) {
  std::vector<Factor>& d = w.dims[axis];
  if (d.empty()) return true;  // a dim of 1 sliced to itself
  if (d.size() > 1) {          // merged dims: a whole-row slice of the outer one, else a radix axis
    int64_t inner = 1;
    for (size_t i = 1; i < d.size(); ++i) inner *= d[i].size;
    if (step == 1 && start % inner == 0 && n % inner == 0) {
      start /= inner;
      n /= inner;
    } else if (!radix_dim(w, axis)) {
      return false;
    }
  }
  Factor& f = d[0];
  (f.axis < 0 ? w.base : w.axes[size_t(f.axis)].offset) += f.stride * start;
  f.stride *= step;
  f.size = n;
  if (n == 1) d.erase(d.begin());
  return true;
}

// The segments of the new axis: `outer` in the coordinate c of the dim (fill, or c = start + t
// from the segment's begin), composed with what the dim already was.
bool piecewise(View& w, size_t axis, int64_t n, const std::vector<Segment>& outer) {
  std::vector<Factor>& d = w.dims[axis];
  if (d.size() > 1 && !radix_dim(w, axis)) return false;
  if (d.empty()) d.push_back({1, -1, 0});
  Factor& f = d[0];
  if (f.axis < 0) f = Factor{f.size, add_axis(w, f.size, {{1, 0, f.stride}}), 1};
  for (const auto& dim : w.dims)
    for (const Factor& g : dim)
      if (g.axis == f.axis && &g != &f) return false;  // the axis also varies elsewhere
  Axis& old = w.axes[size_t(f.axis)];
  const int64_t m = f.stride;
  std::vector<Segment> segs;
  for (const Segment& o : outer) {
    if (o.fill) {
      segs.push_back(o);
      continue;
    }
    const int64_t a0 = old.offset + m * o.start, len = o.end - o.begin;
    for (const Segment& g : old.segs) {
      const int64_t lo = std::max<int64_t>(0, ceil_div(g.begin - a0, m));
      const int64_t hi = std::min<int64_t>(len - 1, floor_div(g.end - 1 - a0, m));
      if (lo > hi) continue;
      segs.push_back({o.begin + lo, o.begin + hi + 1, g.fill, g.fill ? 0 : g.start + g.step * (a0 + m * lo - g.begin),
                      g.fill ? 0 : g.step * m});
    }
  }
  std::vector<Segment> merged;  // neighbours that continue one another become one
  for (const Segment& s : segs) {
    if (!merged.empty()) {
      Segment& p = merged.back();
      const bool both_fill = p.fill && s.fill;
      const bool continues = !p.fill && !s.fill && p.step == s.step && s.start == p.start + p.step * (p.end - p.begin);
      if (both_fill || continues) {
        p.end = s.end;
        continue;
      }
    }
    merged.push_back(s);
  }
  old.dead = true;
  std::vector<Term> terms = old.terms;
  if (merged.size() == 1 && !merged[0].fill && terms.size() == 1 && terms[0].div == 1 && terms[0].mod == 0) {
    w.base += terms[0].stride * merged[0].start;  // affine after all: a plain strided factor
    d.clear();
    if (n > 1) d.push_back({n, -1, terms[0].stride * merged[0].step});
    return true;
  }
  w.axes.push_back({0, std::move(merged), std::move(terms), false});
  d.assign(1, Factor{n, int(w.axes.size() - 1), 1});
  return true;
}

bool apply(View& w, const RemapStage& s, const Dims& in, const Dims& out) {
  switch (s.kind) {
    case RemapKind::kReshape: return reshape(w, out);
    case RemapKind::kTranspose: {
      std::vector<std::vector<Factor>> dims;
      for (int64_t p : s.v) dims.push_back(w.dims[size_t(p)]);
      w.dims = std::move(dims);
      return true;
    }
    case RemapKind::kSlice: return slice(w, size_t(s.v[0]), s.v[1], s.v[2], s.v[3]);
    case RemapKind::kPad: {
      const size_t axis = size_t(s.v[0]);
      const int64_t b = s.v[1], n = in[axis];
      std::vector<Segment> o;
      if (b > 0) o.push_back({0, b, true, 0, 0});
      o.push_back({b, b + n, false, 0, 1});
      if (s.v[2] > 0) o.push_back({b + n, out[axis], true, 0, 0});
      return piecewise(w, axis, out[axis], o);
    }
    case RemapKind::kPieces: {
      std::vector<Segment> o;
      int64_t at = 0;
      for (size_t i = 1; i < s.v.size(); i += 2) {
        if (s.v[i + 1] == 0) continue;
        o.push_back({at, at + s.v[i + 1], false, s.v[i], 1});
        at += s.v[i + 1];
      }
      return piecewise(w, size_t(s.v[0]), out[size_t(s.v[0])], o);
    }
  }
  return false;
}

// The view as a program: factors flattened and merged where contiguous, live axes renumbered.
std::optional<RemapProgram> finish(const View& w) {
  RemapProgram p;
  std::vector<int> renumber(w.axes.size(), -1);
  int64_t src_max = w.base, coord_max = 0;
  for (size_t a = 0; a < w.axes.size(); ++a) {
    const Axis& x = w.axes[a];
    if (x.dead) continue;
    if (p.axes == kRemapMaxAxes || x.segs.size() > size_t(kRemapMaxSegments) || x.terms.size() > size_t(kRemapMaxTerms))
      return std::nullopt;
    RemapAxis& ax = p.axis_map[p.axes];
    ax.offset = x.offset;
    int64_t u_max = 0;
    for (const Segment& s : x.segs) {
      ax.seg[ax.segments++] = {s.begin, s.end, s.start, s.step, s.fill};
      if (!s.fill) u_max = std::max(u_max, s.start + s.step * (s.end - 1 - s.begin));
    }
    for (const Term& t : x.terms) {
      ax.term[ax.terms++] = {t.div, t.mod, t.stride};
      src_max += t.stride * (t.mod ? t.mod - 1 : u_max / t.div);
    }
    coord_max = std::max(coord_max, u_max);
    renumber[a] = p.axes++;
  }
  std::vector<Factor> flat;
  for (const auto& d : w.dims)
    for (const Factor& f : d) {
      if (f.size == 1) continue;
      Factor g{f.size, f.axis < 0 ? -1 : renumber[size_t(f.axis)], f.stride};
      if (!flat.empty() && flat.back().axis == g.axis && flat.back().stride == g.stride * g.size) {
        flat.back() = {flat.back().size * g.size, g.axis, g.stride};
        continue;
      }
      flat.push_back(g);
    }
  if (flat.size() > size_t(kRemapMaxFactors)) return std::nullopt;
  p.numel = 1;
  std::vector<int64_t> v_max(size_t(p.axes));
  for (int a = 0; a < p.axes; ++a) v_max[size_t(a)] = p.axis_map[a].offset;
  for (const Factor& f : flat) {
    p.size[p.factors] = f.size;
    p.stride[p.factors] = f.stride;
    p.axis[p.factors++] = f.axis;
    p.numel *= f.size;
    (f.axis < 0 ? src_max : v_max[size_t(f.axis)]) += f.stride * (f.size - 1);
  }
  for (int64_t v : v_max) coord_max = std::max(coord_max, v);
  p.base = w.base;
  // A segment's end is one past its last coordinate: it too must fit in 32 bits.
  p.index32 = p.numel <= INT32_MAX && src_max <= INT32_MAX && coord_max < INT32_MAX;
  return p;
}

}  // namespace

std::optional<RemapProgram> compile_remap(const std::vector<RemapStage>& stages, const Dims& x) {
  if (x.size() > size_t(kRemapMaxRank)) return std::nullopt;
  for (int64_t d : x)
    if (d <= 0) return std::nullopt;
  View w;
  const Dims strides = contiguous_strides(x);
  for (size_t i = 0; i < x.size(); ++i) w.dims.push_back(x[i] == 1 ? std::vector<Factor>{} : std::vector<Factor>{{x[i], -1, strides[i]}});
  Dims in = x;
  std::string error;
  remap_dims(stages, x, &error);
  if (!error.empty()) return std::nullopt;
  for (const RemapStage& s : stages) {
    const Dims out = remap_stage_dims(s, in, &error);
    if (!error.empty()) return std::nullopt;
    for (int64_t d : out)
      if (d <= 0) return std::nullopt;
    if (!apply(w, s, in, out)) return std::nullopt;
    in = out;
  }
  return finish(w);
}

bool widen_remap(RemapProgram& p, int64_t w) {
  if (p.factors == 0 || w < 2) return false;
  const int last = p.factors - 1;
  if (p.axis[last] >= 0 || p.stride[last] != 1 || p.size[last] % w != 0 || p.base % w != 0) return false;
  for (int f = 0; f < last; ++f)
    if (p.axis[f] < 0 && p.stride[f] % w != 0) return false;
  for (int a = 0; a < p.axes; ++a)
    for (int t = 0; t < p.axis_map[a].terms; ++t)
      if (p.axis_map[a].term[t].stride % w != 0) return false;
  p.size[last] /= w;
  for (int f = 0; f < last; ++f)
    if (p.axis[f] < 0) p.stride[f] /= w;
  for (int a = 0; a < p.axes; ++a)
    for (int t = 0; t < p.axis_map[a].terms; ++t) p.axis_map[a].term[t].stride /= w;
  p.base /= w;
  p.numel /= w;
  return true;
}

}  // namespace kiln::tensor_ops
