// Stage lists the kiln.Remap tests share (CPU: test_remap; GPU: test_gpu_remap): Swin's window
// chains, and random lists of every stage kind over small dims.
#pragma once
#include <algorithm>
#include <random>
#include <vector>

#include "ops/tensor/remap_stages.h"

namespace kiln::test {

// Swin's window attention at an awkward size: 13×11 tokens padded to windows of 4, shifted by
// 2 (−2 on the way in, +2 on the way back), 6 channels, batch 2.
inline std::vector<tensor_ops::RemapStage> swin_in(int64_t B, int64_t H, int64_t W, int64_t C, int64_t win, int64_t shift) {
  const int64_t Hp = (H + win - 1) / win * win, Wp = (W + win - 1) / win * win;
  std::vector<tensor_ops::RemapStage> s = {tensor_ops::RemapStage::reshape({B, H, W, C}), tensor_ops::RemapStage::pad(1, 0, Hp - H), tensor_ops::RemapStage::pad(2, 0, Wp - W)};
  if (shift) {
    s.push_back({tensor_ops::RemapKind::kPieces, {1, shift, Hp - shift, 0, shift}});
    s.push_back({tensor_ops::RemapKind::kPieces, {2, shift, Wp - shift, 0, shift}});
  }
  s.push_back(tensor_ops::RemapStage::reshape({B, Hp / win, win, Wp / win, win, C}));
  s.push_back(tensor_ops::RemapStage::transpose({0, 1, 3, 2, 4, 5}));
  s.push_back(tensor_ops::RemapStage::reshape({B * (Hp / win) * (Wp / win), win * win, C}));
  return s;
}

inline std::vector<tensor_ops::RemapStage> swin_out(int64_t B, int64_t H, int64_t W, int64_t C, int64_t win, int64_t shift) {
  const int64_t Hp = (H + win - 1) / win * win, Wp = (W + win - 1) / win * win;
  std::vector<tensor_ops::RemapStage> s = {tensor_ops::RemapStage::reshape({B, Hp / win, Wp / win, win, win, C}),
                               tensor_ops::RemapStage::transpose({0, 1, 3, 2, 4, 5}), tensor_ops::RemapStage::reshape({B, Hp, Wp, C})};
  if (shift) {
    s.push_back({tensor_ops::RemapKind::kPieces, {1, Hp - shift, shift, 0, Hp - shift}});
    s.push_back({tensor_ops::RemapKind::kPieces, {2, Wp - shift, shift, 0, Wp - shift}});
  }
  s.push_back(tensor_ops::RemapStage::slice(1, 0, 1, H));
  s.push_back(tensor_ops::RemapStage::slice(2, 0, 1, W));
  s.push_back(tensor_ops::RemapStage::reshape({B, H * W, C}));
  return s;
}

// 1 to 5 random stages that fit `d` (updated to the result's dims): splits and merges,
// permutations, strided slices, pads, rolls and two-range pieces.
inline std::vector<tensor_ops::RemapStage> random_remap_stages(std::mt19937_64& rng, Dims& d) {
  auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  std::vector<tensor_ops::RemapStage> s;
  for (int64_t k = pick(1, 5); k > 0; --k) {
    const int64_t axis = pick(0, int64_t(d.size()) - 1), dim = d[size_t(axis)];
    tensor_ops::RemapStage next;
    switch (pick(0, 5)) {
      case 0: {  // split an axis or merge two neighbours
        Dims to = d;
        if (dim % 2 == 0 && dim > 2) {
          to[size_t(axis)] = 2;
          to.insert(to.begin() + axis + 1, dim / 2);
        } else if (axis + 1 < int64_t(d.size())) {
          to[size_t(axis)] *= to[size_t(axis) + 1];
          to.erase(to.begin() + axis + 1);
        }
        if (to.size() > 8) continue;
        next = tensor_ops::RemapStage::reshape(to);
        break;
      }
      case 1: {
        std::vector<int64_t> perm(d.size());
        for (size_t i = 0; i < perm.size(); ++i) perm[i] = int64_t(i);
        std::shuffle(perm.begin(), perm.end(), rng);
        next = tensor_ops::RemapStage::transpose(perm);
        break;
      }
      case 2: {
        const int64_t step = pick(1, 2), start = pick(0, dim - 1), n = pick(1, (dim - 1 - start) / step + 1);
        next = tensor_ops::RemapStage::slice(axis, start, step, n);
        break;
      }
      case 3: next = tensor_ops::RemapStage::pad(axis, pick(0, 2), pick(0, 2)); break;
      default: {  // a roll, or two ranges
        const int64_t cut = pick(0, dim - 1);
        next = {tensor_ops::RemapKind::kPieces, {axis, cut, dim - cut, 0, cut}};
        if (pick(0, 1)) next = {tensor_ops::RemapKind::kPieces, {axis, 0, pick(1, dim), cut, dim - cut}};
        break;
      }
    }
    std::string error;
    d = tensor_ops::remap_stage_dims(next, d, &error);
    if (!error.empty()) return {};  // cannot happen: each stage is built to fit
    s.push_back(next);
  }
  return s;
}

}  // namespace kiln::test
