// FusedConv (domain "kiln"): a Conv with what follows it in CNN backbones written by the same
// pass over Y, put in the graph by passes/fuse_conv_epilogue:
//
//   Y = act(Conv(X, W, B) [+ Z])
//
// X, W, B and every attribute as ONNX Conv (B required: the pass supplies zeros when the Conv
// had none); Z optional, Y's shape and type (a ResNet block's shortcut); activation = "none" |
// "relu" | "gelu" | "gelu_tanh", applied AFTER the sum (unlike FusedMatMul, whose activation
// precedes its residual: a bottleneck adds its shortcut before the ReLU). At least one of Z and
// the activation is present. The mixed form of fp16 engines (fp16 X and W, fp32 B and Y) takes
// an fp32 Z. CPU reference: Conv's kernel, then Z and the activation in the compute type, one
// rounding per output.
#pragma once

namespace kiln::conv {

inline constexpr const char* kFusedConvOp = "FusedConv";

}  // namespace kiln::conv
