// ops/attention/attention_split: when a masked attention launch splits its keys, and that the
// splits tile the keys exactly (whole 64-key units, none empty, the last possibly short).
#include <gtest/gtest.h>

#include "ops/attention/attention_split.h"

namespace kiln::attention {
namespace {

TEST(AttentionSplit, SplitsOnlyGridsSmallerThanTheGpu) {
  EXPECT_EQ(choose_key_split(132, 15200, 132).splits, 1);   // the grid fills the GPU
  EXPECT_EQ(choose_key_split(4000, 300, 132).splits, 1);
  EXPECT_EQ(choose_key_split(16, 100, 132).splits, 1);      // too few keys to share out
  EXPECT_EQ(choose_key_split(16, 128, 132).splits, 1);
  // Mask2Former's largest level at 800x1216 in fp16: 2 query tiles x 8 heads over 15200 keys.
  const KeySplit m2f = choose_key_split(16, 15200, 132);
  EXPECT_EQ(m2f.splits, 17);  // ceil(264 / 16) splits: about two blocks per SM
}

TEST(AttentionSplit, SplitsTileTheKeys) {
  for (int64_t blocks : {1, 6, 18, 56, 131})
    for (int64_t nk : {129, 300, 950, 1024, 3800, 15200, 100000}) {
      SCOPED_TRACE("blocks " + std::to_string(blocks) + " keys " + std::to_string(nk));
      const KeySplit s = choose_key_split(blocks, nk, 132);
      ASSERT_GE(s.splits, 2);
      EXPECT_LE(s.splits, 32);
      EXPECT_EQ(s.split_keys % 64, 0);
      EXPECT_GE(s.split_keys, 64);
      EXPECT_LT(int64_t(s.splits - 1) * s.split_keys, nk);  // the last split holds keys
      EXPECT_GE(int64_t(s.splits) * s.split_keys, nk);      // and together they hold them all
      EXPECT_LE(blocks * s.splits, 2 * 132 + blocks);       // not far past two blocks per SM
    }
}

}  // namespace
}  // namespace kiln::attention
