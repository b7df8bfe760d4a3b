#include "ops/conv/conv_ops.h"
#include "ops/conv/depthwise_nhwc.h"
#include "ops/conv/dwconv_matmul.h"
#include "ops/conv/fused_conv.h"
#include "ops/conv/im2col_tokens.h"
#include "ops/conv/mix_ffn.h"
#include "ops/conv/patch_embed_tokens.h"
#include "ops/conv/token_conv.h"
#ifdef KILN_WITH_CUDA
#include "ops/conv/conv_cuda.h"
#endif

namespace kiln {

void register_conv_ops(OpRegistry& r) {
  conv::register_conv(r);
  conv::register_conv_transpose(r);
  conv::register_pools(r);
  conv::register_global_pools(r);
  conv::register_depthwise_nhwc(r);
  conv::register_fused_conv(r);
  conv::register_im2col_tokens(r);
  conv::register_token_conv(r);
  conv::register_patch_embed_tokens(r);
  conv::register_mix_ffn(r);
  conv::register_dwconv_matmul(r);
#ifdef KILN_WITH_CUDA
  r.set_cuda("Conv", conv::conv_cuda);
  r.set_cuda("MaxPool", conv::max_pool_cuda);
  r.set_cuda("AveragePool", conv::average_pool_cuda);
  r.set_cuda(conv::kDepthwiseNhwcOp, conv::depthwise_nhwc_cuda, kKilnDomain);
  r.set_cuda(conv::kFusedConvOp, conv::fused_conv_cuda, kKilnDomain);
  r.set_cuda(conv::kIm2ColTokensOp, conv::im2col_tokens_cuda, kKilnDomain);
  r.set_cuda(conv::kPatchEmbedTokensOp, conv::patch_embed_tokens_cuda, kKilnDomain);
  r.set_cuda(conv::kMixFfnOp, conv::mix_ffn_cuda, kKilnDomain);
  r.set_cuda(conv::kDwConvMatMulOp, conv::dwconv_matmul_cuda, kKilnDomain);
  r.set_cuda(conv::kTokenConvOp, conv::token_conv_cuda, kKilnDomain);
#endif
}

}  // namespace kiln
