// ResizeSum (resize_sum.h): attributes, shape inference and the CPU reference. The reference
// sums every input's four taps per output in double and rounds once, so it is the oracle for
// both the CUDA kernel and the unfused Resize + Add graph it replaces.
#include "ops/spatial/resize_sum.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "ops/op_util.h"
#include "ops/spatial/spatial_ops.h"

namespace kiln::spatial {
namespace {

struct Attrs {
  int64_t height = 0, width = 0;
  std::vector<std::string> layouts, modes;
  std::vector<int64_t> in_h, in_w;
  std::vector<float> scales;
  bool relu = false;
};

CoordMode coord_mode(const OpContextBase& ctx, const std::string& m) {
  static const std::pair<const char*, CoordMode> kModes[] = {
      {"half_pixel", CoordMode::kHalfPixel},
      {"half_pixel_symmetric", CoordMode::kHalfPixelSymmetric},
      {"pytorch_half_pixel", CoordMode::kPytorchHalfPixel},
      {"align_corners", CoordMode::kAlignCorners},
      {"asymmetric", CoordMode::kAsymmetric},
      {"tf_half_pixel_for_nn", CoordMode::kTfHalfPixelForNn}};
  for (const auto& [name, mode] : kModes)
    if (m == name) return mode;
  // tf_crop_and_resize extrapolates outside its roi: not a weighted sum of the input.
  ctx.invalid("coordinate_transformation_mode '" + m + "' is not one ResizeSum implements");
}

Attrs read_attrs(const OpContextBase& ctx, size_t n) {
  const Attributes& at = ctx.attrs();
  for (const char* name : {"height", "width", "layouts", "input_heights", "input_widths",
                           "coordinate_transformation_modes", "scales"})
    if (!at.has(name)) ctx.invalid(std::string("attribute ") + name + " is required");
  Attrs a;
  a.height = at.get_int("height"), a.width = at.get_int("width");
  if (a.height < 1 || a.width < 1)
    ctx.invalid("height " + std::to_string(a.height) + " and width " + std::to_string(a.width) + " must be positive");
  a.layouts = at.get_strings("layouts");
  a.modes = at.get_strings("coordinate_transformation_modes");
  a.in_h = at.get_ints("input_heights"), a.in_w = at.get_ints("input_widths");
  a.scales = at.get_floats("scales");
  if (a.layouts.size() != n || a.modes.size() != n || a.in_h.size() != n || a.in_w.size() != n ||
      a.scales.size() != 2 * n)
    ctx.invalid("layouts, coordinate_transformation_modes, input_heights and input_widths need one entry per input (" +
                std::to_string(n) + "), scales two");
  for (size_t i = 0; i < n; ++i) {
    if (a.layouts[i] != "nchw" && a.layouts[i] != "tokens")
      ctx.invalid("layout '" + a.layouts[i] + "' must be \"nchw\" or \"tokens\"");
    coord_mode(ctx, a.modes[i]);
    if (a.in_h[i] < 1 || a.in_w[i] < 1) ctx.invalid("input " + std::to_string(i) + " has an empty image");
    for (size_t k = 0; k < 2; ++k) {
      const float s = a.scales[2 * i + k];
      if (!(s >= 0.f) || !std::isfinite(s)) ctx.invalid("scales must be 0 or positive and finite");
      // A scale must give the output size as Resize would: floor(scale * in).
      const int64_t in = k ? a.in_w[i] : a.in_h[i], out = k ? a.width : a.height;
      if (s > 0.f && int64_t(std::floor(double(s) * double(in))) != out)
        ctx.invalid("scale " + std::to_string(s) + " resizes " + std::to_string(in) + " to " +
                    std::to_string(int64_t(std::floor(double(s) * double(in)))) + ", not " + std::to_string(out));
    }
  }
  const std::string act = at.get_string("activation", "none");
  if (act != "none" && act != "relu") ctx.invalid("activation must be \"none\" or \"relu\", not \"" + act + "\"");
  a.relu = act == "relu";
  return a;
}

// The input's (batch, channels) from its shape in its layout, with its image checked.
void check_input(const OpContextBase& ctx, const Attrs& a, size_t i, const Shape& s, Dim& batch, Dim& channels) {
  const bool tokens = a.layouts[i] == "tokens";
  const std::string what = "input " + std::to_string(i) + " " + shape_to_string(s);
  if (s.size() != (tokens ? 3u : 4u))
    ctx.invalid(what + (tokens ? " must be tokens [B, h*w, C]" : " must be [B, C, h, w]"));
  if (tokens && s[1].known() && s[1].value != a.in_h[i] * a.in_w[i])
    ctx.invalid(what + " does not hold " + std::to_string(a.in_h[i]) + "x" + std::to_string(a.in_w[i]) + " tokens");
  if (!tokens && ((s[2].known() && s[2].value != a.in_h[i]) || (s[3].known() && s[3].value != a.in_w[i])))
    ctx.invalid(what + " is not " + std::to_string(a.in_h[i]) + "x" + std::to_string(a.in_w[i]));
  const Dim& b = s[0];
  const Dim& c = tokens ? s[2] : s[1];
  auto merge = [&](Dim& have, const Dim& d, const char* name) {
    if (!d.known()) return;
    if (have.known() && have.value != d.value)
      ctx.invalid(what + ": its " + name + " differs from the other inputs'");
    have = d;
  };
  merge(batch, b, "batch");
  merge(channels, c, "channel count");
}

std::vector<ValueType> infer(const InferContext& ctx) {
  std::vector<ValueType> in;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) in.push_back(ctx.type(i));
  return {resize_sum_type(ctx, in)};
}

// One input's contribution added into acc [C, width] for output row (b, y).
template <class T>
void add_row(const T* x, const ResizeSumInput& in, int64_t channels, int64_t b, int64_t y, std::vector<double>& acc) {
  const int64_t w_out = in.cols.out;
  for (int j = 0; j < 2; ++j) {
    const double wy = in.rows.weight[size_t(2 * y + j)];
    if (wy == 0.0) continue;
    const int64_t iy = in.rows.index[size_t(2 * y + j)];
    for (int64_t c = 0; c < channels; ++c) {
      double* out = acc.data() + c * w_out;
      for (int64_t ox = 0; ox < w_out; ++ox)
        for (int k = 0; k < 2; ++k) {
          const double w = wy * in.cols.weight[size_t(2 * ox + k)];
          if (w == 0.0) continue;
          const int64_t ix = in.cols.index[size_t(2 * ox + k)];
          const int64_t at = in.tokens ? ((b * in.height + iy) * in.width + ix) * channels + c
                                       : ((b * channels + c) * in.height + iy) * in.width + ix;
          out[ox] += w * to_double(x[at]);
        }
    }
  }
}

template <class T>
void forward(const KernelContext& ctx, const ResizeSumPlan& p, Tensor& y) {
  T* out = y.data<T>();
  const size_t row_len = size_t(p.channels * p.width);
  parallel_for(p.batch * p.height, 1, [&](int64_t begin, int64_t end) {
    std::vector<double> acc(row_len);
    for (int64_t r = begin; r < end; ++r) {
      const int64_t b = r / p.height, oy = r % p.height;
      std::fill(acc.begin(), acc.end(), 0.0);
      for (size_t i = 0; i < p.inputs.size(); ++i) add_row(ctx.input(i).data<T>(), p.inputs[i], p.channels, b, oy, acc);
      for (int64_t c = 0; c < p.channels; ++c) {
        T* dst = out + ((b * p.channels + c) * p.height + oy) * p.width;
        for (int64_t ox = 0; ox < p.width; ++ox) {
          const double v = acc[size_t(c * p.width + ox)];
          dst[ox] = from_double<T>(p.relu && v < 0.0 ? 0.0 : v);
        }
      }
    }
  });
}

std::vector<Tensor> cpu(const KernelContext& ctx) {
  std::vector<Dims> dims;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) dims.push_back(ctx.input(i).dims());
  const DType dt = ctx.input(0).dtype();
  for (size_t i = 0; i < ctx.num_inputs(); ++i)
    if (ctx.input(i).dtype() != dt) ctx.invalid("inputs of different dtypes");
  const ResizeSumPlan p = plan_resize_sum(ctx, dims);
  Tensor y(dt, {p.batch, p.channels, p.height, p.width});
  if (y.numel() == 0) return {y};
  if (dt == DType::kF32) forward<float>(ctx, p, y);
  else if (dt == DType::kF16) forward<f16>(ctx, p, y);
  else if (dt == DType::kF64) forward<double>(ctx, p, y);
  else ctx.unsupported(std::string("dtype ") + dtype_name(dt));
  return {y};
}

}  // namespace

