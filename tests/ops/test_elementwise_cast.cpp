// Cast and CastLike between every pair of kiln types.
#include <cmath>
#include <cstring>
#include <limits>

#include "test_elementwise_ref.h"

namespace kiln::test {
namespace {

using ewref::attrs;
using ewref::expect_error;
using ewref::make;

const DType kTypes[] = {DType::kF32, DType::kF16, DType::kBF16, DType::kF64, DType::kI64,
                        DType::kI32, DType::kI8,  DType::kU8,   DType::kBool};

// Values each source type holds exactly (or, for floats, rounds on creation).
std::vector<double> source_values(DType dt) {
  const double nan = std::nan("");
  switch (dt) {
    case DType::kF32: case DType::kF64: case DType::kF16: case DType::kBF16:
      return {0, 1.5, -2.75, 300.7, -1e10, 70000, nan, 3.999, -0.4, 1e-3, 200.5, -129.5};
    case DType::kI64: return {0, 1, -1, 127, -128, 255, 300, -70000, 1099511627776.0, 65519, 65520};
    case DType::kI32: return {0, 1, -1, 127, -128, 255, 300, -70000, 2147483647, 16777217};
    case DType::kI8: return {0, 1, -1, 127, -128, 100};
    case DType::kU8: return {0, 1, 255, 128, 7};
    case DType::kBool: return {0, 1, 1, 0};
    default: return {};
  }
}

int bits_of(DType dt) { return int(dtype_size(dt)) * 8; }

// Reference conversion of one value, written from the rules in cast.cpp's header comment.
double expected(double v, DType from, DType to) {
  if (to == DType::kBool) return v != 0 || std::isnan(v) ? 1 : 0;
  if (to == DType::kF64) return v;
  if (to == DType::kF32) return double(float(v));  // sources are exact doubles or floats
  if (to == DType::kF16 || to == DType::kBF16) {
    if (dtype_is_float(from) || std::fabs(v) < 16777216) {  // v is an exact float here
      float f = float(v);
      return to_doubles(make(to, {}, {f}))[0];
    }
    return to_doubles(make(to, {}, {v}))[0];
  }
  // Integer targets.
  const int bits = bits_of(to);
  const bool is_signed = to != DType::kU8;
  if (dtype_is_float(from)) {
    if (std::isnan(v)) return 0;
    double lo = is_signed ? -std::ldexp(1.0, bits - 1) : 0.0;
    double hi = is_signed ? std::ldexp(1.0, bits - 1) - 1 : std::ldexp(1.0, bits) - 1;
    return std::clamp(std::trunc(v), lo, hi);
  }
  // Integer/bool source: wrap modulo 2^bits.
  if (bits == 64) return v;
  int64_t m = int64_t(1) << bits;
  int64_t r = ((int64_t(v) % m) + m) % m;
  if (is_signed && r >= m / 2) r -= m;
  return double(r);
}

TEST(ElementwiseCast, EveryPairOfTypes) {
  for (DType from : kTypes) {
    std::vector<double> vals = source_values(from);
    Tensor x = make(from, {int64_t(vals.size())}, vals);
    std::vector<double> held = to_doubles(x);  // what the source really holds
    for (DType to : kTypes) {
      SCOPED_TRACE(std::string(dtype_name(from)) + " -> " + dtype_name(to));
      auto out = run_op({.op = "Cast", .inputs = {x}, .attrs = attrs({{"to", int64_t(dtype_to_onnx(to))}})})[0];
      ASSERT_EQ(out.dtype(), to);
      std::vector<double> want;
      for (double v : held) want.push_back(expected(v, from, to));
      expect_close(out, want, 0, 0);
      auto like = run_op({.op = "CastLike", .inputs = {x, Tensor(to, {0})}, .opset = 15})[0];
      ASSERT_EQ(like.dtype(), to);
      expect_close(like, want, 0, 0);
    }
  }
}

uint16_t bits16(const Tensor& t) {
  uint16_t b;
  std::memcpy(&b, t.raw(), 2);
  return b;
}

TEST(ElementwiseCast, DoubleToHalfRoundsOnce) {
  // Just above a tie of the half type, within float's rounding: going through float would
  // land exactly on the tie and round to even (down).
  const double above_f16_tie = 1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40);
  const double above_bf16_tie = 1.0 + std::ldexp(1.0, -8) + std::ldexp(1.0, -40);
  auto cast = [](double v, DType to) {
    return run_op({.op = "Cast", .inputs = {make(DType::kF64, {}, {v})},
                   .attrs = attrs({{"to", int64_t(dtype_to_onnx(to))}})})[0];
  };
  EXPECT_EQ(bits16(cast(above_f16_tie, DType::kF16)), 0x3C01);
  EXPECT_EQ(bits16(cast(above_bf16_tie, DType::kBF16)), 0x3F81);
  // Exact ties round to even.
  EXPECT_EQ(bits16(cast(1.0 + std::ldexp(1.0, -11), DType::kF16)), 0x3C00);
  EXPECT_EQ(bits16(cast(1.0 + 3 * std::ldexp(1.0, -11), DType::kF16)), 0x3C02);
  EXPECT_EQ(bits16(cast(1.0 + 3 * std::ldexp(1.0, -8), DType::kBF16)), 0x3F82);
  // Overflow, the largest finite value, subnormals, signed zero.
  EXPECT_EQ(bits16(cast(65520.0, DType::kF16)), 0x7C00);
  EXPECT_EQ(bits16(cast(65519.99, DType::kF16)), 0x7BFF);
  EXPECT_EQ(bits16(cast(-65504.0, DType::kF16)), 0xFBFF);
  EXPECT_EQ(bits16(cast(std::ldexp(1.0, -24), DType::kF16)), 0x0001);
  EXPECT_EQ(bits16(cast(std::ldexp(1.0, -25), DType::kF16)), 0x0000);  // tie to even (0)
  EXPECT_EQ(bits16(cast(std::ldexp(1.5, -25), DType::kF16)), 0x0001);
  EXPECT_EQ(bits16(cast(std::ldexp(1023.5, -24), DType::kF16)), 0x0400);  // rounds up to normal
  EXPECT_EQ(bits16(cast(-0.0, DType::kF16)), 0x8000);
  EXPECT_EQ(bits16(cast(1e300, DType::kBF16)), 0x7F80);
  EXPECT_EQ(bits16(cast(-std::numeric_limits<double>::infinity(), DType::kBF16)), 0xFF80);
  EXPECT_TRUE(std::isnan(to_doubles(cast(std::nan(""), DType::kF16))[0]));
  EXPECT_TRUE(std::isnan(to_doubles(cast(std::nan(""), DType::kBF16))[0]));
  EXPECT_EQ(bits16(cast(std::ldexp(1.0, -133), DType::kBF16)), 0x0001);  // smallest subnormal
}

TEST(ElementwiseCast, LargeTensorAndShapes) {
  Tensor x = random_tensor(DType::kF32, {2, 513, 129}, 101, -300, 300);
  auto out = run_op({.op = "Cast", .inputs = {x}, .attrs = attrs({{"to", int64_t(7)}})})[0];
  expect_dims(out, x.dims());
  std::vector<double> want;
  for (double v : to_doubles(x)) want.push_back(std::trunc(v));
  expect_close(out, want, 0, 0);
  auto same = run_op({.op = "Cast", .inputs = {x}, .attrs = attrs({{"to", int64_t(1)}, {"saturate", int64_t(0)}}),
                      .opset = 19})[0];
  EXPECT_TRUE(same.same_bytes(x));
}

TEST(ElementwiseCast, Errors) {
  Tensor x = random_tensor(DType::kF32, {3}, 102);
  expect_error({.op = "Cast", .inputs = {x}, .attrs = attrs({{"to", int64_t(8)}})}, ErrorCode::kUnsupported);
  expect_error({.op = "Cast", .inputs = {x}, .attrs = attrs({{"to", int64_t(4)}})}, ErrorCode::kUnsupported);
  expect_error({.op = "Cast", .inputs = {x}}, ErrorCode::kInvalidModel);
  expect_error({.op = "CastLike", .inputs = {x, x}, .opset = 13}, ErrorCode::kInvalidModel);
}

}  // namespace
}  // namespace kiln::test
