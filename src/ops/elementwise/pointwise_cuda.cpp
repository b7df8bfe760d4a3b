// Host side of kiln.Pointwise on the GPU: the program's kernel source is generated
// (pointwise_codegen.h), compiled with NVRTC for this GPU once and kept as a cubin in the
// tuning cache — `kiln build --device cuda` plans every shape, so the cubins go into the engine
// file with its other kernel choices and a run of the engine compiles nothing; a graph run
// without a build compiles on its first plan. Each cubin is loaded once per process
// (cudaLibraryLoadData, context-independent) and its two entry points launched with
// cudaLaunchKernel; the node's state keeps them with the plan's layout, so later runs and CUDA
// Graph capture only set pointers and launch.
#include <cstring>
#include <map>
#include <mutex>

#include "ops/elementwise/elementwise_cuda.h"
#include "ops/elementwise/pointwise_codegen.h"
#include "ops/elementwise/pointwise_nvrtc.h"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/cuda_kernel_context.h"
#include "runtime/cuda/gpu_arch.h"
#include "runtime/engine/checksum.h"

namespace kiln::ew {
namespace {

struct PointwiseState : KernelState {
  cudaKernel_t k32 = nullptr, k64 = nullptr;
  PwParams params;     // dims and strides of the plan's shapes; pointers set per run
  bool small = false;  // every index fits in 32 bits: the k32 entry point
};

std::string hash_hex(const std::string& s) {  // a cache key, not a checksum
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(checksum64(s.data(), s.size())));
  return buf;
}

// One library per cubin for the process's lifetime (a handful per model).
cudaLibrary_t load_library(const std::string& key, const std::string& cubin) {
  static std::mutex mu;
  static std::map<std::string, cudaLibrary_t>* libraries = new std::map<std::string, cudaLibrary_t>;
  std::lock_guard<std::mutex> lock(mu);
  auto it = libraries->find(key);
  if (it != libraries->end()) return it->second;
  cudaLibrary_t lib = nullptr;
  CUDA_CHECK(cudaLibraryLoadData(&lib, cubin.data(), nullptr, nullptr, 0, nullptr, nullptr, 0));
  return (*libraries)[key] = lib;
}

void prepare(CudaKernelContext& ctx, const PwProgram& p, PointwiseState& st) {
  std::vector<std::optional<double>> constants;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor* c = ctx.host_constant(i);
    constants.push_back(c && c->numel() == 1 ? std::optional<double>(c->at_double(0)) : std::nullopt);
  }
  const std::string source = pointwise_cuda_source(p, constants);
  const std::string arch = nvrtc_arch(cuda_gpu_arch());
  const std::string key = ctx.session.tuning_prefix() + kPointwiseTuningTag + arch + "/" + nvrtc_version_tag() + "/" +
                          hash_hex(source) + "-" + std::to_string(source.size());
  std::optional<std::string> cubin = ctx.session.tuning ? ctx.session.tuning->find(key) : std::nullopt;
  if (!cubin) {
    cubin = nvrtc_compile_cubin(source, arch, ctx.node.describe());
    if (ctx.session.tuning) ctx.session.tuning->put(key, *cubin);
  }
  const cudaLibrary_t lib = load_library(key, *cubin);
  CUDA_CHECK(cudaLibraryGetKernel(&st.k32, lib, kPointwiseKernel32));
  CUDA_CHECK(cudaLibraryGetKernel(&st.k64, lib, kPointwiseKernel64));
}

// What depends only on the plan's shapes — the program, the merged broadcast layout, the
// kernel — is made on its first run; later runs set the pointers and launch.
void plan_pointwise(CudaKernelContext& ctx, PointwiseState& st) {
  std::vector<DType> types;
  std::vector<Dims> in_dims;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) ctx.invalid("input " + std::to_string(i) + " is omitted; every input is an operand");
    types.push_back(ctx.input(i).dtype);
    in_dims.push_back(ctx.input(i).dims);
  }
  const PwProgram p = parse_pw_program(ctx.attrs(), types, ctx.node.describe());
  if (p.results.size() != ctx.num_outputs()) ctx.invalid("'results' and the node's outputs differ in number");
  prepare(ctx, p, st);
  PwParams& params = st.params;
  const Dims out = ctx.output_dims(0);
  params.n = numel_of(out);
  const PwLayout l = pointwise_layout(out, in_dims);
  params.rank = int64_t(l.dims.size());
  st.small = params.n < (int64_t(1) << 31);
  for (size_t d = 0; d < l.dims.size(); ++d) params.dims[d] = l.dims[d];
  for (size_t i = 0; i < in_dims.size(); ++i) {
    st.small = st.small && numel_of(in_dims[i]) < (int64_t(1) << 31);
    for (size_t d = 0; d < l.dims.size(); ++d) params.strides[i][d] = l.strides[i][d];
  }
}

}  // namespace

void pointwise_cuda(CudaKernelContext& ctx) {
  bool fresh = false;
  PointwiseState& st = ctx.state<PointwiseState>(&fresh);
  if (fresh || !st.k32) plan_pointwise(ctx, st);
  PwParams params = st.params;
  for (size_t o = 0; o < ctx.num_outputs(); ++o) params.out[o] = ctx.alloc_output(o).data();
  if (params.n == 0) return;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) params.in[i] = ctx.input(i).data();
  constexpr int kThreads = 256;
  const int64_t blocks = std::min<int64_t>((params.n + kThreads - 1) / kThreads, int64_t(cuda_sm_count()) * 16);
  void* args[] = {&params};
  CUDA_CHECK(cudaLaunchKernel(reinterpret_cast<const void*>(st.small ? st.k32 : st.k64), dim3(unsigned(blocks)),
                              dim3(kThreads), args, 0, ctx.stream()));
}

}  // namespace kiln::ew
