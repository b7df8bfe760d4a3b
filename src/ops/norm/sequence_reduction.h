// SequenceReduction (domain "kiln"): SegFormer's efficient-attention key/value path in one node —
// the LayerNorm before the sequence-reduction conv with its patch rows, the conv as a GEMM, its
// LayerNorm and the packed K/V projection — which passes/fuse_sequence_reduction makes on fp16
// engines, so that neither the patch rows, the reduced tokens nor their norm reach memory:
//
//   X       [B, H·W, C]    the residual stream's tokens of an H × W picture, float32 (an fp16
//                          engine's island) or float16
//   S1, B1  [C]            the first LayerNorm's Scale and B, float16
//   Wr      [p·p·C, C]     the reduction conv as kiln.LayerNormPatchRows' rows multiply it
//                          (row (i·p + j)·C + c: tap (i, j), channel c), float16
//   Br      [C]            its bias, float16
//   S2, B2  [C]            the second LayerNorm's, float16
//   Wkv     [C, N2]        the K and V projections side by side (fuse_kv_projection), float16
//   Bkv     [N2]           their bias, float16
//   KV      [B, (H/p)·(W/p), N2]   float16
//
//   P  = the patch rows of LayerNorm(X)·S1 + B1 (layer_norm_patch_rows.h)
//   R  = P·Wr + Br        L2 = LayerNorm(R)·S2 + B2        KV = L2·Wkv + Bkv
//
// P, R and L2 are float16, rounded where the nodes it replaces round them (kiln.LayerNormPatchRows,
// kiln.FusedMatMul, LayerNormalization, kiln.FusedMatMul); the CPU reference runs those
// references in turn, so the fused node computes exactly what they did. Attributes: height,
// width, patch (as LayerNormPatchRows'), epsilon (the first LayerNorm's, default 1e-5),
// epsilon2 (the second's, default 1e-5).
#pragma once
#include <cstdint>

#include "ir/dtype.h"
#include "ops/op.h"

namespace kiln {
class OpRegistry;
}

namespace kiln::norm {

inline constexpr const char* kSequenceReductionOp = "SequenceReduction";

// Input slots.
enum SequenceReductionInput : int {
  kSrX = 0,
  kSrScale1,
  kSrShift1,
  kSrW,
  kSrBias,
  kSrScale2,
  kSrShift2,
  kSrWkv,
  kSrBkv,
  kSrInputs
};

// Whether the CUDA kernel (sequence_reduction_wgmma.cu) takes these: X float32, C = 64 or 128
// channels, N2 = 2·C (SegFormer-B1…B5's first two stages) on a Hopper GPU. The pass checks it (it
// may run where no GPU is); a node made by hand that the kernel lacks is refused on the GPU.
bool sequence_reduction_fits(DType x, int64_t channels, int64_t n2);

// Checks the inputs' types and shapes (as far as known) and the attributes; returns KV's type.
ValueType sequence_reduction_type(const OpContextBase& ctx, const std::vector<ValueType>& inputs);

void register_sequence_reduction(OpRegistry& r);

}  // namespace kiln::norm
