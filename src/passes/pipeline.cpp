#include "passes/pipeline.h"

#include "passes/commute_resize_conv.h"
#include "passes/eliminate_noops.h"
#include "passes/fuse_attention.h"
#include "passes/fuse_gelu.h"
#include "passes/fuse_layer_norm.h"
#include "passes/fuse_matmul_epilogue.h"
#include "passes/fuse_resize_sum.h"
#include "passes/fuse_token_dwconv.h"
#include "passes/merge_linear_pointwise_conv.h"

namespace kiln {

PassReport run_passes(Graph& g, const std::set<std::string>& skip) {
  PassReport r;
  r.nodes_before = int(g.nodes.size());
  r.fold = fold_constants(g);
  auto rewrite = [&](const char* name, int (*pass)(Graph&)) { r.fused[name] = skip.count(name) ? 0 : pass(g); };
  rewrite("eliminate_noops", eliminate_noops);
  rewrite("commute_resize_conv", commute_resize_conv);
  rewrite("fuse_attention", fuse_attention);
  rewrite("fuse_token_dwconv", fuse_token_dwconv);
  rewrite("fuse_gelu", fuse_gelu);
  rewrite("fuse_layer_norm", fuse_layer_norm);
  rewrite("fuse_matmul_epilogue", fuse_matmul_epilogue);
  rewrite("merge_linear_pointwise_conv", merge_linear_pointwise_conv);
  rewrite("fuse_resize_sum", fuse_resize_sum);  // reads the token layout merge_linear_pointwise_conv leaves
  g.remove_dead_nodes();
  r.nodes_after = int(g.nodes.size());
  return r;
}

}  // namespace kiln
