// Removes nodes that hand their input on unchanged, once shapes are known:
//
//   x ─▶ Identity | Dropout | Cast(to x's dtype) | Reshape/Flatten/Squeeze/Unsqueeze/Expand
//        (output shape == x's shape) | Transpose(perm = 0,1,..) | Slice (every step 1, output
//        shape == x's shape) | Resize (output shape == x's shape, no crop) ─▶ y      ⇒   x ─▶
//
// takes the branch a constant condition picks:
//
//   Where(c constant all false | all true, a, b) ─▶ y   ⇒   b | a ─▶  (the branch has y's dims)
//
// turns Transposes that only move axes of extent 1 into Reshapes (no data moves):
//
//   x [1, N, 1, d] ─▶ Transpose(0, 2, 1, 3) ─▶ y [1, 1, N, d]   ⇒   x ─▶ Reshape [1, 1, N, d] ─▶ y
//
// and folds chains whose composition is one node:
//
//   x ─▶ Reshape ─▶ Reshape(shape s) ─▶ y        ⇒   x ─▶ Reshape(shape s) ─▶ y
//   x ─▶ Transpose(p) ─▶ Transpose(q) ─▶ y       ⇒   x ─▶ Transpose(p∘q) ─▶ y (gone when identity)
//
// A node whose output is a graph output stays (the output keeps its name). Resize of an
// unchanged shape is the identity in every coordinate mode but tf_crop_and_resize: the source
// coordinate of output pixel i is exactly i, where linear, cubic and nearest all return x[i]
// (SegFormer's decode head resizes its stage-1 features to their own size).
#pragma once
#include "ir/graph.h"

namespace kiln {

int eliminate_noops(Graph& g);  // nodes removed or merged

}  // namespace kiln
