// Which CUDA implementation a Conv takes (ops/conv/conv_path.h): the dispatcher in conv_cuda.cpp
// and the GPU tests both ask conv_path, so these rules are what the GPU runs.
#include <gtest/gtest.h>

#include "ops/conv/conv_path.h"

namespace kiln::conv {
namespace {

Axis ax(int64_t k, int64_t s, int64_t pb = 0, int64_t pe = 0, int64_t d = 1) {
  Axis a;
  a.k = k, a.s = s, a.pb = pb, a.pe = pe, a.d = d;
  return a;
}
const Axis kUnit = ax(1, 1);  // the H axis of a 1-D conv

TEST(ConvPath, Pointwise) {
  EXPECT_EQ(conv_path({ax(1, 1), ax(1, 1)}, 1, 3072, 768), ConvPath::kPointwise);
  EXPECT_EQ(conv_path({kUnit, ax(1, 1)}, 1, 6, 3), ConvPath::kPointwise);      // 1-D
  EXPECT_EQ(conv_path({ax(1, 1), ax(1, 1)}, 1, 1, 1), ConvPath::kPointwise);   // one channel
  EXPECT_EQ(conv_path({ax(1, 1, 0, 0, 2), ax(1, 1, 0, 0, 3)}, 1, 8, 4), ConvPath::kPointwise);  // dilation moot
  // 1x1 with stride or pads is not a plain GEMM over the input.
  EXPECT_EQ(conv_path({ax(1, 2), ax(1, 2)}, 1, 8, 4), ConvPath::kCudnn);
  EXPECT_EQ(conv_path({ax(1, 1, 1, 1), ax(1, 1, 1, 1)}, 1, 8, 4), ConvPath::kCudnn);
  EXPECT_EQ(conv_path({ax(1, 1), ax(1, 1)}, 2, 8, 4), ConvPath::kCudnn);      // grouped 1x1
}

TEST(ConvPath, Depthwise) {
  // SegFormer's MixFFN 3x3.
  EXPECT_EQ(conv_path({ax(3, 1, 1, 1), ax(3, 1, 1, 1)}, 256, 256, 256), ConvPath::kDepthwise);
  // Any kernel, stride, dilation, asymmetric pads, 1-D.
  EXPECT_EQ(conv_path({ax(5, 2, 3, 0, 2), ax(7, 1, 0, 3)}, 17, 17, 17), ConvPath::kDepthwise);
  EXPECT_EQ(conv_path({kUnit, ax(3, 1, 1, 1)}, 3, 3, 3), ConvPath::kDepthwise);
  // kernel == stride windows on a depthwise conv still take the depthwise kernel.
  EXPECT_EQ(conv_path({ax(2, 2), ax(2, 2)}, 64, 64, 64), ConvPath::kDepthwise);
  // One channel, groups 1, is depthwise too.
  EXPECT_EQ(conv_path({ax(3, 1, 1, 1), ax(3, 1, 1, 1)}, 1, 1, 1), ConvPath::kDepthwise);
  // A channel multiplier (C_out = 2 * C_in) or partial groups are not.
  EXPECT_EQ(conv_path({ax(3, 1, 1, 1), ax(3, 1, 1, 1)}, 16, 16, 32), ConvPath::kCudnn);
  EXPECT_EQ(conv_path({ax(3, 1, 1, 1), ax(3, 1, 1, 1)}, 8, 16, 16), ConvPath::kCudnn);
}

TEST(ConvPath, Patchify) {
  // SegFormer's sequence reductions and a ViT patch embedding.
  EXPECT_EQ(conv_path({ax(8, 8), ax(8, 8)}, 1, 64, 64), ConvPath::kPatchify);
  EXPECT_EQ(conv_path({ax(4, 4), ax(4, 4)}, 1, 128, 128), ConvPath::kPatchify);
  EXPECT_EQ(conv_path({ax(2, 2), ax(2, 2)}, 1, 320, 320), ConvPath::kPatchify);
  EXPECT_EQ(conv_path({ax(16, 16), ax(16, 16)}, 1, 3, 768), ConvPath::kPatchify);
  EXPECT_EQ(conv_path({ax(2, 2), ax(4, 4)}, 1, 5, 7), ConvPath::kPatchify);  // unequal axes
  EXPECT_EQ(conv_path({kUnit, ax(4, 4)}, 1, 5, 7), ConvPath::kPatchify);     // 1-D
  EXPECT_EQ(conv_path({ax(1, 1), ax(4, 4)}, 1, 5, 7), ConvPath::kPatchify);  // 1 x 4 windows
  // Overlapping or gapped windows, pads, dilation, groups: cuDNN.
  EXPECT_EQ(conv_path({ax(7, 4, 3, 3), ax(7, 4, 3, 3)}, 1, 3, 64), ConvPath::kCudnn);  // patch embedding
  EXPECT_EQ(conv_path({ax(3, 2, 1, 1), ax(3, 2, 1, 1)}, 1, 64, 128), ConvPath::kCudnn);
  EXPECT_EQ(conv_path({ax(2, 3), ax(2, 3)}, 1, 8, 8), ConvPath::kCudnn);
  EXPECT_EQ(conv_path({ax(2, 2, 0, 1), ax(2, 2)}, 1, 8, 8), ConvPath::kCudnn);
  EXPECT_EQ(conv_path({ax(2, 2, 0, 0, 2), ax(2, 2)}, 1, 8, 8), ConvPath::kCudnn);
  EXPECT_EQ(conv_path({ax(2, 2), ax(2, 2)}, 2, 8, 8), ConvPath::kCudnn);
}

TEST(ConvPath, Names) {
  EXPECT_STREQ(conv_path_name(ConvPath::kPointwise), "pointwise");
  EXPECT_STREQ(conv_path_name(ConvPath::kDepthwise), "depthwise");
  EXPECT_STREQ(conv_path_name(ConvPath::kPatchify), "patchify");
  EXPECT_STREQ(conv_path_name(ConvPath::kCudnn), "cudnn");
}

}  // namespace
}  // namespace kiln::conv
