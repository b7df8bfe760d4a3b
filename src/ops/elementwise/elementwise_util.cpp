#include "ops/elementwise/elementwise_util.h"

#include <cmath>

namespace kiln::ew {
namespace {

// Rounds |v| (finite, non-negative) to a binary format with man_bits of mantissa and exponent
// bias `bias`, nearest-even, and returns its bits without sign. Overflow gives infinity.
uint16_t round_to_small_float(double a, int man_bits, int exp_bits, int bias) {
  const uint32_t inf_bits = ((1u << exp_bits) - 1) << man_bits;
  const int emin = 1 - bias;  // exponent of the smallest normal
  if (a < std::ldexp(1.0, emin)) {
    // Subnormal range: count units of the smallest subnormal. Scaling by a power of two is
    // exact and nearbyint rounds half to even. A result of 2^man_bits is the smallest normal,
    // whose bit pattern is exactly that number.
    return uint16_t(std::nearbyint(std::ldexp(a, man_bits - emin)));
  }
  int k;
  std::frexp(a, &k);  // a = f * 2^k, f in [0.5, 1)
  int e = k - 1;      // a in [2^e, 2^(e+1))
  if (e > (1 << exp_bits) - 2 - bias) return uint16_t(inf_bits);
  // Significand scaled to an integer in [2^man_bits, 2^(man_bits+1)); rounding up to
  // 2^(man_bits+1) carries into the exponent field by itself.
  uint32_t q = uint32_t(std::nearbyint(std::ldexp(a, man_bits - e)));
  uint32_t bits = (uint32_t(e + bias) << man_bits) + (q - (1u << man_bits));
  return uint16_t(bits >= inf_bits ? inf_bits : bits);
}

uint16_t round_double(double v, int man_bits, int exp_bits, int bias, uint16_t quiet_nan) {
  uint16_t sign = std::signbit(v) ? uint16_t(1u << (man_bits + exp_bits)) : 0;
  if (std::isnan(v)) return sign | quiet_nan;
  if (std::isinf(v)) return sign | uint16_t(((1u << exp_bits) - 1) << man_bits);
  return sign | round_to_small_float(std::fabs(v), man_bits, exp_bits, bias);
}

}  // namespace

uint16_t double_to_f16_bits(double v) { return round_double(v, 10, 5, 15, 0x7e00); }
uint16_t double_to_bf16_bits(double v) { return round_double(v, 7, 8, 127, 0x7fc0); }

std::vector<ValueType> infer_same_as_input0(const InferContext& ctx) {
  return {ctx.type(0)};
}

std::optional<Shape> infer_broadcast_shape(const InferContext& ctx) {
  std::optional<Shape> out = Shape{};
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) continue;
    const Shape* s = ctx.shape(i);
    if (!s) {
      out.reset();  // one unknown rank makes the output's rank unknown
      continue;
    }
    if (out) out = broadcast_shapes(ctx, *out, *s);
  }
  return out;
}

void require_same_dtypes(const InferContext& ctx) {
  DType dt = ctx.dtype(0);
  for (size_t i = 1; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) continue;
    if (ctx.dtype(i) != dt)
      ctx.invalid(std::string("input ") + std::to_string(i) + " has type " +
                  dtype_name(ctx.dtype(i)) + " but input 0 has type " + dtype_name(dt));
  }
}

}  // namespace kiln::ew
