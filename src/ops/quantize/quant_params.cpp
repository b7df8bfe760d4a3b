#include "ops/quantize/quant_params.h"

#include "ops/op_util.h"

namespace kiln::quant {

namespace {

// A known one-element shape: [] or [1] (exporters write both for per-tensor parameters).
bool one_element(const Shape* s) {
  if (!s) return false;
  for (const Dim& d : *s)
    if (!d.known() || d.value != 1) return false;
  return true;
}

}  // namespace

int param_axis(const OpContextBase& ctx, const Shape* x, const Shape* scale, const Shape* zero_point) {
  if (scale && zero_point && !(one_element(scale) && one_element(zero_point))) {
    bool same = scale->size() == zero_point->size();
    for (size_t i = 0; same && i < scale->size(); ++i) {
      const Dim &a = (*scale)[i], &b = (*zero_point)[i];
      same = !(a.known() && b.known() && a.value != b.value);
    }
    if (!same)
      ctx.invalid("zero point " + shape_to_string(*zero_point) + " is not shaped like scale " +
                  shape_to_string(*scale));
  }
  if (!scale || scale->empty()) return -1;
  if (scale->size() > 1)
    ctx.unsupported("scale " + shape_to_string(*scale) + " has rank > 1 (blocked quantization, opset 21)");
  const Dim& n = (*scale)[0];
  // A one-element scale is per tensor, as exporters write it: no axis to check.
  if (n.known() && n.value == 1) return -1;
  if (!x) return -1;
  const int axis = normalize_axis(ctx, ctx.attrs().get_int("axis", 1), int(x->size()));
  const Dim& xd = (*x)[size_t(axis)];
  if (n.known() && xd.known() && n.value != xd.value)
    ctx.invalid("scale has " + std::to_string(n.value) + " elements but axis " + std::to_string(axis) +
                " of " + shape_to_string(*x) + " has " + std::to_string(xd.value));
  return axis;
}

AxisWalk::AxisWalk(const Dims& x, int axis) {
  if (axis < 0) return;
  count = x[size_t(axis)];
  for (size_t d = size_t(axis) + 1; d < x.size(); ++d) inner *= x[d];
}

}  // namespace kiln::quant
