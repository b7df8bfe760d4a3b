#include "ops/attention/attention_split.h"

#include <algorithm>

namespace kiln::attention {

namespace {
constexpr int64_t kUnit = 64;        // kSplitKeyUnit (attention_launch.h, which needs CUDA headers)
constexpr int64_t kMinKeys = 128;    // per split: below this the merge costs more than it saves
constexpr int64_t kMaxSplits = 32;
int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
}  // namespace

KeySplit choose_key_split(int64_t blocks, int64_t nk, int sms) {
  if (blocks <= 0 || nk <= 0 || blocks >= sms) return {};
  const int64_t want = std::min({ceil_div(2 * int64_t(sms), blocks), ceil_div(nk, kMinKeys), kMaxSplits});
  if (want <= 1) return {};
  const int64_t keys = ceil_div(ceil_div(nk, want), kUnit) * kUnit;
  const int64_t splits = ceil_div(nk, keys);  // every split holds at least one key
  if (splits <= 1) return {};
  return {int(splits), int(keys)};
}

}  // namespace kiln::attention
