#include "ops/attention/attention_mask_strides.h"

#include "ops/op_util.h"

namespace kiln::attention {

std::optional<MaskStrides> mask_strides(const Dims& mask, const Dims& scores) {
  const size_t r = scores.size();
  if (r < 2 || mask.size() > r) return std::nullopt;
  for (size_t i = 0; i < mask.size(); ++i)
    if (mask[i] != 1 && mask[i] != scores[r - mask.size() + i]) return std::nullopt;
  const Dims st = broadcast_strides(mask, scores);
  MaskStrides m;
  m.row = st[r - 2];
  m.col = st[r - 1];
  if (r >= 3) m.head = st[r - 3];
  // Outer index o = Σ idx_i · Π_{j>i} scores[j] over the dims before H; the mask reads
  // Σ idx_i · st[i], which is o · outer only when each dim's stride is the next inner one's
  // times that dim. Dims of size 1 have idx 0 and constrain nothing.
  bool first = true;
  int64_t expect = 0;
  for (size_t i = r >= 3 ? r - 3 : 0; i-- > 0;) {
    if (scores[i] == 1) continue;
    if (first) m.outer = st[i], first = false;
    else if (st[i] != expect) return std::nullopt;
    expect = st[i] * scores[i];
  }
  return m;
}

}  // namespace kiln::attention
