#include "passes/pipeline.h"

#include <algorithm>

#include "kiln/status.h"

#include "passes/commute_mean_linear.h"
#include "passes/commute_resize_conv.h"
#include "passes/eliminate_noops.h"
#include "passes/fold_attention_transposes.h"
#include "passes/fuse_attention_keep_mask.h"
#include "passes/fold_row_column_transposes.h"
#include "passes/fuse_conv_epilogue.h"
#include "passes/fuse_data_movement.h"
#include "passes/fuse_dwconv_activation.h"
#include "passes/fuse_dwconv_matmul.h"
#include "passes/fuse_elementwise.h"
#include "passes/fuse_attention.h"
#include "passes/fuse_attention_block.h"
#include "passes/fuse_gelu.h"
#include "passes/fuse_group_norm.h"
#include "passes/fuse_head_scores.h"
#include "passes/fuse_int8_conv.h"
#include "passes/fuse_int8_matmul.h"
#include "passes/fuse_kv_projection.h"
#include "passes/fuse_layer_norm.h"
#include "passes/fuse_layer_norm_patch_rows.h"
#include "passes/fuse_mask_position_embedding.h"
#include "passes/fuse_masked_softmax.h"
#include "passes/fuse_matmul_epilogue.h"
#include "passes/fuse_mix_ffn.h"
#include "passes/fuse_mix_ffn_norm.h"
#include "passes/fuse_ms_deform_attn.h"
#include "passes/fuse_patch_embed_layer_norm.h"
#include "passes/fuse_patch_embed_tokens.h"
#include "passes/fuse_resize_sum.h"
#include "passes/fuse_resize_sum_conv.h"
#include "passes/fuse_row_column_read.h"
#include "passes/fuse_sequence_reduction.h"
#include "passes/fuse_token_conv.h"
#include "passes/fuse_token_dwconv.h"
#include "passes/fuse_token_im2col_conv.h"
#include "passes/fuse_token_patch_conv.h"
#include "passes/merge_linear_pointwise_conv.h"
#include "passes/qdq_match.h"

namespace kiln {

namespace {

struct RewritePass {
  const char* name;
  int (*run)(Graph&);
};

// Before the rest, between two folds: the first keeps int8 weights behind their
// DequantizeLinear so these can take them; the second folds the ones left (asymmetric or uint8
// quantization) to float32 as before. insert_qdq's pairs come after the pipeline: kiln build
// --int8 runs the two again on them.
constexpr RewritePass kInt8Rewrites[] = {
    {"fuse_int8_matmul", fuse_int8_matmul},
    {"fuse_int8_conv", fuse_int8_conv},
};

constexpr RewritePass kRewrites[] = {
    {"fuse_ms_deform_attn", fuse_ms_deform_attn},  // first: reads the Transposes and Slices as exported
    {"eliminate_noops", eliminate_noops},
    {"fuse_mask_position_embedding", fuse_mask_position_embedding},  // before fuse_elementwise takes its Sub/Div/Sin/Cos
    {"commute_resize_conv", commute_resize_conv},
    {"fuse_row_column_read", fuse_row_column_read},  // before fuse_attention: its first MatMul reads a softmax
    {"fuse_attention", fuse_attention},
    {"fuse_attention_keep_mask", fuse_attention_keep_mask},  // reads the keep mask's Not that fuse_attention adds
    {"fold_attention_transposes", fold_attention_transposes},
    {"fuse_masked_softmax", fuse_masked_softmax},  // after fuse_attention: a masked attention goes whole
    {"fuse_head_scores", fuse_head_scores},  // after fuse_attention took the whole attentions' score products
    {"fold_row_column_transposes", fold_row_column_transposes},  // after fuse_row_column_read, before fuse_data_movement
    {"fuse_token_dwconv", fuse_token_dwconv},
    {"fuse_token_patch_conv", fuse_token_patch_conv},  // before fuse_matmul_epilogue takes its MatMul + bias
    {"fuse_token_im2col_conv", fuse_token_im2col_conv},  // after fuse_token_patch_conv: it takes the exact tilings
    {"fuse_gelu", fuse_gelu},
    {"fuse_dwconv_activation", fuse_dwconv_activation},  // after fuse_token_dwconv and fuse_gelu
    {"fuse_layer_norm", fuse_layer_norm},
    {"fuse_layer_norm_patch_rows", fuse_layer_norm_patch_rows},  // after fuse_token_patch_conv and fuse_layer_norm
    {"fuse_group_norm", fuse_group_norm},
    {"fuse_matmul_epilogue", fuse_matmul_epilogue},
    {"commute_mean_linear", commute_mean_linear},  // reads the FusedMatMuls fuse_matmul_epilogue made
    {"fuse_kv_projection", fuse_kv_projection},  // reads those FusedMatMuls and fold_attention_transposes' flags
    {"merge_linear_pointwise_conv", merge_linear_pointwise_conv},
    {"fuse_patch_embed_tokens", fuse_patch_embed_tokens},  // after the passes that make and rewrite FusedMatMuls
    {"fuse_resize_sum", fuse_resize_sum},  // reads the token layout merge_linear_pointwise_conv leaves
    {"fuse_data_movement", fuse_data_movement},  // after every pass that reads Transposes, Slices, Pads
    {"fuse_conv_epilogue", fuse_conv_epilogue},  // last: the passes above read plain Convs
    {"fuse_mix_ffn", fuse_mix_ffn},  // float16 only: fp16 engines run it after convert_to_fp16
    {"fuse_mix_ffn_norm", fuse_mix_ffn_norm},  // float16 only, like fuse_mix_ffn; reads its nodes
    {"fuse_dwconv_matmul", fuse_dwconv_matmul},  // float16 only, like fuse_mix_ffn; after it: the MLPs it leaves
    {"fuse_attention_block", fuse_attention_block},  // float16 only, like fuse_mix_ffn; reads packed K and V
    // float16 only, like fuse_mix_ffn; after fuse_attention_block, which leaves the LayerNormPatchRows' rows alone
    {"fuse_sequence_reduction", fuse_sequence_reduction},
    {"fuse_resize_sum_conv", fuse_resize_sum_conv},  // float16 only, like fuse_mix_ffn; reads fuse_resize_sum's node
    {"fuse_token_conv", fuse_token_conv},  // float16 only, like fuse_mix_ffn; reads FusedMatMuls
    {"fuse_patch_embed_layer_norm", fuse_patch_embed_layer_norm},  // fp16 engines: after convert_to_fp16's islands
    {"fuse_elementwise", fuse_elementwise},  // after every fusion: takes only the elementwise ops they left
};

}  // namespace

const std::vector<std::string>& after_fp16_pass_names() {
  static const std::vector<std::string> names = {"fuse_mix_ffn", "fuse_mix_ffn_norm", "fuse_dwconv_matmul", "fuse_attention_block", "fuse_sequence_reduction",
                                                 "fuse_resize_sum_conv", "fuse_token_conv",
                                                 "fuse_patch_embed_layer_norm", "fuse_elementwise"};
  return names;
}

const std::vector<std::string>& rewrite_pass_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& p : kInt8Rewrites) v.push_back(p.name);
    for (const auto& p : kRewrites) v.push_back(p.name);
    return v;
  }();
  return names;
}

