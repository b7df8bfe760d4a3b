// LayerNormPatchRows (domain "kiln"): a LayerNormalization over the channels of a token tensor
// that also writes its output as the rows of SegFormer's sequence-reduction GEMM, so that the
// row gather between them (a Transpose: Y read and written once more) disappears. Put in the
// graph by passes/fuse_layer_norm_patch_rows from LayerNormalization → Reshape [B, H/p, p, W/p,
// p, C] → Transpose(0,1,3,2,4,5) → Reshape [B, (H/p)·(W/p), p·p·C]:
//
//   X      [B, H·W, C]                the tokens of an H × W picture (row-major)
//   Scale  [C], B [C] (optional)      LayerNormalization's
//   Y      [B, H·W, C]                LayerNormalization(X, Scale, B, axis -1, epsilon); an
//                                     optional output ("" when nothing reads it)
//   P      [B, (H/p)·(W/p), p·p·C]    Y's rows gathered window by window:
//          P[b, wy·(W/p) + wx, (i·p + j)·C + c] = Y[b, (wy·p + i)·W + wx·p + j, c]
//
// Y and P take Scale's type under LayerNormalization's rules, mixed forms of fp16 engines
// included (X float32 with Scale float16: an fp32 residual stream read into fp16 rows).
// Attributes: height, width, patch (required, positive; patch divides height and width),
// epsilon (default 1e-5). The CPU reference runs LayerNormalization's reference and moves its
// rows, so the node computes exactly what the nodes it replaced did.
#pragma once
#include <cstdint>

#include "ops/op.h"

namespace kiln {
class OpRegistry;
}

namespace kiln::norm {

inline constexpr const char* kLayerNormPatchRowsOp = "LayerNormPatchRows";

struct PatchRowsGeometry {
  int64_t height = 0, width = 0, patch = 0;
};

// The attributes, checked: a model error naming what is wrong.
PatchRowsGeometry patch_rows_geometry(const OpContextBase& ctx);

void register_layer_norm_patch_rows(OpRegistry& r);

}  // namespace kiln::norm
