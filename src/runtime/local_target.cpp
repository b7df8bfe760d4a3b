#include "runtime/local_target.h"

#ifdef KILN_WITH_CUDA
#include "runtime/cuda/gpu_arch.h"
#endif

namespace kiln {

void check_device_name(const std::string& device, bool python_spelling) {
  const std::string named = python_spelling ? "device '" + device + "'" : "--device " + device;
#ifdef KILN_WITH_CUDA
  if (device != "cpu" && device != "cuda") fail(ErrorCode::kInvalidArgument, named + ": expected cpu or cuda");
#else
  if (device != "cpu")
    fail(ErrorCode::kInvalidArgument, named + ": this kiln build has only the cpu device (use " +
                                          (python_spelling ? "device='cpu'" : "--device cpu") + ")");
#endif
}

EngineTarget local_target(const std::string& device, bool python_spelling) {
  check_device_name(device, python_spelling);
  EngineTarget t;
  t.device = device;
#ifdef KILN_WITH_CUDA
  if (device == "cuda") t.arch = cuda_gpu_arch();
#endif
  return t;
}

}  // namespace kiln