PassReport run_passes(Graph& g, const std::set<std::string>& skip, bool record_rewrites) {
  const auto& names = rewrite_pass_names();
  for (const auto& s : skip)
    if (std::find(names.begin(), names.end(), s) == names.end()) {
      std::string list;
      for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
      fail(ErrorCode::kInvalidArgument, "no rewrite pass is named '" + s + "'; the passes are " + list);
    }
  PassReport r;
  r.nodes_before = int(g.nodes.size());
  r.fold = fold_constants(g, is_int8_weight_dequantize);
  for (const auto& pass : kInt8Rewrites) {
    if (skip.count(pass.name)) r.fused[pass.name] = 0;
    else run_pass(g, pass.name, r, record_rewrites);
  }
  r.fold.folded_nodes += fold_constants(g).folded_nodes;
  for (const auto& pass : kRewrites) {
    if (skip.count(pass.name)) r.fused[pass.name] = 0;
    else run_pass(g, pass.name, r, record_rewrites);
  }
  g.remove_dead_nodes();
  r.nodes_after = int(g.nodes.size());
  return r;
}

void run_pass(Graph& g, const std::string& name, PassReport& r, bool record_rewrites) {
  auto named = [&](const RewritePass& p) { return p.name == name; };
  const RewritePass* pass = std::find_if(std::begin(kRewrites), std::end(kRewrites), named);
  if (pass == std::end(kRewrites)) pass = std::find_if(std::begin(kInt8Rewrites), std::end(kInt8Rewrites), named);
  KILN_ASSERT(pass != std::end(kInt8Rewrites));
  std::vector<NodeSignature> before;
  if (record_rewrites) before = node_signatures(g);
  r.fused[name] = pass->run(g);
  if (r.fused[name] > 0) {
    // Also when not recording, so that a recorded and an unrecorded run give the same graph.
    g.remove_dead_nodes();  // what the rewrite left unread is part of what it replaced
    if (record_rewrites)
      for (auto& rec : diff_rewrites(name, before, node_signatures(g))) r.rewrites.push_back(std::move(rec));
  }
  r.nodes_after = int(g.nodes.size());
}

}  // namespace kiln
