// --accuracy-budget: its two forms and every malformed one, and the pooled measure (labels
// counted over every position of every input, each output's L2 summed over the inputs before the
// root, the worst output counting), checked against sums done by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "quant/accuracy_budget.h"

namespace kiln::quant {
namespace {

TEST(AccuracyBudget, ParsesBothForms) {
  AccuracyBudget b = parse_accuracy_budget("labels:99.5");
  EXPECT_EQ(b.metric, AccuracyBudget::Metric::kLabels);
  EXPECT_DOUBLE_EQ(b.limit, 99.5);
  EXPECT_EQ(b.text(), "labels:99.5");
  EXPECT_EQ(b.criterion(), "label agreement >= 99.5%");
  b = parse_accuracy_budget("l2:0.02");
  EXPECT_EQ(b.metric, AccuracyBudget::Metric::kRelL2);
  EXPECT_DOUBLE_EQ(b.limit, 0.02);
  EXPECT_EQ(b.criterion(), "rel L2 <= 0.02");
  EXPECT_DOUBLE_EQ(parse_accuracy_budget("l2:0").limit, 0);
  EXPECT_DOUBLE_EQ(parse_accuracy_budget("labels:100").limit, 100);
}

TEST(AccuracyBudget, RefusesMalformedOnes) {
  for (const char* bad : {"", "labels", "labels:", "labels:0", "labels:100.5", "labels:-3", "labels:99.5%", "l2:-0.1",
                          "l2:nan", "l2:inf", "l2:x", "L2:0.1", "rel:0.1", "0.02", "l2:0.1:2"}) {
    try {
      parse_accuracy_budget(bad);
      ADD_FAILURE() << "'" << bad << "' accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find("expected labels:P"), std::string::npos) << e.what();
    }
  }
}

// Class scores [1, 3, 2, 2]: 4 positions an input; `flip` positions get another argmax.
Tensor scores(float scale, int flip) {
  std::vector<float> v(12);
  for (int p = 0; p < 4; ++p)
    for (int c = 0; c < 3; ++c) v[size_t(c * 4 + p)] = scale * (c == (p < flip ? 2 : 0) ? 2.0f : 0.5f + 0.1f * float(c));
  return Tensor::from_vector<float>({1, 3, 2, 2}, v);
}

TEST(AccuracyBudget, TallyPoolsOverInputs) {
  AgreementTally t;
  const std::vector<std::string> outputs = {"logits", "aux"};
  const Tensor aux_ref = Tensor::from_vector<float>({2}, {3, 4}), aux_got = Tensor::from_vector<float>({2}, {3, 4.5f});
  // Input 1: 1 of 4 labels differs, logits at scale 1. Input 2: 2 of 4 differ, scale 10.
  t.add({{"logits", scores(1, 1)}, {"aux", aux_got}}, {{"logits", scores(1, 0)}, {"aux", aux_ref}}, outputs);
  t.add({{"logits", scores(10, 2)}, {"aux", aux_ref}}, {{"logits", scores(10, 0)}, {"aux", aux_ref}}, outputs);
  const Agreement a = t.result();
  ASSERT_TRUE(a.labels_percent);
  EXPECT_DOUBLE_EQ(*a.labels_percent, 100.0 * 5 / 8);
  auto squares = [](const Tensor& g, const Tensor& r, double& num, double& den) {
    for (int64_t i = 0; i < g.numel(); ++i) {
      num += (g.at_double(i) - r.at_double(i)) * (g.at_double(i) - r.at_double(i));
      den += r.at_double(i) * r.at_double(i);
    }
  };
  double num = 0, den = 0;
  squares(scores(1, 1), scores(1, 0), num, den);
  squares(scores(10, 2), scores(10, 0), num, den);
  const double logits_l2 = std::sqrt(num / den), aux_l2 = 0.5 / std::sqrt(50.0);
  EXPECT_DOUBLE_EQ(a.rel_l2, std::max(logits_l2, aux_l2));
  EXPECT_GT(logits_l2, aux_l2) << "the worst output counts";
  EXPECT_TRUE(a.finite);

  const AccuracyBudget labels = parse_accuracy_budget("labels:60"), tight = parse_accuracy_budget("labels:70");
  EXPECT_TRUE(within_budget(a, labels));
  EXPECT_FALSE(within_budget(a, tight));
  EXPECT_DOUBLE_EQ(budget_error(a, labels), 100 - 62.5);
  EXPECT_EQ(budget_figure(a, labels), "labels 62.5%");
  EXPECT_TRUE(within_budget(a, parse_accuracy_budget("l2:" + std::to_string(logits_l2 * 1.01))));
  EXPECT_FALSE(within_budget(a, parse_accuracy_budget("l2:" + std::to_string(logits_l2 * 0.99))));
}

TEST(AccuracyBudget, NonFiniteOutputsMeetNoBudget) {
  AgreementTally t;
  Tensor bad = scores(1, 0);
  bad.data<float>()[5] = NAN;
  t.add({{"logits", bad}}, {{"logits", scores(1, 0)}}, {"logits"});
  const Agreement a = t.result();
  EXPECT_FALSE(a.finite);
  EXPECT_FALSE(within_budget(a, parse_accuracy_budget("l2:1e9")));
  EXPECT_FALSE(within_budget(a, parse_accuracy_budget("labels:1")));
  EXPECT_TRUE(std::isinf(budget_error(a, parse_accuracy_budget("l2:1"))));
}

TEST(AccuracyBudget, NoLabelsWithoutAClassAxis) {
  AgreementTally t;
  const Tensor y = Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  t.add({{"y", y}}, {{"y", y}}, {"y"});
  EXPECT_FALSE(t.result().labels_percent);
  EXPECT_EQ(t.result().rel_l2, 0);
}

}  // namespace
}  // namespace kiln::quant