ResizeSumPlan plan_resize_sum(const OpContextBase& ctx, const std::vector<Dims>& input_dims) {
  const size_t n = input_dims.size();
  if (n < 1 || n > size_t(kResizeSumMaxInputs))
    ctx.invalid("takes 1 to " + std::to_string(kResizeSumMaxInputs) + " inputs, got " + std::to_string(n));
  const Attrs a = read_attrs(ctx, n);
  ResizeSumPlan p;
  Dim batch, channels;
  for (size_t i = 0; i < n; ++i) check_input(ctx, a, i, shape_of(input_dims[i]), batch, channels);
  p.batch = batch.value, p.channels = channels.value, p.height = a.height, p.width = a.width, p.relu = a.relu;
  for (size_t i = 0; i < n; ++i) {
    ResizeSumInput in;
    in.tokens = a.layouts[i] == "tokens";
    in.height = a.in_h[i], in.width = a.in_w[i];
    ResizeAttrs ra;
    ra.mode = ResizeMode::kLinear;
    ra.coord = coord_mode(ctx, a.modes[i]);
    for (int k = 0; k < 2; ++k) {
      AxisPlan ap;
      ap.in = k ? in.width : in.height;
      ap.out = k ? a.width : a.height;
      const double s = a.scales[2 * i + size_t(k)];
      // As plan_resize: sizes give scale out/in and the exact output length, scales their own.
      ap.scale = s > 0 ? s : double(ap.out) / double(ap.in);
      ap.length_resized = s > 0 ? s * double(ap.in) : double(ap.out);
      (k ? in.cols : in.rows) = make_axis_taps(ra, ap);
    }
    p.inputs.push_back(std::move(in));
  }
  return p;
}

