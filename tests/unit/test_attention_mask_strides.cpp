// ops/attention/attention_mask_strides: where the CUDA attention kernels read a broadcast mask.
// Every stride set is checked against the plain broadcast index of every score position.
#include <gtest/gtest.h>

#include "ops/attention/attention_mask_strides.h"
#include "ops/op_util.h"

namespace kiln::attention {
namespace {

// The offset the kernels read for each score (outer item, head, query, key) equals the mask's
// own broadcast offset, for every position of the scores.
void expect_reads_match(const Dims& mask, const Dims& scores) {
  SCOPED_TRACE(dims_to_string(mask) + " over " + dims_to_string(scores));
  const std::optional<MaskStrides> m = mask_strides(mask, scores);
  ASSERT_TRUE(m.has_value());
  const size_t r = scores.size();
  const int64_t nq = scores[r - 2], nk = scores[r - 1], heads = r >= 3 ? scores[r - 3] : 1;
  const Dims want = broadcast_strides(mask, scores);
  const int64_t total = numel_of(scores);
  for (int64_t i = 0; i < total; ++i) {
    Dims idx(r);
    for (int64_t rem = i, a = int64_t(r) - 1; a >= 0; --a) idx[size_t(a)] = rem % scores[size_t(a)], rem /= scores[size_t(a)];
    int64_t expected = 0;
    for (size_t a = 0; a < r; ++a) expected += idx[a] * want[a];
    const int64_t b = i / (nq * nk), q = i / nk % nq, k = i % nk;  // the kernels' batch item b
    const int64_t got = (b / heads) * m->outer + (b % heads) * m->head + q * m->row + k * m->col;
    ASSERT_EQ(got, expected) << "score " << i;
  }
}

TEST(AttentionMaskStrides, EveryBroadcastTheKernelsRead) {
  const Dims scores{2, 3, 5, 7};
  for (const Dims& m : {Dims{2, 3, 5, 7}, Dims{2, 1, 5, 7}, Dims{1, 1, 1, 7}, Dims{7}, Dims{5, 7}, Dims{3, 1, 7},
                        Dims{2, 3, 5, 1}, Dims{1, 3, 1, 1}, Dims{1}, Dims{}})
    expect_reads_match(m, scores);
  expect_reads_match({5, 7}, {5, 7});                 // no batch dims
  expect_reads_match({1, 7}, {4, 5, 7});              // one batch dim: the heads
  expect_reads_match({2, 3, 4, 5, 7}, {2, 3, 4, 5, 7});  // rank 5: two dims before the heads
  expect_reads_match({1, 1, 4, 5, 7}, {2, 3, 4, 5, 7});
  expect_reads_match({2, 1, 1, 1, 7}, {2, 1, 4, 5, 7});  // a size-1 scores dim between constrains nothing
}

TEST(AttentionMaskStrides, RefusesWhatOneOuterStrideCannotWalk) {
  EXPECT_FALSE(mask_strides({2, 1, 4, 5, 7}, {2, 3, 4, 5, 7}));  // broadcast along one of two outer dims
  EXPECT_FALSE(mask_strides({1, 3, 4, 5, 7}, {2, 3, 4, 5, 7}));
  EXPECT_FALSE(mask_strides({3, 7}, {2, 3, 5, 7}));            // does not broadcast
  EXPECT_FALSE(mask_strides({1, 2, 3, 5, 7}, {2, 3, 5, 7}));   // higher rank than the scores
  EXPECT_FALSE(mask_strides({7}, {7}));                        // scores need rank 2
}

}  // namespace
}  // namespace kiln::attention
