// How a masked attention launch splits its keys across blocks. Masked attention is often a few
// queries over many keys — a decoder's cross-attention: 100 queries, thousands of pixels — where
// one block per query tile and batch item leaves most SMs idle while each block walks every
// key. Split, the blocks of one row cover whole key tiles each, write their partial softmax
// state and attention_combine.cu merges them (the scores are still never written). Host code,
// no CUDA, so the choice is unit-tested on any machine.
#pragma once
#include <cstdint>

namespace kiln::attention {

struct KeySplit {
  int splits = 1;      // 1: no split
  int split_keys = 0;  // keys per split, a multiple of kSplitKeyUnit; the last split may hold fewer
};

// For a grid of `blocks` (query tiles × batch items) over `nk` keys on `sms` SMs: none when the
// grid already fills the GPU; else enough splits for about two blocks per SM, at most 32, each
// of at least 128 keys, none empty.
KeySplit choose_key_split(int64_t blocks, int64_t nk, int sms);

}  // namespace kiln::attention
