// Chains of data-movement ops as one kiln.Remap (ops/tensor/remap.h): the GPU then reads each
// element once and writes it once instead of once per op. Swin's window attention as
// transformers exports it is the case in mind:
//
//   tokens ─▶ Reshape [B,H,W,C] ─▶ Pad (zeros, to window multiples)
//          ─▶ Slice ┐                    (torch.roll along H: Concat of two Slices)
//          ─▶ Slice ┴▶ Concat(H) ─▶ Slice ┐
//                                  ─▶ Slice ┴▶ Concat(W)      (and along W)
//          ─▶ Reshape [B,H/7,7,W/7,7,C] ─▶ Transpose(0,1,3,2,4,5) ─▶ Reshape [B·nW,49,C]
//                                  ⇒   kiln.Remap(tokens) ─▶ windows
//
// and the way back after the attention (window reverse, roll back, crop) likewise; also the
// patch merging between stages:
//
//   x [B,H,W,C] ─▶ Slice(H 0::2) ─▶ Slice(W 0::2) ┐
//               ─▶ Slice(H 1::2) ─▶ Slice(W 0::2) ┤
//                        (and the two W 1::2)      ┴▶ Concat(C) ─▶ Reshape [B,HW/4,4C]
//                                  ⇒   kiln.Remap(x)
//
// Links: Reshape / Squeeze / Unsqueeze / Flatten (static dims), Transpose, Slice (constant
// starts, ends, axes and positive steps), Pad (mode constant, constant pads — negative ones
// crop — and constant value, one value for the whole chain), and Concat of slices of one tensor:
// each input a Slice along the Concat's axis alone with step 1, or that tensor itself (pieces);
// or each input a chain of Slices taking every step-th element of the same other axes from a
// start below the step, the axes tiled exactly (interleaved: split, transpose, pick). A chain
// grows back from its last node while the value it reads is read only inside the chain and is
// not a graph output; it is fused when it makes at least two copies (Reshapes are free), has
// static dims, and its stages compose into one index map (remap_compile.h) — else a shorter
// chain ending at the same node is tried, the longest first. The fused node takes the last
// node's name and output; a chain that leaves every element where it was (SegFormer's last
// stage, NHWC → NCHW and back to tokens) becomes a Reshape, no copy at all. Runs late: the attention, MSDeformAttn, token-conv and resize-sum
// passes read the Transposes and Slices this one would take.
#pragma once
#include "ir/graph.h"

namespace kiln {

int fuse_data_movement(Graph& g);  // chains replaced

}  // namespace kiln
