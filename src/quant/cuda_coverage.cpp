#include "quant/cuda_coverage.h"

#include <set>

#include "ops/quantize/int8_conv.h"
#include "ops/quantize/int8_matmul.h"
#include "ops/registry.h"

namespace kiln::quant {

bool cuda_runs_int8() {
  const std::pair<const char*, const char*> ops[] = {
      {"", "QuantizeLinear"}, {"", "DequantizeLinear"}, {kKilnDomain, kInt8MatMulOp}, {kKilnDomain, kInt8ConvOp}};
  for (const auto& [domain, op] : ops) {
    const OpSchema* s = OpRegistry::instance().find(domain, op);
    if (!s || !s->cuda) return false;
  }
  return true;
}

std::vector<std::string> ops_without_cuda_kernel_in(const Graph& g) {
  std::set<std::string> missing;
  for (const Node& n : g.nodes) {
    const OpSchema* s = OpRegistry::instance().find(n.domain, n.op_type);
    if (!s || !s->cuda) missing.insert(n.domain.empty() ? n.op_type : n.domain + "." + n.op_type);
  }
  return {missing.begin(), missing.end()};
}

}  // namespace kiln::quant
