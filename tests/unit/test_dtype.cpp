#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "ir/dtype.h"
#include "kiln/status.h"

namespace kiln {
namespace {

TEST(DType, F16RoundTripsEveryBitPattern) {
  for (uint32_t b = 0; b < 65536; ++b) {
    float f = f16_to_float(uint16_t(b));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(f16_to_float(float_to_f16(f))));
      continue;
    }
    ASSERT_EQ(float_to_f16(f), b) << "bits " << b << " value " << f;
  }
}

TEST(DType, F16RoundsToNearestEven) {
  // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: ties go to the even mantissa (1.0).
  EXPECT_EQ(float_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  // 1 + 3*2^-11 lies halfway between 1+2^-10 (odd) and 1+2^-9 (even).
  EXPECT_EQ(float_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_EQ(float_to_f16(65504.0f), 0x7bff);
  EXPECT_EQ(float_to_f16(65520.0f), 0x7c00);  // rounds past the largest finite: inf
  EXPECT_EQ(float_to_f16(-1e9f), 0xfc00);
  EXPECT_EQ(float_to_f16(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(float_to_f16(std::ldexp(1.0f, -26)), 0x0000);  // below half of it: zero
  EXPECT_FLOAT_EQ(f16_to_float(0x0001), std::ldexp(1.0f, -24));
}

TEST(DType, BF16RoundsToNearestEven) {
  EXPECT_EQ(float_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(float_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);      // tie → even
  EXPECT_EQ(float_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);  // tie → even
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_EQ(bf16_to_float(float_to_bf16(-2.5f)), -2.5f);
}

TEST(DType, OnnxCodesRoundTripAndRejectOthers) {
  for (DType dt : {DType::kF32, DType::kF16, DType::kBF16, DType::kF64, DType::kI64, DType::kI32,
                   DType::kI8, DType::kU8, DType::kBool})
    EXPECT_EQ(dtype_from_onnx(dtype_to_onnx(dt)), dt);
  try {
    dtype_from_onnx(8);  // STRING
    FAIL() << "STRING accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("STRING"), std::string::npos);
  }
}

}  // namespace
}  // namespace kiln
