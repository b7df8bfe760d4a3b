// An optimized float32 graph made into the graph an INT8 engine stores: Q/DQ pairs from the
// calibrated ranges (insert_qdq.h), less the targets kept in float, then the int8 fusions
// (kiln.Int8MatMul, kiln.Int8Conv) on them — the passes ran before the pairs existed. kiln build
// makes its engine with it and the accuracy guard its candidates, so a candidate measured is the
// engine stored.
#pragma once
#include <map>
#include <set>
#include <string>

#include "quant/insert_qdq.h"

namespace kiln::quant {

struct QuantizeReport {
  QdqReport qdq;
  int int8_gemms = 0, int8_convs = 0;
};

// disabled_passes: the build's --disable-pass names (fuse_int8_matmul, fuse_int8_conv count).
QuantizeReport quantize_graph(Graph& g, const std::map<std::string, double>& amax,
                              const std::set<std::string>& disabled_passes,
                              const std::set<std::string>& keep_float = {});

}  // namespace kiln::quant
