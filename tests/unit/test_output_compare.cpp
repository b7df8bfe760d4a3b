// compare_output (kiln bench --ref and the model tests): relative L2 and max abs diff against a
// hand-computed case, NaN/Inf reported, label agreement for [N, C, ...] scores of rank 3 and 4
// (none for other ranks), mismatched shapes refused, and each precision's pass criterion.
#include <gtest/gtest.h>

#include <cmath>

#include "runtime/output_compare.h"

namespace kiln {
namespace {

TEST(OutputCompare, RelativeL2AndMaxAbs) {
  Tensor ref = Tensor::from_vector<float>({4}, {3, 4, 0, 0});
  Tensor got = Tensor::from_vector<float>({4}, {3, 4, 0, 0.5f});
  OutputComparison c = compare_output(got, ref, "t");
  EXPECT_NEAR(c.rel_l2, 0.5 / 5.0, 1e-12);
  EXPECT_NEAR(c.max_abs, 0.5, 1e-12);
  EXPECT_TRUE(c.finite);
  EXPECT_FALSE(c.label_agreement.has_value());  // rank 1: no labels
}

TEST(OutputCompare, NonFiniteFails) {
  Tensor ref = Tensor::from_vector<float>({2}, {1, 2});
  Tensor got = Tensor::from_vector<float>({2}, {1, NAN});
  OutputComparison c = compare_output(got, ref, "t");
  EXPECT_FALSE(c.finite);
  EXPECT_TRUE(std::isinf(c.rel_l2));
  EXPECT_FALSE(meets_criterion(c, "fp32"));
  EXPECT_FALSE(meets_criterion(c, "fp16"));
}

TEST(OutputCompare, LabelAgreementOverAxisOne) {
  // [N=1, C=2, 4 positions]: the argmax over C differs at one of four positions.
  Tensor ref = Tensor::from_vector<float>({1, 2, 4}, {1, 0, 1, 0, /**/ 0, 1, 0, 1});
  Tensor got = Tensor::from_vector<float>({1, 2, 4}, {1, 0, 0, 0, /**/ 0, 1, 1, 1});
  OutputComparison c = compare_output(got, ref, "t");
  ASSERT_TRUE(c.label_agreement.has_value());
  EXPECT_DOUBLE_EQ(*c.label_agreement, 0.75);
  Tensor ref4 = Tensor::from_vector<float>({1, 2, 2, 2}, {1, 0, 1, 0, 0, 1, 0, 1});
  Tensor got4 = Tensor::from_vector<float>({1, 2, 2, 2}, {1, 0, 0, 0, 0, 1, 1, 1});
  EXPECT_DOUBLE_EQ(*compare_output(got4, ref4, "t").label_agreement, 0.75);
}

TEST(OutputCompare, ShapesMustMatch) {
  Tensor a = Tensor::from_vector<float>({2}, {1, 2});
  Tensor b = Tensor::from_vector<float>({1, 2}, {1, 2});
  try {
    compare_output(a, b, "--ref r.npz 'y'");
    ADD_FAILURE() << "different shapes compared";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("--ref r.npz 'y': the reference has shape 1x2"), std::string::npos);
  }
}

TEST(OutputCompare, CriteriaPerPrecision) {
  OutputComparison c;
  c.rel_l2 = 5e-5;
  EXPECT_TRUE(meets_criterion(c, "fp32"));
  c.rel_l2 = 2e-4;
  EXPECT_FALSE(meets_criterion(c, "fp32"));
  EXPECT_TRUE(meets_criterion(c, "tf32"));
  c.label_agreement = 0.9995;
  c.rel_l2 = 5e-2;  // fp16 with labels is judged by labels
  EXPECT_TRUE(meets_criterion(c, "fp16"));
  c.label_agreement = 0.998;
  EXPECT_FALSE(meets_criterion(c, "fp16"));
  EXPECT_EQ(accuracy_criterion("fp16", true), "label agreement >= 99.9%");
  EXPECT_EQ(accuracy_criterion("fp32", false), "rel_l2 <= 1e-4");
}

// Quantized engines: labels at 99.5% where there are labels, else rel L2 5e-2 — not fp32's 1e-4.
TEST(OutputCompare, CriteriaForQuantizedEngines) {
  OutputComparison c;
  c.rel_l2 = 3e-2;
  for (const char* p : {"int8", "fp8"}) {
    SCOPED_TRACE(p);
    EXPECT_TRUE(meets_criterion(c, p));
    c.rel_l2 = 6e-2;
    EXPECT_FALSE(meets_criterion(c, p));
    c.label_agreement = 0.996;  // judged by labels when there are labels
    EXPECT_TRUE(meets_criterion(c, p));
    c.label_agreement = 0.994;
    EXPECT_FALSE(meets_criterion(c, p));
    c.finite = false;
    c.label_agreement = 1.0;
    EXPECT_FALSE(meets_criterion(c, p));
    c = OutputComparison{};
    c.rel_l2 = 3e-2;
  }
  EXPECT_EQ(accuracy_criterion("int8", true), "label agreement >= 99.5%");
  EXPECT_EQ(accuracy_criterion("int8", false), "rel_l2 <= 5e-2");
}

}  // namespace
}  // namespace kiln
