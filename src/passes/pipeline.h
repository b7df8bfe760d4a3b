// The fixed, listed order in which passes run after import.
#pragma once
#include <map>
#include <set>
#include <string>

#include "ir/graph.h"
#include "passes/fold_constants.h"
#include "passes/fusion_record.h"

namespace kiln {

struct PassReport {
  FoldStats fold;
  std::map<std::string, int> fused;  // rewrite pass → how many times it fired
  std::vector<FusionRecord> rewrites;  // what each fired rewrite replaced, in pass order (when recorded)
  int nodes_before = 0;
  int nodes_after = 0;
};

// 1. fold_constants (with shape inference), keeping int8 weights' DequantizeLinear  2. the int8
// fusions, then fold_constants again  3. the other rewrite passes in rewrite_pass_names() order
// (pipeline.cpp's kRewrites says why each stands where it does)  4. remove_dead_nodes (also after
// every rewrite that fired, so its record counts what it left unread)
// `skip` names rewrite passes to leave out (`kiln build --disable-pass`, and tests that compare a
// graph with and without one); a name that is not a rewrite pass is refused (kInvalidArgument).
// record_rewrites fills PassReport::rewrites (engine builds, `kiln inspect --fusions`, `kiln
// compare`); runs that only need the optimized graph skip the comparison it costs.
PassReport run_passes(Graph& g, const std::set<std::string>& skip = {}, bool record_rewrites = false);

// The rewrite passes in the order they run (the names `skip` takes).
const std::vector<std::string>& rewrite_pass_names();

// The last rewrite passes, which fp16 engines run after convert_to_fp16 instead of in the
// pipeline (fuse_mix_ffn, fuse_attention_block, fuse_sequence_reduction and fuse_resize_sum_conv
// match the float16 form; fuse_patch_embed_layer_norm reads the float32 stream start the
// conversion leaves; fuse_elementwise.h says why it waits), in order.
const std::vector<std::string>& after_fp16_pass_names();

// One rewrite pass by name, outside the pipeline's run (fp16 engines fuse elementwise chains
// after the conversion): r.fused, r.rewrites and r.nodes_after as run_passes fills them.
void run_pass(Graph& g, const std::string& name, PassReport& r, bool record_rewrites);

}  // namespace kiln
