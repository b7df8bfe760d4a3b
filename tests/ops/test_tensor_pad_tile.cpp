// Pad (every mode, negative pads, axes input), Expand and Tile against naive references.
#include "test_tensor_ref.h"

namespace kiln::test {
namespace {
using namespace tref;

// Source coordinate for padded coordinate i (already shifted by the begin pad), by unfolding
// reflections/wraps step by step rather than with the kernel's modular formula.
int64_t ref_source(int64_t i, int64_t n, const std::string& mode) {
  if (i >= 0 && i < n) return i;
  if (mode == "constant") return -1;
  if (mode == "edge") return i < 0 ? 0 : n - 1;
  if (mode == "wrap") {
    while (i < 0) i += n;
    while (i >= n) i -= n;
    return i;
  }
  if (n == 1) return 0;
  while (i < 0 || i >= n) {
    if (i < 0) i = -i;
    if (i >= n) i = 2 * (n - 1) - i;
  }
  return i;
}

std::vector<double> ref_pad(const Tensor& x, const std::vector<int64_t>& begin, const std::vector<int64_t>& end,
                            const std::string& mode, double cval, Dims* od) {
  std::vector<double> v = to_doubles(x);
  od->clear();
  for (int a = 0; a < x.rank(); ++a) od->push_back(x.dim(a) + begin[size_t(a)] + end[size_t(a)]);
  return build(*od, [&](const Dims& o) {
    Dims in(o.size());
    for (size_t a = 0; a < o.size(); ++a) {
      in[a] = ref_source(o[a] - begin[a], x.dim(int(a)), mode);
      if (in[a] < 0) return cval;
    }
    return v[size_t(ravel(in, x.dims()))];
  });
}

TEST(TensorPad, EveryModeWithNegativePads) {
  Tensor x = rnd(DType::kF32, {3, 4, 5}, 1);
  struct Case { std::vector<int64_t> b, e; };
  for (const Case& c : {Case{{0, 2, 3}, {1, 0, 4}}, Case{{1, -1, 0}, {0, 2, -2}}, Case{{2, 3, 1}, {2, 3, 1}},
                        Case{{0, 0, 0}, {0, 0, 0}}}) {
    for (const std::string mode : {"constant", "reflect", "edge", "wrap"}) {
      std::vector<int64_t> pads = c.b;
      pads.insert(pads.end(), c.e.begin(), c.e.end());
      std::vector<Tensor> in{x, i64v(pads)};
      if (mode == "constant") in.push_back(Tensor::scalar<float>(2.5f));
      Dims od;
      std::vector<double> want = ref_pad(x, c.b, c.e, mode, 2.5, &od);
      for (bool constant : {true, false}) {
        auto out = run_op({.op = "Pad", .inputs = in, .attrs = attrs({{"mode", mode}}), .opset = 19,
                           .constant_inputs = constant ? std::vector<size_t>{1} : std::vector<size_t>{}});
        expect_dims(out[0], od);
        expect_close(out[0], want, 0, 0);
      }
    }
  }
}

TEST(TensorPad, ReflectWiderThanInputAndDtypes) {
  for (DType dt : kEveryType) {
    Tensor x = rnd(dt, {2, 3}, 4);
    for (const std::string mode : {"constant", "reflect", "edge"}) {
      std::vector<int64_t> b{1, 5}, e{0, 7};
      Dims od;
      std::vector<double> want = ref_pad(x, b, e, mode, 0.0, &od);
      auto out = run_op({.op = "Pad", .inputs = {x, i64v({1, 5, 0, 7})}, .attrs = attrs({{"mode", mode}}), .opset = 13});
      expect_close(out[0], want, 0, 0);
    }
  }
}

TEST(TensorPad, AxesInputOpset18) {
  Tensor x = rnd(DType::kF16, {2, 3, 17}, 2);
  Dims od;
  std::vector<double> want = ref_pad(x, {0, 0, 3}, {0, 0, 1}, "constant", 0.0, &od);
  auto out = run_op({.op = "Pad", .inputs = {x, i64v({3, 1}), Tensor(), i64v({-1})}, .opset = 18, .constant_inputs = {1, 3}});
  expect_dims(out[0], od);
  expect_close(out[0], want, 0, 0);
  want = ref_pad(x, {1, 0, 2}, {0, 0, 2}, "edge", 0.0, &od);
  out = run_op({.op = "Pad", .inputs = {x, i64v({2, 1, 2, 0}), Tensor(), i64v({2, 0})}, .attrs = attrs({{"mode", std::string("edge")}}),
                .opset = 18});
  expect_close(out[0], want, 0, 0);
}

TEST(TensorPad, ErrorsAndInfer) {
  Tensor x = rnd(DType::kF32, {2, 3}, 2);
  expect_error([&] { run_op({.op = "Pad", .inputs = {x, i64v({1, 1})}}); }, ErrorCode::kInvalidModel);
  expect_error([&] { run_op({.op = "Pad", .inputs = {x, i64v({0, -4, 0, 0})}}); }, ErrorCode::kInvalidModel);
  expect_error([&] { run_op({.op = "Pad", .inputs = {x, i64v({0, 0, 0, 0})}, .attrs = attrs({{"mode", std::string("wrap")}}), .opset = 18}); },
               ErrorCode::kInvalidModel);
  expect_error([&] { run_op({.op = "Pad", .inputs = {x, i64v({0, 0, 0, 0}), Tensor::scalar<double>(1.0)}}); },
               ErrorCode::kInvalidModel);
  expect_error([&] { run_op({.op = "Pad", .inputs = {Tensor(DType::kF32, {0, 2}), i64v({1, 0, 0, 0})}, .attrs = attrs({{"mode", std::string("edge")}})}); },
               ErrorCode::kInvalidModel);
  Value in = typed(DType::kF32, Shape{sym("N"), Dim(3), Dim(8)});
  expect_shape(infer("Pad", {in, constant(i64v({0, 1, 2, 0, 1, 2}))})[0], "Nx5x12");
  expect_shape(infer("Pad", {in, constant(i64v({1, 1, 0, 0, 0, 0}))})[0], "?x4x8");
  expect_shape(infer("Pad", {in, typed(DType::kI64, Shape{Dim(6)})})[0], "?x?x?");
}

TEST(TensorExpand, BidirectionalBroadcast) {
  for (DType dt : {DType::kF32, DType::kBool, DType::kI8, DType::kBF16}) {
    Tensor x = rnd(dt, {3, 1, 17}, 1);
    std::vector<double> v = to_doubles(x);
    struct Case { std::vector<int64_t> shape; Dims want; };
    for (const Case& c : {Case{{2, 1, 5, 1}, {2, 3, 5, 17}}, Case{{1}, {3, 1, 17}}, Case{{1, 4, 1}, {3, 4, 17}},
                          Case{{3, 1025, 17}, {3, 1025, 17}}}) {
      auto out = run_op({.op = "Expand", .inputs = {x, i64v(c.shape)}, .constant_inputs = {1}});
      expect_dims(out[0], c.want);
      expect_close(out[0], build(c.want, [&](const Dims& o) {
                     size_t off = o.size() - 3;
                     return v[size_t(o[off] * 17 + o[off + 2])];
                   }), 0, 0);
    }
  }
  Tensor x = rnd(DType::kF32, {3, 2}, 1);
  expect_error([&] { run_op({.op = "Expand", .inputs = {x, i64v({4, 2})}}); }, ErrorCode::kInvalidModel);
  expect_shape(infer("Expand", {typed(DType::kF32, Shape{sym("B"), Dim(1)}), constant(i64v({1, 1, 8}))})[0], "1xBx8");
  expect_shape(infer("Expand", {typed(DType::kF32, Shape{Dim(3), Dim(1)}), typed(DType::kI64, Shape{Dim(3)})})[0], "?x?x?");
}

TEST(TensorTile, RepeatsIncludingZero) {
  Tensor x = rnd(DType::kI64, {2, 3, 5}, 3);
  std::vector<double> v = to_doubles(x);
  for (auto reps : {std::vector<int64_t>{1, 1, 1}, {2, 3, 1}, {1, 1, 300}, {3, 0, 2}}) {
    Dims od{2 * reps[0], 3 * reps[1], 5 * reps[2]};
    auto out = run_op({.op = "Tile", .inputs = {x, i64v(reps)}, .constant_inputs = {1}});
    expect_dims(out[0], od);
    expect_close(out[0], build(od, [&](const Dims& o) { return v[size_t(ravel({o[0] % 2, o[1] % 3, o[2] % 5}, x.dims()))]; }), 0, 0);
  }
  expect_error([&] { run_op({.op = "Tile", .inputs = {x, i64v({1, 2})}}); }, ErrorCode::kInvalidModel);
  expect_error([&] { run_op({.op = "Tile", .inputs = {x, i64v({1, -1, 1})}}); }, ErrorCode::kInvalidModel);
  expect_shape(infer("Tile", {typed(DType::kF32, Shape{sym("B"), Dim(4)}), constant(i64v({1, 3}))})[0], "Bx12");
  expect_shape(infer("Tile", {typed(DType::kF32, Shape{sym("B"), Dim(4)}), typed(DType::kI64, Shape{Dim(2)})})[0], "?x?");
}

}  // namespace
}  // namespace kiln::test
