// kiln.Remap's stages: the data-movement steps the op applies to its input, in order, as its
// `stages` attribute spells them (one string each, so `kiln inspect` shows them readably):
//
//   reshape:D0,D1,...         the same elements as dims D (row-major; no 0/-1 shorthand)
//   transpose:P0,P1,...       ONNX Transpose with perm P
//   slice:AXIS,START,STEP,N   N elements START, START+STEP, ... along AXIS (0 ≤ START, STEP ≥ 1,
//                             the last one inside the axis)
//   pad:AXIS,BEFORE,AFTER     BEFORE and AFTER fill elements around AXIS (both ≥ 0)
//   pieces:AXIS,S0,N0,S1,N1,...  along AXIS, the ranges [S0, S0+N0), [S1, S1+N1), ... of the input
//                             one after another: Concat of Slices of one tensor (torch.roll)
//
// Checking a stage against its input dims gives the dims it produces, or a message for the user.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ir/shape.h"

namespace kiln::tensor_ops {

enum class RemapKind { kReshape, kTranspose, kSlice, kPad, kPieces };

struct RemapStage {
  RemapKind kind = RemapKind::kReshape;
  std::vector<int64_t> v;  // the numbers after the colon

  static RemapStage reshape(Dims d) { return {RemapKind::kReshape, std::move(d)}; }
  static RemapStage transpose(std::vector<int64_t> p) { return {RemapKind::kTranspose, std::move(p)}; }
  static RemapStage slice(int64_t axis, int64_t start, int64_t step, int64_t n) {
    return {RemapKind::kSlice, {axis, start, step, n}};
  }
  static RemapStage pad(int64_t axis, int64_t before, int64_t after) { return {RemapKind::kPad, {axis, before, after}}; }
};

// Ranks above this are refused (the CUDA kernel's limit, kept for the CPU too so both agree).
constexpr int kRemapMaxRank = 8;
constexpr size_t kRemapMaxStages = 64;

// Parses one stage; on a malformed string returns false with *error saying what is wrong.
bool parse_remap_stage(const std::string& text, RemapStage* out, std::string* error);
std::string format_remap_stage(const RemapStage& s);
std::vector<std::string> format_remap_stages(const std::vector<RemapStage>& stages);

// The dims stage `s` makes of `in`, or "" in *error; else *error says why the stage does not
// apply (axis out of range, sizes that do not match, ...).
Dims remap_stage_dims(const RemapStage& s, const Dims& in, std::string* error);

// The dims after all stages, or "" in *error. Also refuses an intermediate of more than twice
// the elements of the larger of x and the result: the reference materializes every stage, and
// a chain that pads far out only to crop back in would make it allocate without bound.
Dims remap_dims(const std::vector<RemapStage>& stages, const Dims& x, std::string* error);

}  // namespace kiln::tensor_ops
