// GridSample against a double-precision reference written from PyTorch's documented
// semantics (reflection by repeated mirroring, per-tap padding for bicubic), both opset
// generations, every mode and padding, out-of-range grid points, hand-checked anchors.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "harness.h"

namespace kiln::test {
namespace {

struct Gs {
  std::string mode;  // linear / nearest / cubic (reference names)
  std::string pad;
  bool align = false;
};

double unnorm(double g, int64_t size, bool align) {
  return align ? (g + 1) / 2 * double(size - 1) : ((g + 1) * double(size) - 1) / 2;
}

// Mirrors x at the bounds until it lies in [lo, hi].
double mirror(double x, double lo, double hi) {
  if (lo == hi) return 0;
  while (x < lo || x > hi) x = x < lo ? 2 * lo - x : 2 * hi - x;
  return x;
}

double padded(double x, int64_t size, const Gs& g) {
  if (g.pad == "border") return std::clamp(x, 0.0, double(size - 1));
  if (g.pad == "reflection") {
    x = g.align ? mirror(x, 0, double(size - 1)) : mirror(x, -0.5, double(size) - 0.5);
    return std::clamp(x, 0.0, double(size - 1));
  }
  return x;
}

double keys(double t) {
  const double A = -0.75;
  t = std::fabs(t);
  if (t <= 1) return (A + 2) * t * t * t - (A + 3) * t * t + 1;
  if (t < 2) return A * t * t * t - 5 * A * t * t + 8 * A * t - 4 * A;
  return 0;
}

// Reference output for X (N, C, spatial...) and grid (N, out..., r).
std::vector<double> reference(const Tensor& xt, const Tensor& gt, const Gs& g) {
  const std::vector<double> x = to_doubles(xt), grid = to_doubles(gt);
  const int r = xt.rank() - 2;
  const int64_t n_batch = xt.dim(0), ch = xt.dim(1);
  int64_t plane = 1, points = 1;
  for (int d = 0; d < r; ++d) {
    plane *= xt.dim(2 + d);
    points *= gt.dim(1 + d);
  }
  std::vector<double> out;
  for (int64_t n = 0; n < n_batch; ++n)
    for (int64_t c = 0; c < ch; ++c)
      for (int64_t p = 0; p < points; ++p) {
        std::vector<std::vector<std::pair<int64_t, double>>> taps(static_cast<size_t>(r));
        for (int d = 0; d < r; ++d) {
          const int64_t size = xt.dim(2 + d);
          const double gv = grid[size_t((n * points + p) * r + (r - 1 - d))];
          auto& t = taps[size_t(d)];
          if (g.mode == "cubic") {
            const double u = unnorm(gv, size, g.align);
            const double f = std::floor(u);
            for (int k = 0; k < 4; ++k) {
              const double tap = f - 1 + k;
              t.push_back({int64_t(padded(tap, size, g)), keys(u - tap)});
            }
          } else {
            const double u = padded(unnorm(gv, size, g.align), size, g);
            if (g.mode == "nearest") {
              // PyTorch: nearbyint (ties to even) in 2-D, std::round in 3-D.
              t.push_back({int64_t(r == 3 ? std::round(u) : std::nearbyint(u)), 1.0});
            } else {
              const double f = std::floor(u);
              t.push_back({int64_t(f), 1 - (u - f)});
              t.push_back({int64_t(f) + 1, u - f});
            }
          }
        }
        std::function<double(int, int64_t)> sum = [&](int d, int64_t off) -> double {
          if (d == r) return x[size_t((n * ch + c) * plane + off)];
          double acc = 0;
          const int64_t size = xt.dim(2 + d);
          int64_t stride = 1;
          for (int e = d + 1; e < r; ++e) stride *= xt.dim(2 + e);
          for (const auto& [i, w] : taps[size_t(d)])
            if (i >= 0 && i < size) acc += w * sum(d + 1, off + i * stride);
          return acc;
        };
        out.push_back(sum(0, 0));
      }
  return out;
}

Attributes gs_attrs(const Gs& g, int opset) {
  Attributes a;
  std::string mode = g.mode;
  if (opset < 20 && mode == "linear") mode = "bilinear";
  if (opset < 20 && mode == "cubic") mode = "bicubic";
  a.set("mode", mode);
  a.set("padding_mode", g.pad);
  a.set("align_corners", int64_t(g.align));
  return a;
}

void check(const Gs& g, int opset, const Dims& xd, const Dims& gd, DType dt = DType::kF32,
           double tol = 2e-5) {
  SCOPED_TRACE(g.mode + "/" + g.pad + "/align=" + std::to_string(g.align) + " opset " +
               std::to_string(opset) + " X " + dims_to_string(xd));
  Tensor x = random_tensor(dt, xd, 11, -2, 2);
  Tensor grid = random_tensor(dt, gd, 12, -1.7, 1.7);  // many points outside [-1, 1]
  std::vector<Tensor> y = run_op({.op = "GridSample", .inputs = {x, grid}, .attrs = gs_attrs(g, opset),
                                  .opset = opset});
  Dims want = {xd[0], xd[1]};
  for (size_t i = 1; i + 1 < gd.size(); ++i) want.push_back(gd[i]);
  expect_dims(y[0], want);
  expect_close(y[0], reference(x, grid, g), tol, tol);
}

TEST(SpatialGridSample, Opset16FourDEveryModeAndPadding) {
  for (const char* mode : {"linear", "nearest", "cubic"})
    for (const char* pad : {"zeros", "border", "reflection"})
      for (bool align : {false, true}) {
        check({mode, pad, align}, 16, {2, 3, 5, 7}, {2, 4, 6, 2});
        check({mode, pad, align}, 16, {1, 2, 1, 6}, {1, 3, 5, 2});  // a length-1 axis
      }
}

TEST(SpatialGridSample, Opset20TwoAndThreeAndOneD) {
  for (const char* mode : {"linear", "nearest", "cubic"})
    for (const char* pad : {"zeros", "border", "reflection"})
      for (bool align : {false, true}) {
        check({mode, pad, align}, 20, {2, 3, 5, 7}, {2, 4, 6, 2});
        check({mode, pad, align}, 20, {1, 2, 3, 4, 5}, {1, 2, 3, 4, 3});
        check({mode, pad, align}, 20, {2, 3, 9}, {2, 5, 1});
      }
}

TEST(SpatialGridSample, Dtypes) {
  check({"linear", "zeros", false}, 16, {1, 2, 5, 7}, {1, 4, 6, 2}, DType::kF64, 1e-12);
  check({"cubic", "reflection", true}, 16, {1, 2, 5, 7}, {1, 4, 6, 2}, DType::kF64, 1e-12);
  check({"linear", "border", false}, 16, {1, 2, 5, 7}, {1, 4, 6, 2}, DType::kF16, 1e-2);
  check({"nearest", "zeros", false}, 16, {1, 2, 5, 7}, {1, 4, 6, 2}, DType::kBF16, 2e-2);
}

TEST(SpatialGridSample, MaskFormerDeformableShape) {
  // Deformable attention: (batch*heads, 32, H, W) sampled at (queries, points) locations.
  check({"linear", "zeros", false}, 16, {8, 32, 16, 16}, {8, 300, 4, 2});
}

// X = [1, 2, 3, 4] as 1x1x1x4; samples along x at the given normalized coordinates.
std::vector<double> sample_row(const Gs& g, std::vector<float> gx, int opset = 16) {
  std::vector<float> gv;
  for (float v : gx) {
    gv.push_back(v);
    gv.push_back(0.0f);
  }
  Tensor x = Tensor::from_vector<float>({1, 1, 1, 4}, {1, 2, 3, 4});
  Tensor grid = Tensor::from_vector<float>({1, 1, int64_t(gx.size()), 2}, gv);
  return to_doubles(run_op({.op = "GridSample", .inputs = {x, grid}, .attrs = gs_attrs(g, opset),
                            .opset = opset})[0]);
}

TEST(SpatialGridSample, HandCheckedAnchors) {
  // Nearest ties go to even (x = 0.5, 1.5, 2.5 -> 0, 2, 2).
  EXPECT_EQ(sample_row({"nearest", "zeros", false}, {-0.5f, 0.0f, 0.5f}),
            (std::vector<double>{1, 3, 3}));
  // x = -0.5: half of pixel 0 with zeros padding; clipped to pixel 0 for border/reflection.
  EXPECT_EQ(sample_row({"linear", "zeros", false}, {-1.0f}), (std::vector<double>{0.5}));
  EXPECT_EQ(sample_row({"linear", "border", false}, {-1.0f}), (std::vector<double>{1.0}));
  // x = -1.5 reflects about -0.5 to 0.5; x = 4.25 reflects about 3.5 to 2.75.
  EXPECT_EQ(sample_row({"linear", "reflection", false}, {-1.5f, 1.375f}),
            (std::vector<double>{1.5, 3.75}));
  // align_corners: reflection about 0 and 3; g = -1.5 -> x = -0.75 -> 0.75.
  EXPECT_EQ(sample_row({"linear", "reflection", true}, {-1.5f}), (std::vector<double>{1.75}));
  // Non-finite coordinates sample nothing.
  EXPECT_EQ(sample_row({"linear", "zeros", false}, {NAN, INFINITY}), (std::vector<double>{0, 0}));
}

void expect_code(const OpCall& call, ErrorCode code) { EXPECT_EQ(int(error_code_of(call)), int(code)); }

TEST(SpatialGridSample, Errors) {
  Tensor x4 = random_tensor(DType::kF32, {1, 2, 4, 4}, 1);
  Tensor g4 = random_tensor(DType::kF32, {1, 3, 3, 2}, 2);
  Tensor x5 = random_tensor(DType::kF32, {1, 2, 4, 4, 4}, 1);
  Tensor g5 = random_tensor(DType::kF32, {1, 3, 3, 3, 3}, 2);
  Attributes a;
  expect_code({.op = "GridSample", .inputs = {x5, g5}, .attrs = a, .opset = 16}, ErrorCode::kInvalidModel);
  EXPECT_NO_THROW(run_op({.op = "GridSample", .inputs = {x5, g5}, .attrs = a, .opset = 20}));
  Attributes lin;
  lin.set("mode", std::string("linear"));
  expect_code({.op = "GridSample", .inputs = {x4, g4}, .attrs = lin, .opset = 16}, ErrorCode::kInvalidModel);
  Attributes bil;
  bil.set("mode", std::string("bilinear"));
  expect_code({.op = "GridSample", .inputs = {x4, g4}, .attrs = bil, .opset = 20}, ErrorCode::kInvalidModel);
  Attributes pad;
  pad.set("padding_mode", std::string("wrap"));
  expect_code({.op = "GridSample", .inputs = {x4, g4}, .attrs = pad, .opset = 16}, ErrorCode::kInvalidModel);
  Tensor g_bad = random_tensor(DType::kF32, {1, 3, 3, 3}, 2);
  expect_code({.op = "GridSample", .inputs = {x4, g_bad}, .attrs = a, .opset = 16}, ErrorCode::kInvalidModel);
  Tensor g_batch = random_tensor(DType::kF32, {2, 3, 3, 2}, 2);
  expect_code({.op = "GridSample", .inputs = {x4, g_batch}, .attrs = a, .opset = 16}, ErrorCode::kInvalidModel);
  Tensor xi = random_tensor(DType::kI32, {1, 2, 4, 4}, 1);
  expect_code({.op = "GridSample", .inputs = {xi, g4}, .attrs = a, .opset = 16}, ErrorCode::kUnsupported);
}

TEST(SpatialGridSample, InferenceShapes) {
  Tensor x = random_tensor(DType::kF32, {2, 3, 4, 5}, 1);
  Tensor g = random_tensor(DType::kF32, {2, 7, 9, 2}, 2);
  auto t = infer_op({.op = "GridSample", .inputs = {x, g}, .opset = 16});
  ASSERT_TRUE(t[0].shape);
  EXPECT_EQ(shape_to_string(*t[0].shape), "2x3x7x9");
}

}  // namespace
}  // namespace kiln::test
