// Concat, Split and Slice against naive references.
#include <limits>

#include "test_tensor_ref.h"

namespace kiln::test {
namespace {
using namespace tref;

std::vector<double> ref_concat(const std::vector<Tensor>& xs, int axis) {
  Dims od = xs[0].dims();
  od[size_t(axis)] = 0;
  for (const Tensor& t : xs) od[size_t(axis)] += t.dim(axis);
  std::vector<std::vector<double>> vs;
  for (const Tensor& t : xs) vs.push_back(to_doubles(t));
  return build(od, [&](const Dims& o) {
    Dims i = o;
    for (size_t k = 0;; ++k) {
      if (i[size_t(axis)] < xs[k].dim(axis)) return vs[k][size_t(ravel(i, xs[k].dims()))];
      i[size_t(axis)] -= xs[k].dim(axis);
    }
  });
}

TEST(TensorConcat, AxesDtypesAndEmptyInputs) {
  for (DType dt : kEveryType) {
    for (int axis = 0; axis < 3; ++axis) {
      Dims a{3, 5, 17}, b = a, c = a;
      b[size_t(axis)] = 1;
      c[size_t(axis)] = 0;
      std::vector<Tensor> xs{rnd(dt, a, 1), rnd(dt, c, 2), rnd(dt, b, 3), rnd(dt, a, 4)};
      auto out = run_op({.op = "Concat", .inputs = xs, .attrs = attrs({{"axis", int64_t(axis - 3)}})});
      expect_close(out[0], ref_concat(xs, axis), 0, 0);
    }
  }
}

TEST(TensorConcat, LargeParallel) {
  std::vector<Tensor> xs{rnd(DType::kF32, {2, 1025, 33}, 1), rnd(DType::kF32, {2, 1023, 33}, 2),
                         rnd(DType::kF32, {2, 1, 33}, 3)};
  expect_close(run_op({.op = "Concat", .inputs = xs, .attrs = attrs({{"axis", int64_t(1)}})})[0], ref_concat(xs, 1), 0, 0);
  std::vector<Tensor> ys{rnd(DType::kF32, {70000}, 1), rnd(DType::kF32, {3}, 2), rnd(DType::kF32, {40001}, 2)};
  expect_close(run_op({.op = "Concat", .inputs = ys, .attrs = attrs({{"axis", int64_t(0)}})})[0], ref_concat(ys, 0), 0, 0);
}

TEST(TensorConcat, ErrorsAndInfer) {
  Tensor a = rnd(DType::kF32, {2, 3}, 1), b = rnd(DType::kF32, {3, 3}, 1);
  expect_error([&] { run_op({.op = "Concat", .inputs = {a, b}, .attrs = attrs({{"axis", int64_t(1)}})}); },
               ErrorCode::kInvalidModel);
  expect_error([&] { run_op({.op = "Concat", .inputs = {a, b}, .attrs = attrs({{"axis", int64_t(2)}})}); },
               ErrorCode::kInvalidModel);
  expect_error([&] { run_op({.op = "Concat", .inputs = {a, rnd(DType::kF16, {2, 3}, 1)}, .attrs = attrs({{"axis", int64_t(0)}})}); },
               ErrorCode::kInvalidModel);
  auto t = infer("Concat", {typed(DType::kI64, Shape{Dim(2)}), typed(DType::kI64, Shape{Dim(1)})},
                 attrs({{"axis", int64_t(0)}}));
  expect_shape(t[0], "3");
  t = infer("Concat", {typed(DType::kF32, Shape{sym("B"), Dim(2)}), typed(DType::kF32, Shape{Dim(), Dim(5)}),
                       typed(DType::kF32, std::nullopt)}, attrs({{"axis", int64_t(-1)}}));
  expect_shape(t[0], "Bx?");
}

TEST(TensorSplit, SplitInputNumOutputsAndEqual) {
  Tensor x = rnd(DType::kF32, {3, 17, 2}, 5);
  std::vector<double> v = to_doubles(x);
  auto check = [&](const std::vector<Tensor>& outs, const std::vector<int64_t>& sizes) {
    ASSERT_EQ(outs.size(), sizes.size());
    int64_t start = 0;
    for (size_t k = 0; k < sizes.size(); ++k) {
      expect_dims(outs[k], {3, sizes[k], 2});
      expect_close(outs[k], build({3, sizes[k], 2}, [&](const Dims& o) {
                     return v[size_t(ravel({o[0], o[1] + start, o[2]}, x.dims()))];
                   }), 0, 0);
      start += sizes[k];
    }
  };
  check(run_op({.op = "Split", .inputs = {x, i64v({5, 0, 12})}, .attrs = attrs({{"axis", int64_t(1)}}),
                .num_outputs = 3, .constant_inputs = {1}}), {5, 0, 12});
  check(run_op({.op = "Split", .inputs = {x, i64v({16, 1})}, .attrs = attrs({{"axis", int64_t(-2)}}),
                .num_outputs = 2}), {16, 1});
  // Opset 18 num_outputs: ceil-sized chunks, the last smaller.
  check(run_op({.op = "Split", .inputs = {x}, .attrs = attrs({{"axis", int64_t(1)}, {"num_outputs", int64_t(4)}}),
                .opset = 18, .num_outputs = 4}), {5, 5, 5, 2});
  Tensor y = rnd(DType::kI8, {3, 18, 2}, 5);
  auto eq = run_op({.op = "Split", .inputs = {y}, .attrs = attrs({{"axis", int64_t(1)}}), .opset = 13, .num_outputs = 3});
  for (auto& o : eq) expect_dims(o, {3, 6, 2});
  // Default axis 0.
  auto d = run_op({.op = "Split", .inputs = {x}, .opset = 13, .num_outputs = 3});
  for (auto& o : d) expect_dims(o, {1, 17, 2});
}

TEST(TensorSplit, Errors) {
  Tensor x = rnd(DType::kF32, {3, 17}, 5);
  auto split = [&](OpCall c) { c.op = "Split"; run_op(c); };
  expect_error([&] { split({.inputs = {x, i64v({5, 11})}, .attrs = attrs({{"axis", int64_t(1)}}), .num_outputs = 2}); },
               ErrorCode::kInvalidModel);
  expect_error([&] { split({.inputs = {x, i64v({17})}, .attrs = attrs({{"axis", int64_t(1)}}), .num_outputs = 2}); },
               ErrorCode::kInvalidModel);
  expect_error([&] { split({.inputs = {x}, .attrs = attrs({{"axis", int64_t(1)}}), .opset = 13, .num_outputs = 2}); },
               ErrorCode::kInvalidModel);
  expect_error([&] { split({.inputs = {x}, .attrs = attrs({{"axis", int64_t(1)}, {"num_outputs", int64_t(3)}}),
                            .opset = 18, .num_outputs = 2}); }, ErrorCode::kInvalidModel);
  expect_error([&] { split({.inputs = {x}, .attrs = attrs({{"axis", int64_t(2)}}), .num_outputs = 1}); },
               ErrorCode::kInvalidModel);
  auto t = infer("Split", {typed(DType::kF32, Shape{sym("N"), Dim(4)}), typed(DType::kI64, Shape{Dim(2)})},
                 attrs({{"axis", int64_t(0)}}), 13, 2);
  expect_shape(t[0], "?x4");
  expect_shape(t[1], "?x4");
}

// Reference slice: python range semantics written independently of the kernel's formula.
std::vector<int64_t> ref_positions(int64_t dim, int64_t start, int64_t end, int64_t step) {
  auto adj = [&](int64_t v, bool is_end) {
    if (v < 0) v += dim;
    int64_t lo = step > 0 ? 0 : -1, hi = step > 0 ? dim : dim - 1;
    if (!is_end && step < 0) lo = 0;
    return std::min(std::max(v, lo), hi);
  };
  std::vector<int64_t> pos;
  int64_t s = adj(start, false), e = adj(end, true);
  for (int64_t i = s; step > 0 ? i < e : i > e; i += step) pos.push_back(i);
  return pos;
}

TEST(TensorSlice, RandomStartsEndsSteps) {
  Tensor x = rnd(DType::kF32, {7, 17, 5}, 3);
  std::vector<double> v = to_doubles(x);
  const int64_t big = std::numeric_limits<int64_t>::max(), small = std::numeric_limits<int64_t>::min();
  struct Case { std::vector<int64_t> starts, ends, axes, steps; };
  std::vector<Case> cases = {
      {{1, 2}, {5, -1}, {}, {}},
      {{0}, {big}, {1}, {3}},
      {{-1, 16}, {small, 0}, {0, 1}, {-1, -2}},
      {{20, -100}, {-20, 100}, {2, 1}, {-1, 4}},
      {{3}, {3}, {-1}, {1}},
      {{-3, 1, 0}, {big, 16, 5}, {-3, -2, -1}, {2, 5, 2}},
      {{5}, {1}, {2}, {1}},  // empty
  };
  for (const Case& c : cases) {
    std::vector<Tensor> in{x, i64v(c.starts), i64v(c.ends)};
    Dims axes = c.axes;
    if (!c.axes.empty() || !c.steps.empty()) {
      if (axes.empty())
        for (size_t i = 0; i < c.starts.size(); ++i) axes.push_back(int64_t(i));
      in.push_back(i64v(axes));
    }
    if (!c.steps.empty()) in.push_back(i64v(c.steps));
    std::vector<std::vector<int64_t>> pos(3);
    for (int a = 0; a < 3; ++a)
      for (int64_t i = 0; i < x.dim(a); ++i) pos[size_t(a)].push_back(i);
    for (size_t k = 0; k < c.starts.size(); ++k) {
      int64_t a = axes.empty() ? int64_t(k) : (axes[k] + 3) % 3;
      pos[size_t(a)] = ref_positions(x.dim(int(a)), c.starts[k], c.ends[k], c.steps.empty() ? 1 : c.steps[k]);
    }
    Dims od{int64_t(pos[0].size()), int64_t(pos[1].size()), int64_t(pos[2].size())};
    std::vector<size_t> all(in.size() - 1);
    for (size_t i = 0; i < all.size(); ++i) all[i] = i + 1;
    for (bool constant : {true, false}) {
      auto out = run_op({.op = "Slice", .inputs = in, .constant_inputs = constant ? all : std::vector<size_t>{}});
      expect_dims(out[0], od);
      expect_close(out[0], build(od, [&](const Dims& o) {
                     return v[size_t(ravel({pos[0][size_t(o[0])], pos[1][size_t(o[1])], pos[2][size_t(o[2])]}, x.dims()))];
                   }), 0, 0);
    }
  }
}

TEST(TensorSlice, LargeContiguousRowsAndInt32Inputs) {
  Tensor x = rnd(DType::kBF16, {2, 1025, 64}, 8);
  std::vector<double> v = to_doubles(x);
  auto out = run_op({.op = "Slice", .inputs = {x, Tensor::from_vector<int32_t>({1}, {3}),
                                              Tensor::from_vector<int32_t>({1}, {1000}),
                                              Tensor::from_vector<int32_t>({1}, {1})}});
  expect_close(out[0], build({2, 997, 64}, [&](const Dims& o) {
                 return v[size_t(ravel({o[0], o[1] + 3, o[2]}, x.dims()))];
               }), 0, 0);
}

TEST(TensorSlice, FewVeryLongRowsSplitAcrossThreads) {
  Tensor x = rnd(DType::kF32, {3, 70001}, 8);
  std::vector<double> v = to_doubles(x);
  auto fwd = run_op({.op = "Slice", .inputs = {x, i64v({5}), i64v({69995}), i64v({1})}});
  expect_close(fwd[0], build({3, 69990}, [&](const Dims& o) { return v[size_t(o[0] * 70001 + o[1] + 5)]; }), 0, 0);
  auto rev = run_op({.op = "Slice", .inputs = {x, i64v({-1}), i64v({std::numeric_limits<int64_t>::min()}), i64v({1}), i64v({-1})}});
  expect_close(rev[0], build({3, 70001}, [&](const Dims& o) { return v[size_t(o[0] * 70001 + 70000 - o[1])]; }), 0, 0);
  auto fill = run_op({.op = "Expand", .inputs = {Tensor::from_vector<float>({1}, {1.25f}), i64v({2, 100003})}});
  expect_close(fill[0], std::vector<double>(200006, 1.25), 0, 0);
}

TEST(TensorSlice, ErrorsAndInfer) {
  Tensor x = rnd(DType::kF32, {4, 5}, 3);
  expect_error([&] { run_op({.op = "Slice", .inputs = {x, i64v({0}), i64v({2}), i64v({0}), i64v({0})}}); },
               ErrorCode::kInvalidModel);
  expect_error([&] { run_op({.op = "Slice", .inputs = {x, i64v({0, 0}), i64v({2, 2}), i64v({1, -1})}}); },
               ErrorCode::kInvalidModel);
  expect_error([&] { run_op({.op = "Slice", .inputs = {x, i64v({0}), i64v({2}), i64v({2})}}); },
               ErrorCode::kInvalidModel);
  expect_error([&] { run_op({.op = "Slice", .inputs = {x, i64v({0}), i64v({2, 3})}}); }, ErrorCode::kInvalidModel);
  Value in = typed(DType::kF32, Shape{sym("B"), Dim(10), sym("W")});
  const int64_t big = std::numeric_limits<int64_t>::max();
  expect_shape(infer("Slice", {in, constant(i64v({0, 2})), constant(i64v({big, -1})), constant(i64v({2, 1}))})[0], "Bx7xW");
  expect_shape(infer("Slice", {in, constant(i64v({2})), constant(i64v({big})), constant(i64v({1}))})[0], "Bx8xW");
  expect_shape(infer("Slice", {in, typed(DType::kI64, Shape{Dim(1)}), typed(DType::kI64, Shape{Dim(1)}),
                               constant(i64v({-1}))})[0], "Bx10x?");
  expect_shape(infer("Slice", {in, typed(DType::kI64, Shape{Dim(1)}), typed(DType::kI64, Shape{Dim(1)})})[0], "?x10xW");
  expect_shape(infer("Slice", {in, constant(i64v({1})), constant(i64v({2})), typed(DType::kI64, Shape{Dim(1)})})[0], "?x?x?");
  EXPECT_FALSE(infer("Slice", {typed(DType::kF32, std::nullopt), constant(i64v({1})), constant(i64v({2}))})[0].shape);
}

}  // namespace
}  // namespace kiln::test
