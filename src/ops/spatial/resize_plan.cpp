#include "ops/spatial/resize_plan.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "ops/op_util.h"

namespace kiln::spatial {
namespace {

template <class E>
E pick(const OpContextBase& ctx, const char* attr, const std::string& value,
       std::initializer_list<std::pair<const char*, E>> options) {
  for (const auto& [name, e] : options)
    if (value == name) return e;
  ctx.invalid(std::string("attribute ") + attr + " has invalid value '" + value + "'");
}

}  // namespace

ResizeAttrs parse_resize_attrs(const OpContextBase& ctx) {
  const Attributes& a = ctx.attrs();
  const int opset = ctx.opset();
  if (opset < 11) ctx.unsupported("Resize before opset 11 is not supported");
  ResizeAttrs r;
  r.mode = pick<ResizeMode>(ctx, "mode", a.get_string("mode", "nearest"),
                            {{"nearest", ResizeMode::kNearest},
                             {"linear", ResizeMode::kLinear},
                             {"cubic", ResizeMode::kCubic}});
  std::string coord = a.get_string("coordinate_transformation_mode", "half_pixel");
  // tf_half_pixel_for_nn was dropped in opset 18; half_pixel_symmetric arrived in 19.
  if (coord == "tf_half_pixel_for_nn" && opset >= 18)
    ctx.invalid("coordinate_transformation_mode tf_half_pixel_for_nn was removed in opset 18");
  if (coord == "half_pixel_symmetric" && opset < 19)
    ctx.invalid("coordinate_transformation_mode half_pixel_symmetric needs opset 19");
  r.coord = pick<CoordMode>(ctx, "coordinate_transformation_mode", coord,
                            {{"half_pixel", CoordMode::kHalfPixel},
                             {"half_pixel_symmetric", CoordMode::kHalfPixelSymmetric},
                             {"pytorch_half_pixel", CoordMode::kPytorchHalfPixel},
                             {"align_corners", CoordMode::kAlignCorners},
                             {"asymmetric", CoordMode::kAsymmetric},
                             {"tf_half_pixel_for_nn", CoordMode::kTfHalfPixelForNn},
                             {"tf_crop_and_resize", CoordMode::kTfCropAndResize}});
  r.nearest = pick<NearestMode>(ctx, "nearest_mode",
                                a.get_string("nearest_mode", "round_prefer_floor"),
                                {{"round_prefer_floor", NearestMode::kRoundPreferFloor},
                                 {"round_prefer_ceil", NearestMode::kRoundPreferCeil},
                                 {"floor", NearestMode::kFloor},
                                 {"ceil", NearestMode::kCeil}});
  r.cubic_a = a.get_float("cubic_coeff_a", -0.75f);
  r.exclude_outside = a.get_int("exclude_outside", 0) != 0;
  r.extrapolation = a.get_float("extrapolation_value", 0.0f);
  for (const char* newer : {"antialias", "axes", "keep_aspect_ratio_policy"})
    if (a.has(newer) && opset < 18)
      ctx.invalid(std::string("attribute ") + newer + " needs opset 18");
  r.antialias = a.get_int("antialias", 0) != 0;
  r.raw_axes = a.get_ints("axes", {});
  r.policy = pick<AspectPolicy>(ctx, "keep_aspect_ratio_policy",
                                a.get_string("keep_aspect_ratio_policy", "stretch"),
                                {{"stretch", AspectPolicy::kStretch},
                                 {"not_larger", AspectPolicy::kNotLarger},
                                 {"not_smaller", AspectPolicy::kNotSmaller}});
  return r;
}

std::vector<int> resize_axes(const OpContextBase& ctx, const ResizeAttrs& attrs, int rank) {
  std::vector<int> axes;
  if (attrs.raw_axes.empty()) {
    for (int i = 0; i < rank; ++i) axes.push_back(i);
    return axes;
  }
  for (int64_t a : attrs.raw_axes) {
    int n = normalize_axis(ctx, a, rank);
    if (std::find(axes.begin(), axes.end(), n) != axes.end())
      ctx.invalid("axes lists axis " + std::to_string(n) + " twice");
    axes.push_back(n);
  }
  return axes;
}

std::vector<AxisPlan> plan_resize(const OpContextBase& ctx, const ResizeAttrs& attrs,
                                  const Dims& in_dims, const std::vector<double>* scales,
                                  const std::vector<int64_t>* sizes,
                                  const std::vector<double>* roi) {
  const int rank = int(in_dims.size());
  const std::vector<int> axes = resize_axes(ctx, attrs, rank);
  const size_t na = axes.size();
  if ((scales != nullptr) == (sizes != nullptr))
    ctx.invalid("exactly one of scales and sizes must be given");
  std::vector<AxisPlan> plan(static_cast<size_t>(rank));
  for (int d = 0; d < rank; ++d) {
    plan[size_t(d)].in = plan[size_t(d)].out = in_dims[size_t(d)];
    plan[size_t(d)].length_resized = double(in_dims[size_t(d)]);
  }
  if (roi) {
    if (roi->size() != 2 * na)
      ctx.invalid("roi has " + std::to_string(roi->size()) + " values, expected " +
                  std::to_string(2 * na));
    for (size_t i = 0; i < na; ++i) {
      plan[size_t(axes[i])].roi_start = (*roi)[i];
      plan[size_t(axes[i])].roi_end = (*roi)[na + i];
    }
  }
  if (scales) {
    if (scales->size() != na)
      ctx.invalid("scales has " + std::to_string(scales->size()) + " values, expected " +
                  std::to_string(na));
    for (size_t i = 0; i < na; ++i) {
      double s = (*scales)[i];
      if (!(s > 0.0) || !std::isfinite(s)) ctx.invalid("scales must be positive and finite");
      AxisPlan& p = plan[size_t(axes[i])];
      p.scale = s;
      p.length_resized = s * double(p.in);
      p.out = int64_t(std::floor(p.length_resized));  // floor(input * scale) per the spec
    }
    return plan;
  }
  if (sizes->size() != na)
    ctx.invalid("sizes has " + std::to_string(sizes->size()) + " values, expected " +
                std::to_string(na));
  for (int64_t s : *sizes)
    if (s < 0) ctx.invalid("sizes must be non-negative");
  if (attrs.policy == AspectPolicy::kStretch) {
    for (size_t i = 0; i < na; ++i) {
      AxisPlan& p = plan[size_t(axes[i])];
      p.out = (*sizes)[i];
      if (p.in == 0 && p.out != 0) ctx.invalid("cannot resize an empty axis to a non-empty one");
      p.scale = p.in == 0 ? 1.0 : double(p.out) / double(p.in);
      p.length_resized = double(p.out);
    }
    return plan;
  }
  // keep_aspect_ratio_policy: one scale for every resized axis, lengths rounded half up.
  double scale = attrs.policy == AspectPolicy::kNotLarger ? INFINITY : 0.0;
  for (size_t i = 0; i < na; ++i) {
    const AxisPlan& p = plan[size_t(axes[i])];
    if (p.in == 0) ctx.invalid("keep_aspect_ratio_policy cannot resize an empty axis");
    double s = double((*sizes)[i]) / double(p.in);
    scale = attrs.policy == AspectPolicy::kNotLarger ? std::min(scale, s) : std::max(scale, s);
  }
  for (size_t i = 0; i < na; ++i) {
    AxisPlan& p = plan[size_t(axes[i])];
    p.scale = scale;
    p.length_resized = scale * double(p.in);
    p.out = int64_t(std::floor(p.length_resized + 0.5));
  }
  return plan;
}

}  // namespace kiln::spatial
