// Where an fp16 engine keeps float32 without computing in float32 (convert_to_fp16's islands).
// Measured on SegFormer-B2 (bench/fp16_sensitivity.py, H200): all-fp16 agrees with the fp32
// labels on 99.863% of pixels; these three islands, each with fp16 GEMM operands, reach 99.924%:
//
//   residual stream   x ─▶ LN(f32→f16) ─▶ attention / MLP (f16) ─▶ FusedMatMul(+x) ─▶ x' (f32)
//                     every kiln.FusedMatMul with a residual writes the sum in fp32 (fp16 A and
//                     W, fp32 bias and residual), the LayerNorms reading it take fp32 in;
//   stream start      Conv(f16 → f32) ─▶ Reshape/Transpose ─▶ LN(f32) ─▶ x (f32)
//                     the LayerNorm that starts a stream writes fp32, and the Conv behind it
//                     (through data movement only; or the FusedMatMul or kiln.PatchEmbedTokens
//                     the token passes made of it) writes fp32 too (SegFormer's patch embeddings);
//   model outputs     Conv / FusedMatMul(f16 → f32) [─▶ Reshape/Transpose] ─▶ graph output
//                     logits are never rounded to fp16 (rounding alone cost 0.024% of labels).
//
// The mixed nodes are the op extensions in conv_like.h, fused_matmul.cpp, patch_embed_tokens.h and
// layer_norm.cpp:
// Y takes the type of the bias (Scale for LayerNorm) when it is float32 and X float16, or the
// reverse for LayerNorm (and kiln.LayerNormPatchRows, a LayerNorm that also writes its rows
// gathered by windows: both its outputs take Scale's type). kiln.Int8MatMul with a residual
// carries a stream as FusedMatMul does, and it and kiln.Int8Conv with a bias write float32
// islands the same way (int8_matmul.h).
#pragma once
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"

namespace kiln {

struct PrecisionIslands {
  // Per node of the graph it was computed on: why the whole node stays float32 ("" if not).
  std::vector<std::string> node_reason;
  // Per node: why its float32 outputs are float32 although the node runs with fp16 operands.
  std::vector<std::string> mixed_reason;
  // (node, input slot) pairs that read the float32 version of a float32 value.
  std::set<std::pair<size_t, size_t>> fp32_slots;
};

// The islands of a float32 graph, before convert_to_fp16 rewrites it.
PrecisionIslands find_precision_islands(const Graph& g);

}  // namespace kiln
