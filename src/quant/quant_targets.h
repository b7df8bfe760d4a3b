// Which tensors an INT8 engine quantizes, found on the OPTIMIZED graph (after the rewrite
// passes): the float32 activation operand of each GEMM or convolution with a constant float32
// weight — MatMul (2-D weights), Gemm, Conv and their fused forms kiln.FusedMatMul and
// kiln.FusedConv — and that weight, per output channel. Activation-by-activation products
// (kiln.Attention, kiln.RowColumnRead, MatMuls of two activations) and depthwise token convs
// (kiln.DepthwiseConvNHWC: bandwidth-bound) stay float.
//
// Why after the passes: they decide which tensors exist. fuse_token_patch_conv and
// fuse_token_im2col_conv turn a Conv into a row gather and a MatMul on another tensor,
// merge_linear_pointwise_conv folds two GEMMs into one, commute_resize_conv moves convs before
// their Resize; ranges calibrated on the exported graph
// would name tensors the engine never computes. And Q/DQ pairs inserted before the passes would
// sit between the ops the fusion patterns match.
#pragma once
#include <string>
#include <vector>

#include "ir/graph.h"

namespace kiln::quant {

struct WeightTarget {
  size_t node;   // index into Graph::nodes
  size_t input;  // the weight's input slot
  int axis;      // the weight's output-channel axis
};

struct QuantTargets {
  std::vector<std::string> activations;  // each once, in graph order
  std::vector<WeightTarget> weights;
  std::vector<size_t> consumers;  // nodes whose input 0 is one of `activations`
};

QuantTargets find_quant_targets(const Graph& g);

}  // namespace kiln::quant
