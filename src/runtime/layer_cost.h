// What a node costs in arithmetic and memory traffic, for `kiln profile` and `kiln bench` to
// place each layer on the roofline ("what fraction of the relevant peak did it reach").
//
// flops (multiply and add count 1 each, so a multiply-accumulate is 2):
//   MatMul         2·numel(Y)·K (numpy batch broadcasting and 1-D operands follow from Y)
//   Gemm           2·M·N·K, + M·N when C is given
//   Conv           2·numel(Y)·(C/group)·prod(kernel), + numel(Y) with a bias; any rank
//   ConvTranspose  2·numel(X)·(M/group)·prod(kernel), + numel(Y) with a bias
//   Einsum         k·prod(extent of every label) for k operands (2· for the usual two)
//   kiln.Attention 2·B·Nq·Nk·d (Q Kᵀ) + 2·B·Nq·Nk·dv (P V) + 5·B·Nq·Nk (softmax, as Softmax)
//   kiln.AttentionBlock  per token of X [B, N, C] with KV [B, Nk, 2H, D]: the LayerNorm 5·C, the
//                  query projection (2C + 1)·C, the attention H·Nk·(4D + 5) as kiln.Attention's,
//                  the output projection with bias and residual (2C + 2)·C
//   kiln.RowColumnRead 2·numel(Y)·H·W: the two MatMuls it replaces (Σ over y and x per output)
//   kiln.HeadScores 2·numel(Y)·D (the MatMul it replaces; the scale rides on it)
//   kiln.MaskPositionEmbedding 1 per output element (its sin or cos; the running count and
//                  positions are per row, negligible)
//   kiln.ResizeSumConv as the Conv it ends in, 2·numel(Y)·C + numel(Y) (Y [B, K, H, W]); its
//                  ResizeSum, like kiln.ResizeSum, 0; with projected_input p, + 2·B·N·Cin·C
//                  for X_p [B, N, Cin] · Wp [Cin, C]
//   kiln.Int8MatMul / kiln.Int8Conv  as FusedMatMul / FusedConv (K = W's row; C·kh·kw), int8
//                  operations, + 1 per element of X for its quantize
//   elementwise    1 per output element (Add, Relu, Erf, Where, Pow, ...); Sum/Max/Min/Mean of
//                  k inputs k-1 (at least 1); Cast/CastLike 0
//   LayerNormalization, Instance/GroupNormalization, MeanVarianceNormalization, LRN,
//   Softmax, LogSoftmax   5 per element (statistics, subtract, scale, shift / max, subtract,
//                  exp, sum, divide); BatchNormalization (inference) 2
//   reductions     1 per input element (ReduceSum/Mean/Max/Min/Prod/L1/LogSum, ArgMax/ArgMin,
//                  CumSum, TopK, Hardmax); 2 for ReduceL2/SumSquare/LogSumExp
//   pooling        prod(kernel_shape) per output element (2· for LpPool); global pools 1 per
//                  input element (2 for GlobalLpPool)
//   Resize         nearest 0; linear 2·2^r, cubic 2·4^r per output element, r = resized axes
//   GridSample     nearest 0; (bi)linear 2·2^s, (bi)cubic 2·4^s per output element, s spatial
//                  axes
//   anything else (data movement: Transpose, Concat, Slice, Gather, Pad, ...; plugin ops) 0
// bytes: every non-empty input read plus every output written, numel·dtype size, constants
// included (they are read from memory). Reshape, Squeeze, Unsqueeze, Flatten and Identity only
// alias their input: 0 bytes, 0 flops. Slice, Gather, GatherElements and GatherND read only the
// elements they select (the output's size) from their data input; Shape and Size read no data.
#pragma once
#include "ir/graph.h"

namespace kiln {

struct LayerCost {
  double flops = 0;
  double bytes = 0;
};

// Needs the node's inputs and outputs to have static shapes (run after shape inference with
// fixed input shapes); an unknown shape throws kInvalidArgument naming the node and value.
LayerCost layer_cost(const Graph& g, const Node& n);

// Sum over the graph's nodes.
LayerCost graph_cost(const Graph& g);

// A device's peak arithmetic rate and memory bandwidth. fp16_flops_per_s (tensor cores) is
// used for fp16 work when set; otherwise flops_per_s serves both.
struct DevicePeak {
  double flops_per_s = 0;
  double bytes_per_s = 0;
  double fp16_flops_per_s = 0;
};

// The roofline's "fraction of the relevant peak": max(flops/s ÷ peak flops/s, bytes/s ÷ peak
// bytes/s), peak flops being the fp16 one when fp16 is set. A peak of 0 leaves its term out;
// seconds ≤ 0 gives 0.
double achieved_fraction(const LayerCost& cost, double seconds, const DevicePeak& peak, bool fp16);

}  // namespace kiln
