// What the GPU tests of a fusion pass share: a reference model run with and without the pass on
// the CUDA backend, against the CPU reference and in fp16 engines.
#pragma once
#include <string>
#include <vector>

#include "ir/graph.h"
#include "runtime/cpu_executor.h"

namespace kiln::gpu_test {

// `output` of g on a fresh CUDA executor's second run (the planned arena).
Tensor run_gpu_planned(const Graph& g, const TensorMap& feeds, const std::string& output);
double rel_l2(const Tensor& got, const Tensor& want);

// tests/models/<model> with `pass` (which must fire `fires` times) against the pipeline without
// it: each output within 1e-4 of the CPU reference (the model tests' fp32 bound) and 1e-5 of the
// unfused graph on the GPU; then, both converted as `kiln build --fp16` does, fused and unfused
// within 1e-2 of the fp32 outputs (the fp16 model tests' bound).
void expect_fusion_on_gpu(const std::string& model, const std::string& pass, int fires,
                          const std::vector<std::string>& outputs);

}  // namespace kiln::gpu_test
