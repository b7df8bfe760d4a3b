#include "quant/quantize_graph.h"

#include "passes/fuse_int8_conv.h"
#include "passes/fuse_int8_matmul.h"

namespace kiln::quant {

QuantizeReport quantize_graph(Graph& g, const std::map<std::string, double>& amax,
                              const std::set<std::string>& disabled_passes, const std::set<std::string>& keep_float) {
  QuantizeReport r;
  r.qdq = insert_qdq_int8(g, amax, keep_float);
  if (!disabled_passes.count("fuse_int8_matmul")) r.int8_gemms = fuse_int8_matmul(g);
  if (!disabled_passes.count("fuse_int8_conv")) r.int8_convs = fuse_int8_conv(g);
  return r;
}

}  // namespace kiln::quant
