// SegFormer's MixFFN block as PyTorch exports it, for the fusion tests of its float16 forms
// (fuse_mix_ffn, fuse_mix_ffn_norm, fuse_dwconv_matmul).
#pragma once
#include <cstdint>
#include <string>

#include "ir/graph.h"
#include "runtime/cpu_executor.h"

namespace kiln::test {

// The block as PyTorch exports it (HF SegformerMixFFN with its LayerNorm and residual), behind
// a LayerNorm and a projection with its residual, which make x an fp32 stream in fp16 engines
// (precision_islands.h), as SegFormer's patch embedding and attention do:
//   x0 ─LN─▶ x1 ─MatMul+Add─▶ Add(x1) ─▶ x ─LN─▶ MatMul+Add ─Transpose─Reshape─▶ Conv(group Hd) ─Reshape─Transpose─▶ GELU (Erf form)
//     ─▶ MatMul+Add ─▶ Add(x) ─▶ y
struct Block {
  int64_t B = 2, H = 5, W = 7, C = 32, Hd = 128;
  int64_t k = 3, pad = 1, dilation = 1;
  float eps = 1e-6f;
  bool gelu = true;
  std::string variant;  // "other residual", "fc1 relu", "hidden output", "ln axis 1", "graph input",
                       // "conv output" (the activated conv, fc2's input, is a graph output too)
  // The stage-end LayerNorm on y (output z): "" none, "end", or "end" with "y output" (y read
  // too), "end axis 1" (over tokens and channels), "end mean" (its Mean output read).
  std::string end;
};

// The ONNX model's bytes.
std::string build_mix_ffn_block(const Block& e);

// Random float32 feeds in [-2, 2] for the graph's inputs.
TensorMap random_feeds(const Graph& g);

}  // namespace kiln::test