ValueType resize_sum_type(const OpContextBase& ctx, const std::vector<ValueType>& in) {
  const size_t n = in.size();
  if (n < 1 || n > size_t(kResizeSumMaxInputs))
    ctx.invalid("takes 1 to " + std::to_string(kResizeSumMaxInputs) + " inputs, got " + std::to_string(n));
  const DType dt = in[0].dtype;
  if (dt != DType::kF32 && dt != DType::kF16 && dt != DType::kF64)
    ctx.unsupported(std::string("input 0 of type ") + dtype_name(dt) + " is not supported");
  const Attrs a = read_attrs(ctx, n);
  Dim batch, channels;
  for (size_t i = 0; i < n; ++i) {
    if (in[i].dtype != dt)
      ctx.invalid("input " + std::to_string(i) + " is " + dtype_name(in[i].dtype) + ", input 0 is " + dtype_name(dt));
    if (in[i].shape) check_input(ctx, a, i, *in[i].shape, batch, channels);
  }
  return {dt, Shape{batch, channels, Dim(a.height), Dim(a.width)}};
}

void register_resize_sum(OpRegistry& r) {
  r.add({.domain = kKilnDomain, .name = kResizeSumOp, .min_inputs = 1, .max_inputs = kResizeSumMaxInputs,
         .infer = infer, .cpu = cpu});
}

}  // namespace kiln::spatial
