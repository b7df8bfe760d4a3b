// CUDA kernels of the conv family: pools through cuDNN 9, and Conv (1-D and 2-D, groups, strides,
// pads, dilations) through the implementation conv_path.h picks: a cuBLASLt GEMM (1x1), the own
// depthwise kernel, patch rearrangement + GEMM (kernel == stride) or cuDNN 9. fp32 (FMA math
// unless TF32 is allowed) and fp16 (fp32 accumulation).
#pragma once
#include "ops/op.h"

namespace kiln::conv {

void conv_cuda(CudaKernelContext& ctx);
// kiln.FusedConv (fused_conv.h): Conv's paths, then the bias, Z and the activation in the one
// pass over Y that the bias alone takes (channel_epilogue.cu).
void fused_conv_cuda(CudaKernelContext& ctx);
// MaxPool and AveragePool (2-D, and 1-D as H = 1) through cuDNN pooling (pool_cuda.cpp);
// dilations, Indices and ceil_mode extents cuDNN cannot reach are reported as unsupported.
void max_pool_cuda(CudaKernelContext& ctx);
void average_pool_cuda(CudaKernelContext& ctx);
// DepthwiseConvNHWC (kiln domain; depthwise_nhwc.h): own kernels on token tensors (depthwise_nhwc.cu).
void depthwise_nhwc_cuda(CudaKernelContext& ctx);
// Im2ColTokens (kiln domain; im2col_tokens.h): own gathers (im2col_tokens.cu).
void im2col_tokens_cuda(CudaKernelContext& ctx);
// PatchEmbedTokens (kiln domain; patch_embed_tokens.h): a tensor-core kernel for float16 W
// (patch_embed_tokens_mma.cu), else a direct one (patch_embed_tokens_direct.cu).
void patch_embed_tokens_cuda(CudaKernelContext& ctx);
// MixFFN (kiln domain; mix_ffn.h): the tensor-core kernel of mix_ffn.cu.
void mix_ffn_cuda(CudaKernelContext& ctx);
// DwConvMatMul (kiln domain; dwconv_matmul.h): the wgmma kernel of dwconv_matmul_wgmma.cu.
void dwconv_matmul_cuda(CudaKernelContext& ctx);
// TokenConv (kiln domain; token_conv.h): the Hopper implicit GEMM of token_conv_wgmma.cu, the
// only kernel: float16 X and W, C and Co multiples of 64.
void token_conv_cuda(CudaKernelContext& ctx);

}  // namespace kiln::conv
