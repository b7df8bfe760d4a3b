// QuantizeLinear / DequantizeLinear on the GPU against the CPU reference, bit for bit: per
// tensor and per axis (first, middle, last, negative), int8 and uint8 with and without zero
// points, float32, float16 (opset 19) and int32 x, ties to even, saturation and NaN, sizes 1, odd
// and past a block, the arena run and the CUDA Graph replay.
#include <cmath>

#include "gpu_compare.h"

namespace kiln::gpu_test {
namespace {

// Scale and zero point for x of dims along axis (-1000: per tensor).
struct Params {
  Tensor scale, zero;
};

Params params(DType scale_type, DType zero_type, const Dims& x, int axis, uint64_t seed, bool with_zero) {
  const int64_t n = axis == -1000 ? 1 : x[size_t(axis < 0 ? axis + int(x.size()) : axis)];
  const Dims d = axis == -1000 ? Dims{} : Dims{n};
  Params p;
  p.scale = random_tensor(scale_type, d, seed, 0.01, 0.2);
  if (with_zero)
    p.zero = zero_type == DType::kI8 ? random_tensor(DType::kI8, d, seed + 1, -20, 20)
                                     : random_tensor(zero_type, d, seed + 1, 100, 150);
  return p;
}

GpuCase qdq_case(const char* op, Tensor x, const Params& p, int axis, int opset, uint64_t seed) {
  GpuCase c{op, {std::move(x), p.scale, p.zero}, {1, 2}};
  if (!p.zero.defined()) c.inputs.pop_back();
  if (axis != -1000) c.attrs.set("axis", int64_t(axis));
  c.opset = opset;
  c.seed = seed;
  c.atol = 0, c.rtol = 0;
  c.gpu_runs = 3;
  return c;
}

const std::vector<std::pair<Dims, int>> kLayouts = {
    {{1}, -1000}, {{1025}, -1000}, {{3, 17, 5}, -1000}, {{3, 17, 5}, 0}, {{3, 17, 5}, 1},
    {{3, 17, 5}, -1}, {{2, 7, 9, 11}, 1}, {{70000}, -1000}};

TEST(GpuInt8Qdq, QuantizeLinearMatchesReference) {
  uint64_t seed = 41000;
  for (const auto& [dims, axis] : kLayouts)
    for (DType zt : {DType::kI8, DType::kU8})
      for (bool with_zero : {true, false}) {
        if (!with_zero && zt == DType::kI8) continue;  // no zero point means uint8
        // x spans past the saturation points of the smallest scales.
        const Params p = params(DType::kF32, zt, dims, axis, seed, with_zero);
        expect_gpu_matches_cpu(qdq_case("QuantizeLinear", random_tensor(DType::kF32, dims, seed + 2, -40, 40), p,
                                        axis, 13, seed));
        if (::testing::Test::HasFatalFailure()) return;
        seed += 3;
      }
}

TEST(GpuInt8Qdq, QuantizeTiesSaturationAndNaN) {
  // x / 0.5 = ±0.5, ±1.5, ±2.5, ±3.5 (ties to even), ±1000 (saturates), NaN (0).
  const Tensor x = float_tensor({0.25f, -0.25f, 0.75f, -0.75f, 1.25f, -1.25f, 1.75f, -1.75f, 500.f, -500.f, NAN});
  for (DType zt : {DType::kI8, DType::kU8}) {
    Params p;
    p.scale = Tensor::scalar<float>(0.5f);
    p.zero = zt == DType::kI8 ? Tensor::scalar<int8_t>(-3) : Tensor::scalar<uint8_t>(3);  // odd: ties keep their side
    expect_gpu_matches_cpu(qdq_case("QuantizeLinear", x, p, -1000, 13, 41900));
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(GpuInt8Qdq, QuantizeFloat16AndInt32) {
  uint64_t seed = 42000;
  for (const auto& [dims, axis] : kLayouts) {
    const Params h = params(DType::kF16, DType::kI8, dims, axis, seed, true);
    expect_gpu_matches_cpu(qdq_case("QuantizeLinear", random_tensor(DType::kF16, dims, seed + 2, -30, 30), h, axis,
                                    19, seed));
    if (::testing::Test::HasFatalFailure()) return;
    const Params i = params(DType::kF32, DType::kU8, dims, axis, seed + 5, true);
    Params wide = i;
    wide.scale = random_tensor(DType::kF32, wide.scale.dims(), seed + 6, 3, 40);
    expect_gpu_matches_cpu(qdq_case("QuantizeLinear", random_tensor(DType::kI32, dims, seed + 7, -3000, 3000), wide,
                                    axis, 13, seed + 5));
    if (::testing::Test::HasFatalFailure()) return;
    seed += 10;
  }
}

TEST(GpuInt8Qdq, DequantizeLinearMatchesReference) {
  uint64_t seed = 43000;
  for (const auto& [dims, axis] : kLayouts)
    for (DType xt : {DType::kI8, DType::kU8, DType::kI32})
      for (DType st : {DType::kF32, DType::kF16})
        for (bool with_zero : {true, false}) {
          const Params p = params(st, xt, dims, axis, seed, with_zero);
          Params q = p;
          if (with_zero && xt == DType::kI32) q.zero = random_tensor(DType::kI32, q.scale.dims(), seed + 1, -9, 9);
          const Tensor x = xt == DType::kI8   ? random_tensor(xt, dims, seed + 2, -128, 127)
                           : xt == DType::kU8 ? random_tensor(xt, dims, seed + 2, 0, 255)
                                              : random_tensor(xt, dims, seed + 2, -2e9, 2e9);
          expect_gpu_matches_cpu(qdq_case("DequantizeLinear", x, q, axis, st == DType::kF16 ? 19 : 13, seed));
          if (::testing::Test::HasFatalFailure()) return;
          seed += 3;
        }
}

TEST(GpuInt8Qdq, Bfloat16ScaleIsUnsupported) {
  Params p;
  p.scale = Tensor::from_doubles(DType::kBF16, {}, {0.5});
  expect_gpu_unsupported(qdq_case("QuantizeLinear", random_tensor(DType::kBF16, {4}, 1), p, -1000, 19, 1), "bfloat16");
}

}  // namespace
}  // namespace kiln::gpu_test
