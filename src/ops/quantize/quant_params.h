// Scale and zero-point operands of QuantizeLinear/DequantizeLinear: per tensor (a scalar, or one
// element) or per axis (1-D, as long as X's dim at the `axis` attribute). Checked alike by shape
// inference (symbolic shapes) and the kernels (concrete ones).
#pragma once
#include "ops/op.h"

namespace kiln::quant {

// The normalized axis of per-axis parameters, or -1 for per-tensor ones (and while a shape is
// unknown). A scale of rank > 1 (opset 21's blocked form), a length that is not X's dim at
// the axis, an axis outside X's rank, or a zero point shaped unlike the scale is invalid.
int param_axis(const OpContextBase& ctx, const Shape* x, const Shape* scale, const Shape* zero_point);

// Element i of a row-major tensor of dims x belongs to channel (i / inner) % count of axis.
struct AxisWalk {
  int64_t inner = 1, count = 1;
  AxisWalk(const Dims& x, int axis);
  int64_t channel(int64_t i) const { return count == 1 ? 0 : (i / inner) % count; }
};

}  // namespace kiln::quant
