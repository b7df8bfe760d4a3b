// Whether an INT8 engine can run on the CUDA backend: `kiln build --int8 --device cuda` asks
// before calibrating (the ops every such engine has) and again on the finished Q/DQ graph (every
// node), so what lacks a kernel is refused at build time with its ops named, never at run time.
#pragma once
#include <string>
#include <vector>

#include "ir/graph.h"

namespace kiln::quant {

// QuantizeLinear, DequantizeLinear, kiln.Int8MatMul and kiln.Int8Conv all have CUDA kernels in
// this build.
bool cuda_runs_int8();
// The ops of g without a CUDA kernel ("domain.Op" outside the default domain), sorted, each once.
std::vector<std::string> ops_without_cuda_kernel_in(const Graph& g);

}  // namespace kiln::quant
