#include "ops/attention/attention_ops.h"
#include "ops/registry.h"
#ifdef KILN_WITH_CUDA
#include "ops/attention/attention_cuda.h"
#endif

namespace kiln {

void register_attention_ops(OpRegistry& r) {
  using namespace attention;
  r.add({.domain = kKilnDomain, .name = "Attention", .min_inputs = 3, .max_inputs = 4,
         .infer = attention_infer, .cpu = attention_cpu});
#ifdef KILN_WITH_CUDA
  r.set_cuda("Attention", attention_cuda, kKilnDomain);
#endif
}

}  // namespace kiln
