#include "passes/pipeline.h"

#include "passes/eliminate_noops.h"
#include "passes/fuse_attention.h"
#include "passes/fuse_token_dwconv.h"

namespace kiln {

PassReport run_passes(Graph& g) {
  PassReport r;
  r.nodes_before = int(g.nodes.size());
  r.fold = fold_constants(g);
  r.fused["eliminate_noops"] = eliminate_noops(g);
  r.fused["fuse_attention"] = fuse_attention(g);
  r.fused["fuse_token_dwconv"] = fuse_token_dwconv(g);
  g.remove_dead_nodes();
  r.nodes_after = int(g.nodes.size());
  return r;
}

}  // namespace kiln
