#include "ops/norm/group_norm_fused.h"
#include "ops/norm/layer_norm_patch_rows.h"
#include "ops/norm/norm_ops.h"
#include "ops/norm/sequence_reduction.h"
#include "ops/registry.h"
#ifdef KILN_WITH_CUDA
#include "ops/norm/norm_cuda.h"
#endif

namespace kiln {

void register_norm_ops(OpRegistry& r) {
  using namespace norm;
  r.add({.domain = "", .name = "LayerNormalization", .min_inputs = 2, .max_inputs = 3, .max_outputs = 3,
         .infer = layer_norm_infer, .cpu = layer_norm_cpu});
  r.add({.domain = "", .name = "InstanceNormalization", .min_inputs = 3, .max_inputs = 3,
         .infer = instance_norm_infer, .cpu = instance_norm_cpu});
  // BatchNormalization's extra outputs exist only in training, which kiln rejects; they are
  // accepted in the schema so the error names the real reason.
  r.add({.domain = "", .name = "BatchNormalization", .min_inputs = 5, .max_inputs = 5, .max_outputs = 5,
         .infer = batch_norm_infer, .cpu = batch_norm_cpu});
  r.add({.domain = "", .name = "GroupNormalization", .min_inputs = 3, .max_inputs = 3,
         .infer = group_norm_infer, .cpu = group_norm_cpu});
  register_group_norm(r);
  register_layer_norm_patch_rows(r);
  register_sequence_reduction(r);
  r.add({.domain = "", .name = "MeanVarianceNormalization", .infer = mvn_infer, .cpu = mvn_cpu});
  r.add({.domain = "", .name = "LRN", .infer = lrn_infer, .cpu = lrn_cpu});
#ifdef KILN_WITH_CUDA
  r.set_cuda("LayerNormalization", layer_norm_cuda);
  r.set_cuda("InstanceNormalization", instance_norm_cuda);
  r.set_cuda(kGroupNormOp, group_norm_cuda, kKilnDomain);
  r.set_cuda(kLayerNormPatchRowsOp, layer_norm_patch_rows_cuda, kKilnDomain);
  r.set_cuda(kSequenceReductionOp, sequence_reduction_cuda, kKilnDomain);
#endif
}

}  // namespace kiln
