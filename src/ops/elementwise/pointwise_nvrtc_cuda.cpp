#include "ops/elementwise/pointwise_nvrtc.h"

#include <nvrtc.h>

#include <memory>
#include <vector>

#include "kiln/status.h"
#include "runtime/cuda/gpu_arch.h"

namespace kiln::ew {
namespace {

void check(nvrtcResult r, const char* call, const std::string& what) {
  if (r != NVRTC_SUCCESS) fail(ErrorCode::kInternal, what + ": " + call + " failed: " + nvrtcGetErrorString(r));
}

}  // namespace

std::string nvrtc_arch(const std::string& gpu_arch) { return is_hopper_arch(gpu_arch) ? "sm_90a" : gpu_arch; }

std::string nvrtc_version_tag() {
  static const std::string tag = [] {  // asked once per process: every Pointwise node's cache key names it
    int major = 0, minor = 0;
    check(nvrtcVersion(&major, &minor), "nvrtcVersion", "NVRTC");
    return "nvrtc" + std::to_string(major) + "." + std::to_string(minor);
  }();
  return tag;
}

std::string nvrtc_compile_cubin(const std::string& source, const std::string& arch, const std::string& what) {
  nvrtcProgram prog = nullptr;
  check(nvrtcCreateProgram(&prog, source.c_str(), "kiln_pointwise.cu", 0, nullptr, nullptr), "nvrtcCreateProgram", what);
  std::unique_ptr<nvrtcProgram, void (*)(nvrtcProgram*)> guard(&prog, [](nvrtcProgram* p) { nvrtcDestroyProgram(p); });
  const std::string arch_opt = "--gpu-architecture=" + arch;
  const char* opts[] = {arch_opt.c_str(), "--fmad=false", "--std=c++17"};
  const nvrtcResult r = nvrtcCompileProgram(prog, int(sizeof opts / sizeof opts[0]), opts);
  if (r != NVRTC_SUCCESS) {
    size_t n = 0;
    std::string log;
    if (nvrtcGetProgramLogSize(prog, &n) == NVRTC_SUCCESS && n > 1) {
      log.resize(n);
      if (nvrtcGetProgramLog(prog, log.data()) != NVRTC_SUCCESS) log.clear();
      while (!log.empty() && (log.back() == '\0' || log.back() == '\n')) log.pop_back();
    }
    fail(ErrorCode::kInternal, what + ": NVRTC could not compile the generated kernel for " + arch + " (" +
                                   nvrtcGetErrorString(r) + "): " + log);
  }
  size_t size = 0;
  check(nvrtcGetCUBINSize(prog, &size), "nvrtcGetCUBINSize", what);
  std::string cubin(size, '\0');
  check(nvrtcGetCUBIN(prog, cubin.data()), "nvrtcGetCUBIN", what);
  return cubin;
}

}  // namespace kiln::ew
