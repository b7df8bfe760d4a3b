#include "ops/attention/attention_block.h"
#include "ops/attention/attention_keep_mask.h"
#include "ops/attention/attention_ops.h"
#include "ops/attention/head_scores.h"
#include "ops/attention/row_column_read.h"
#include "ops/registry.h"
#ifdef KILN_WITH_CUDA
#include "ops/attention/attention_cuda.h"
#endif

namespace kiln {

void register_attention_ops(OpRegistry& r) {
  using namespace attention;
  r.add({.domain = kKilnDomain, .name = "Attention", .min_inputs = 3, .max_inputs = 4,
         .infer = attention_infer, .cpu = attention_cpu});
  register_row_column_read(r);
  register_head_scores(r);
  register_attention_keep_mask(r);
  register_attention_block(r);
#ifdef KILN_WITH_CUDA
  r.set_cuda("Attention", attention_cuda, kKilnDomain);
  r.set_cuda(kRowColumnReadOp, row_column_read_cuda, kKilnDomain);
  r.set_cuda(kHeadScoresOp, head_scores_cuda, kKilnDomain);
  r.set_cuda(kAttentionKeepMaskOp, attention_keep_mask_cuda, kKilnDomain);
  r.set_cuda(kAttentionBlockOp, attention_block_cuda, kKilnDomain);
#endif
}

}  // namespace kiln
