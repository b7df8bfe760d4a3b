// The CUDA kernels of the attention family: kiln.Attention (host side in attention_cuda.cpp;
// device code in attention.cu and attention_generic.cu) and kiln.RowColumnRead (host side in
// row_column_read_cuda.cpp; device code in row_column_read.cu and row_column_read_generic.cu).
#pragma once
#include "ops/op.h"

namespace kiln::attention {

void attention_cuda(CudaKernelContext& ctx);
void row_column_read_cuda(CudaKernelContext& ctx);
void head_scores_cuda(CudaKernelContext& ctx);  // kiln.HeadScores (head_scores_cuda.cpp)
void attention_keep_mask_cuda(CudaKernelContext& ctx);  // kiln.AttentionKeepMask (attention_keep_mask_cuda.cpp)
void attention_block_cuda(CudaKernelContext& ctx);      // kiln.AttentionBlock (attention_block_cuda.cpp)

}  // namespace kiln::attention
