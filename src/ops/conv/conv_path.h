// Which CUDA implementation runs a Conv, decided from its geometry alone so the dispatcher
// (conv_cuda.cpp) and the tests agree. Host-only C++: the CPU test suite checks the rules.
#pragma once
#include <cstdint>
#include <vector>

#include "ops/conv/window.h"

namespace kiln::conv {

enum class ConvPath {
  kPointwise,  // 1x1, stride 1, no pads, groups 1: one cuBLASLt GEMM per image, no copies
  kDepthwise,  // group == C_in == C_out: own direct kernel (depthwise_conv.cu), bias fused
  kPatchify,   // kernel == stride, no pads, dilation 1, groups 1: rearrange + GEMM
  kCudnn,      // everything else
};
const char* conv_path_name(ConvPath p);

// axes: the spatial axes (H, W; 1-D convs as H = 1), of which only k, s, d, pb, pe are read.
ConvPath conv_path(const std::vector<Axis>& axes, int64_t group, int64_t c_in, int64_t c_out);

}  // namespace kiln::conv
