// The CUDA source of a Pointwise program (pointwise_program.h): one thread per output element
// (grid-stride), each input read through its broadcast strides, the program as straight-line
// float32/bool code, outputs stored in their types. Two entry points: kiln_pointwise_i32 (32-bit
// index math, when every index fits) and kiln_pointwise_i64. The source needs no headers (fp16
// conversions are PTX cvt), so NVRTC compiles it without an include path. Plain C++ here: the
// CPU-only build generates and tests it; pointwise_cuda.cpp compiles it with NVRTC.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ops/elementwise/pointwise_program.h"

namespace kiln::ew {

inline constexpr int kPointwiseMaxRank = 8;  // after merging dims (pointwise_layout)
inline constexpr const char* kPointwiseKernel32 = "kiln_pointwise_i32";
inline constexpr const char* kPointwiseKernel64 = "kiln_pointwise_i64";
// In the tuning-cache key of every generated kernel's cubin (pointwise_cuda.cpp), which
// `kiln build` counts apart from the timed kernel choices.
inline constexpr const char* kPointwiseTuningTag = "/pointwise/";

// The kernel's one parameter, laid out identically by the generated source (8-byte members).
struct PwParams {
  int64_t n = 0;  // output elements
  int64_t rank = 0;
  int64_t dims[kPointwiseMaxRank] = {};
  int64_t strides[kPointwiseMaxInputs][kPointwiseMaxRank] = {};  // elements; 0 along broadcast dims
  const void* in[kPointwiseMaxInputs] = {};
  void* out[kPointwiseMaxOutputs] = {};
};

// `constants[i]`, when set, is input i's single value (a one-element constant): written into
// the source as a literal instead of being read.
std::string pointwise_cuda_source(const PwProgram& p, const std::vector<std::optional<double>>& constants);

// Output dims and each input's broadcast strides with size-1 dims dropped and neighbouring dims
// merged where every input walks them as one; rank ≤ kPointwiseMaxRank after merging, else
// kUnsupported. `inputs` are the inputs' dims.
struct PwLayout {
  Dims dims;
  std::vector<Dims> strides;
};
PwLayout pointwise_layout(const Dims& out, const std::vector<Dims>& inputs);

}  // namespace kiln::ew
