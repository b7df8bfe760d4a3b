// Device tensors across the DLPack protocol: importing another library's tensor (torch, CuPy,
// JAX: anything with __dlpack__ / __dlpack_device__) as borrowed memory, and exporting kiln's
// own device outputs as DLPack capsules.
#pragma once
#include <pybind11/pybind11.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "dlpack.h"
#include "ir/tensor.h"

namespace kiln::python {

// (device type, device id) from obj.__dlpack_device__(), or nullopt for objects without it.
std::optional<DLDevice> dlpack_device(const pybind11::handle& obj);

// A tensor taken from a producer through __dlpack__: its memory stays valid (the producer's
// deleter is called) until this is destroyed. Dense row-major only.
class ImportedTensor {
 public:
  // Calls obj.__dlpack__(stream=stream) — the producer orders its pending writes before work on
  // `stream` (a CUDA stream handle, 0 the legacy default) — and checks the result: a CUDA tensor
  // on device 0, a kiln dtype, dense row-major. `what` names it in errors ("input 'x'").
  ImportedTensor(const pybind11::handle& obj, intptr_t stream, const std::string& what);
  ImportedTensor(ImportedTensor&&) noexcept = default;

  DType dtype() const { return dtype_; }
  const Dims& dims() const { return dims_; }
  void* data() const;

 private:
  static void release(DLManagedTensor* m) {
    if (m && m->deleter) m->deleter(m);
  }
  std::unique_ptr<DLManagedTensor, void (*)(DLManagedTensor*)> managed_{nullptr, &release};
  DType dtype_ = DType::kUndefined;
  Dims dims_;
};

// The DLPack type of a kiln dtype, and back (kInvalidArgument naming `what` for others).
DLDataType dlpack_dtype(DType dt);
DType dtype_from_dlpack(DLDataType dt, const std::string& what);

// A "dltensor" capsule for device memory kept alive by `owner` (released by the deleter).
pybind11::capsule dlpack_capsule(std::shared_ptr<void> owner, void* data, DType dtype, const Dims& dims,
                                 DLDevice device);

}  // namespace kiln::python
