// Resize against the independent reference in test_spatial_resize_ref.h: every mode and
// coordinate transform, up/down/non-integer scales, sizes vs scales, axes, aspect policies,
// antialias, tf_crop_and_resize, dtypes, inference and error cases.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "harness.h"
#include "test_spatial_resize_ref.h"

namespace kiln::test {
namespace {

namespace rr = resize_ref;

struct Case {
  Dims in;
  rr::Params p;
  int opset = 13;
  std::vector<float> scales;
  std::vector<int64_t> sizes;
  std::vector<float> roi;
  std::vector<int64_t> axes;
  std::string policy;
  DType dt = DType::kF32;
  bool empty_other = false;  // pass the unused scales/sizes input as an empty tensor
  uint64_t seed = 1;
};

Attributes attrs_of(const Case& c) {
  Attributes a;
  a.set("mode", c.p.mode);
  a.set("coordinate_transformation_mode", c.p.coord);
  a.set("nearest_mode", c.p.nearest);
  a.set("cubic_coeff_a", float(c.p.cubic_a));
  a.set("exclude_outside", int64_t(c.p.exclude_outside));
  a.set("extrapolation_value", float(c.p.extrapolation));
  if (c.p.antialias) a.set("antialias", int64_t(1));
  if (!c.axes.empty()) a.set("axes", c.axes);
  if (!c.policy.empty()) a.set("keep_aspect_ratio_policy", c.policy);
  return a;
}

OpCall call_of(const Case& c, const Tensor& x) {
  OpCall call{.op = "Resize", .attrs = attrs_of(c), .opset = c.opset, .constant_inputs = {1, 2, 3}};
  Tensor roi = c.roi.empty() ? Tensor() : Tensor::from_vector<float>({int64_t(c.roi.size())}, c.roi);
  Tensor scales = !c.scales.empty() ? Tensor::from_vector<float>({int64_t(c.scales.size())}, c.scales)
                  : c.empty_other ? Tensor(DType::kF32, {0})
                                  : Tensor();
  Tensor sizes = !c.sizes.empty() ? Tensor::from_vector<int64_t>({int64_t(c.sizes.size())}, c.sizes)
                 : c.empty_other ? Tensor(DType::kI64, {0})
                                 : Tensor();
  call.inputs = {x, roi, scales};
  if (sizes.defined()) call.inputs.push_back(sizes);
  return call;
}

// The expected per-axis geometry, written out from the spec independently of the kernel.
std::vector<rr::Axis> axes_of(const Case& c) {
  const int rank = int(c.in.size());
  std::vector<int64_t> axes = c.axes;
  if (axes.empty())
    for (int i = 0; i < rank; ++i) axes.push_back(i);
  for (int64_t& a : axes)
    if (a < 0) a += rank;
  std::vector<rr::Axis> out;
  for (int i = 0; i < rank; ++i) out.push_back({c.in[size_t(i)], c.in[size_t(i)], 1.0, double(c.in[size_t(i)])});
  for (size_t i = 0; i < axes.size(); ++i) {
    rr::Axis& a = out[size_t(axes[i])];
    if (!c.roi.empty()) {
      a.roi_start = c.roi[i];
      a.roi_end = c.roi[axes.size() + i];
    }
    if (!c.scales.empty()) {
      a.scale = double(c.scales[i]);
      a.len_resized = a.scale * double(a.in);
      a.out = int64_t(std::floor(a.len_resized));
    } else if (c.policy.empty() || c.policy == "stretch") {
      a.out = c.sizes[i];
      a.scale = double(a.out) / double(a.in);
      a.len_resized = double(a.out);
    }
  }
  if (!c.sizes.empty() && !c.policy.empty() && c.policy != "stretch") {
    double s = c.policy == "not_larger" ? 1e300 : 0.0;
    for (size_t i = 0; i < axes.size(); ++i) {
      double r = double(c.sizes[i]) / double(c.in[size_t(axes[i])]);
      s = c.policy == "not_larger" ? std::min(s, r) : std::max(s, r);
    }
    for (int64_t ax : axes) {
      rr::Axis& a = out[size_t(ax)];
      a.scale = s;
      a.len_resized = s * double(a.in);
      a.out = int64_t(std::floor(a.len_resized + 0.5));
    }
  }
  return out;
}

void check(const Case& c, double tol = 1e-5) {
  SCOPED_TRACE(c.p.mode + "/" + c.p.coord + "/" + c.p.nearest + " in " + dims_to_string(c.in));
  Tensor x = random_tensor(c.dt, c.in, c.seed, -2.0, 2.0);
  if (c.dt == DType::kU8) x = random_tensor(c.dt, c.in, c.seed, 0.0, 250.0);
  std::vector<Tensor> y = run_op(call_of(c, x));
  std::vector<rr::Axis> axes = axes_of(c);
  Dims want_dims;
  for (const rr::Axis& a : axes) want_dims.push_back(a.out);
  expect_dims(y[0], want_dims);
  std::vector<double> want = rr::resize(c.p, to_doubles(x), c.in, axes);
  if (c.dt == DType::kF16 || c.dt == DType::kBF16) {
    // The kernel rounds once per element: compare with the rounded reference.
    Tensor rounded(c.dt, want_dims);
    visit_dtype(c.dt, [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (std::is_same_v<T, f16> || std::is_same_v<T, bf16>)
        for (size_t i = 0; i < want.size(); ++i) rounded.data<T>()[i] = from_double<T>(want[i]);
    });
    want = to_doubles(rounded);
    tol = c.dt == DType::kF16 ? 2e-3 : 1.6e-2;
  }
  expect_close(y[0], want, tol, tol);
}

rr::Params params(std::string mode, std::string coord, std::string nearest = "round_prefer_floor") {
  rr::Params p;
  p.mode = std::move(mode);
  p.coord = std::move(coord);
  p.nearest = std::move(nearest);
  return p;
}

const char* kCoords13[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"};

TEST(SpatialResize, NearestEveryModeAndTransform) {
  for (const char* nm : {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"})
    for (const char* coord : {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                              "tf_half_pixel_for_nn"}) {
      check({.in = {2, 3, 5, 7}, .p = params("nearest", coord, nm), .scales = {1, 1, 1.7f, 0.6f}});
      check({.in = {1, 2, 4, 3}, .p = params("nearest", coord, nm), .scales = {1, 1, 3.0f, 2.5f}});
      check({.in = {1, 1, 17, 9}, .p = params("nearest", coord, nm), .sizes = {1, 1, 5, 23}});
      check({.in = {3, 1, 1}, .p = params("nearest", coord, nm), .sizes = {3, 1, 4}});
    }
}

TEST(SpatialResize, LinearEveryTransformUpDown) {
  for (const char* coord : kCoords13) {
    check({.in = {2, 3, 5, 7}, .p = params("linear", coord), .scales = {1, 1, 1.7f, 0.6f}});
    check({.in = {1, 2, 4, 3}, .p = params("linear", coord), .scales = {1, 1, 3.0f, 2.5f}});
    check({.in = {1, 1, 17, 9}, .p = params("linear", coord), .sizes = {1, 1, 5, 23}});
    check({.in = {1, 1, 8, 8}, .p = params("linear", coord), .sizes = {1, 1, 1, 1}});
    check({.in = {1, 1, 1, 6}, .p = params("linear", coord), .sizes = {1, 1, 3, 6}});
  }
}

TEST(SpatialResize, LinearNdOnAnySubsetOfAxes) {
  // Trilinear on a 5-D tensor, linear on a 3-D one, and resizing the channel axis.
  check({.in = {1, 2, 3, 4, 5}, .p = params("linear", "half_pixel"), .scales = {1, 1, 2.0f, 0.5f, 1.3f}});
  check({.in = {2, 5, 3}, .p = params("linear", "align_corners"), .scales = {1, 1.6f, 2.4f}});
  check({.in = {2, 5, 3, 3}, .p = params("linear", "asymmetric"), .sizes = {3, 2, 3, 3}});
  check({.in = {17}, .p = params("linear", "pytorch_half_pixel"), .sizes = {31}});
}

TEST(SpatialResize, CubicWithCoefficientAndExcludeOutside) {
  for (const char* coord : kCoords13)
    for (bool excl : {false, true})
      for (double a : {-0.75, -0.5}) {
        rr::Params p = params("cubic", coord);
        p.exclude_outside = excl;
        p.cubic_a = a;
        check({.in = {1, 2, 6, 7}, .p = p, .scales = {1, 1, 0.7f, 1.9f}});
        check({.in = {1, 1, 4, 4}, .p = p, .scales = {1, 1, 2.0f, 0.5f}});
        check({.in = {1, 1, 3, 17}, .p = p, .sizes = {1, 1, 8, 5}});
      }
}

TEST(SpatialResize, AntialiasDownsamplingOpset18) {
  for (const char* mode : {"linear", "cubic"})
    for (const char* coord : {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"})
      for (bool excl : {false, true}) {
        rr::Params p = params(mode, coord);
        p.antialias = true;
        p.exclude_outside = excl;
        check({.in = {1, 2, 17, 23}, .p = p, .opset = 18, .scales = {1, 1, 0.3f, 0.55f}});
        check({.in = {1, 1, 16, 9}, .p = p, .opset = 18, .sizes = {1, 1, 5, 12}});  // down + up
      }
}

TEST(SpatialResize, AxesAndAspectPolicyOpset18) {
  check({.in = {2, 3, 5, 7}, .p = params("linear", "half_pixel"), .opset = 18, .scales = {2.5f, 0.4f},
         .axes = {2, -1}});
  check({.in = {2, 3, 5, 7}, .p = params("cubic", "half_pixel"), .opset = 18, .scales = {0.6f, 1.5f},
         .axes = {3, 2}});
  for (const char* policy : {"stretch", "not_larger", "not_smaller"}) {
    check({.in = {1, 2, 5, 7}, .p = params("linear", "half_pixel"), .opset = 18, .sizes = {9, 9},
           .axes = {2, 3}, .policy = policy});
    check({.in = {1, 2, 5, 7}, .p = params("nearest", "asymmetric"), .opset = 18, .sizes = {1, 2, 3, 3},
           .policy = policy});
    check({.in = {1, 2, 5, 7}, .p = params("cubic", "align_corners"), .opset = 19, .sizes = {4, 20},
           .axes = {-2, -1}, .policy = policy});
  }
}

TEST(SpatialResize, HalfPixelSymmetricOpset19) {
  for (const char* mode : {"nearest", "linear", "cubic"}) {
    check({.in = {1, 1, 5, 7}, .p = params(mode, "half_pixel_symmetric"), .opset = 19,
           .scales = {1, 1, 1.7f, 0.55f}});
    check({.in = {1, 1, 4, 3}, .p = params(mode, "half_pixel_symmetric"), .opset = 19,
           .sizes = {1, 1, 9, 2}});
  }
}

TEST(SpatialResize, TfCropAndResizeWithExtrapolation) {
  for (const char* mode : {"nearest", "linear", "cubic"}) {
    rr::Params p = params(mode, "tf_crop_and_resize");
    p.extrapolation = 10.0;
    // roi partly outside [0, 1] so some points extrapolate.
    check({.in = {1, 1, 4, 5}, .p = p, .sizes = {1, 1, 3, 7}, .roi = {0, 0, 0.4f, -0.2f, 1, 1, 1.3f, 0.8f}});
    check({.in = {1, 2, 6, 6}, .p = p, .scales = {1, 1, 0.8f, 1.4f}, .roi = {0, 0, 0.1f, 0.2f, 1, 1, 0.9f, 0.7f}});
    check({.in = {1, 2, 6, 6}, .p = p, .opset = 18, .sizes = {1, 5}, .roi = {0.2f, -0.5f, 0.6f, 1.5f},
           .axes = {2, 3}});
  }
}

TEST(SpatialResize, ScalesVsSizesAndEmptyInputsMeanAbsent) {
  // The same geometry through sizes and through exact scales gives the same result.
  Case by_sizes{.in = {1, 3, 6, 4}, .p = params("linear", "half_pixel"), .sizes = {1, 3, 12, 2},
                .empty_other = true};
  Case by_scales{.in = {1, 3, 6, 4}, .p = params("linear", "half_pixel"), .scales = {1, 1, 2, 0.5f},
                 .empty_other = true};
  check(by_sizes);
  check(by_scales);
  Tensor x = random_tensor(DType::kF32, {1, 3, 6, 4}, 3);
  Tensor a = run_op(call_of(by_sizes, x))[0];
  Tensor b = run_op(call_of(by_scales, x))[0];
  expect_close(a, to_doubles(b), 0, 0);
}

TEST(SpatialResize, SegformerBilinearFastPath) {
  // 256-channel maps upsampled to 128x128 (and a downsample), both half-pixel flavours.
  for (const char* coord : {"half_pixel", "pytorch_half_pixel"}) {
    check({.in = {1, 4, 16, 16}, .p = params("linear", coord), .sizes = {1, 4, 128, 128}});
    check({.in = {1, 7, 32, 33}, .p = params("linear", coord), .scales = {1, 1, 4, 3.9f}});
    check({.in = {2, 3, 64, 64}, .p = params("linear", coord), .sizes = {2, 3, 17, 1}});
  }
}

TEST(SpatialResize, SegformerShapesRunFast) {
  // The decode head's upsampling (256 channels to 128x128); timing shows in the test log.
  for (int64_t hw : {16, 32, 64}) {
    Tensor x = random_tensor(DType::kF32, {1, 256, hw, hw}, 5);
    Case c{.in = {1, 256, hw, hw}, .p = params("linear", "half_pixel"), .sizes = {1, 256, 128, 128}};
    auto t0 = std::chrono::steady_clock::now();
    Tensor y = run_op(call_of(c, x))[0];
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::printf("[ timing ] Resize 1x256x%lldx%lld -> 128x128: %.1f ms\n", (long long)hw, (long long)hw, ms);
    expect_dims(y, {1, 256, 128, 128});
  }
}

TEST(SpatialResize, DtypesF64F16Bf16AndIntegerNearest) {
  for (DType dt : {DType::kF64, DType::kF16, DType::kBF16}) {
    Case c{.in = {1, 2, 5, 7}, .p = params("cubic", "half_pixel"), .scales = {1, 1, 1.5f, 0.6f}, .dt = dt};
    check(c, 1e-12);
    c.p = params("linear", "align_corners");
    check(c, 1e-12);
  }
  for (DType dt : {DType::kU8, DType::kI64, DType::kI32, DType::kI8, DType::kF16})
    check({.in = {1, 2, 5, 7}, .p = params("nearest", "asymmetric", "round_prefer_ceil"),
           .scales = {1, 1, 2.2f, 0.7f}, .dt = dt}, 0);
}

TEST(SpatialResize, ConformanceAnchors) {
  // Values from the ONNX node tests, computed by hand: align_corners divides by scale*in - 1.
  Tensor x = Tensor::from_vector<float>({1, 1, 2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  Case c{.in = {1, 1, 2, 4}, .p = params("linear", "align_corners"), .scales = {1, 1, 0.6f, 0.6f}};
  expect_close(run_op(call_of(c, x))[0], {1.0, 1.0 + 3.0 / 1.4}, 1e-6, 1e-6);
  std::vector<float> v(16);
  for (int i = 0; i < 16; ++i) v[size_t(i)] = float(i + 1);
  Tensor x4 = Tensor::from_vector<float>({1, 1, 4, 4}, v);
  Case pt{.in = {1, 1, 4, 4}, .p = params("linear", "pytorch_half_pixel"), .sizes = {1, 1, 3, 1}};
  expect_close(run_op(call_of(pt, x4))[0], {1.6666666, 7.0, 12.333333}, 1e-5, 1e-5);
}

TEST(SpatialResize, InferenceShapes) {
  Tensor x = random_tensor(DType::kF32, {1, 3, 5, 7}, 1);
  Case c{.in = {1, 3, 5, 7}, .p = params("linear", "half_pixel"), .scales = {1, 1, 2.5f, 0.3f}};
  OpCall call = call_of(c, x);
  auto t = infer_op(call);
  ASSERT_TRUE(t[0].shape);
  EXPECT_EQ(shape_to_string(*t[0].shape), "1x3x12x2");
  call.constant_inputs = {};  // scales only typed: resized dims unknown, rank kept
  t = infer_op(call);
  ASSERT_TRUE(t[0].shape);
  EXPECT_EQ(t[0].shape->size(), 4u);
  EXPECT_FALSE((*t[0].shape)[2].known());
}

void expect_code(const OpCall& call, ErrorCode code) { EXPECT_EQ(int(error_code_of(call)), int(code)); }

TEST(SpatialResize, Errors) {
  Tensor x = random_tensor(DType::kF32, {1, 1, 4, 4}, 1);
  Case both{.in = {1, 1, 4, 4}, .p = params("linear", "half_pixel"), .scales = {1, 1, 2, 2},
            .sizes = {1, 1, 8, 8}};
  expect_code(call_of(both, x), ErrorCode::kInvalidModel);
  Case neither{.in = {1, 1, 4, 4}, .p = params("linear", "half_pixel")};
  expect_code(call_of(neither, x), ErrorCode::kInvalidModel);
  Case bad_mode{.in = {1, 1, 4, 4}, .p = params("bilinear", "half_pixel"), .scales = {1, 1, 2, 2}};
  expect_code(call_of(bad_mode, x), ErrorCode::kInvalidModel);
  Case bad_len{.in = {1, 1, 4, 4}, .p = params("linear", "half_pixel"), .scales = {2, 2}};
  expect_code(call_of(bad_len, x), ErrorCode::kInvalidModel);
  Case neg{.in = {1, 1, 4, 4}, .p = params("linear", "half_pixel"), .scales = {1, 1, -2, 2}};
  expect_code(call_of(neg, x), ErrorCode::kInvalidModel);
  Case axes13{.in = {1, 1, 4, 4}, .p = params("linear", "half_pixel"), .scales = {2, 2}, .axes = {2, 3}};
  expect_code(call_of(axes13, x), ErrorCode::kInvalidModel);
  Case bad_axis{.in = {1, 1, 4, 4}, .p = params("linear", "half_pixel"), .opset = 18, .scales = {2, 2},
                .axes = {2, 4}};
  expect_code(call_of(bad_axis, x), ErrorCode::kInvalidModel);
  Case sym18{.in = {1, 1, 4, 4}, .p = params("linear", "half_pixel_symmetric"), .opset = 18,
             .scales = {1, 1, 2, 2}};
  expect_code(call_of(sym18, x), ErrorCode::kInvalidModel);
  Case crop_no_roi{.in = {1, 1, 4, 4}, .p = params("linear", "tf_crop_and_resize"), .scales = {1, 1, 2, 2}};
  expect_code(call_of(crop_no_roi, x), ErrorCode::kInvalidModel);
  Case lin_int{.in = {1, 1, 4, 4}, .p = params("linear", "half_pixel"), .scales = {1, 1, 2, 2}};
  expect_code(call_of(lin_int, random_tensor(DType::kU8, {1, 1, 4, 4}, 1, 0, 9)), ErrorCode::kUnsupported);
  Case nearest{.in = {1, 1, 4, 4}, .p = params("nearest", "half_pixel"), .scales = {1, 1, 2, 2}};
  expect_code(call_of(nearest, random_tensor(DType::kBool, {1, 1, 4, 4}, 1)), ErrorCode::kUnsupported);
}

}  // namespace
}  // namespace kiln::test
