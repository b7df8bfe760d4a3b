#include "numpy_tensor.h"

#include <cstring>

namespace py = pybind11;

namespace kiln::python {

DType dtype_from_numpy(const py::dtype& dt, const std::string& what) {
  const char kind = dt.kind();
  const auto size = dt.itemsize();
  if (kind == 'f' && size == 4) return DType::kF32;
  if (kind == 'f' && size == 2) return DType::kF16;
  if (kind == 'f' && size == 8) return DType::kF64;
  if (kind == 'i' && size == 8) return DType::kI64;
  if (kind == 'i' && size == 4) return DType::kI32;
  if (kind == 'i' && size == 1) return DType::kI8;
  if (kind == 'u' && size == 1) return DType::kU8;
  if (kind == 'b' && size == 1) return DType::kBool;
  fail(ErrorCode::kInvalidArgument, what + " has numpy dtype " + py::str(py::handle(dt)).cast<std::string>() +
                                        ", which kiln does not support (float32, float16, float64, int64, "
                                        "int32, int8, uint8, bool)");
}

Tensor tensor_from_numpy(const py::handle& obj, const std::string& what) {
  py::array a = py::module_::import("numpy").attr("ascontiguousarray")(obj);
  const DType dtype = dtype_from_numpy(a.dtype(), what);
  Dims dims(a.shape(), a.shape() + a.ndim());
  Tensor t(dtype, dims);
  if (t.nbytes()) std::memcpy(t.raw(), a.data(), t.nbytes());
  return t;
}

py::array numpy_from_tensor(const Tensor& t) {
  if (t.dtype() == DType::kBF16) {
    Tensor f(DType::kF32, t.dims());
    const uint16_t* in = static_cast<const uint16_t*>(t.raw());
    float* out = f.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) out[i] = bf16_to_float(in[i]);
    return numpy_from_tensor(f);
  }
  // kiln's dtype names are numpy's (bfloat16, which numpy lacks, is widened above).
  KILN_ASSERT(t.dtype() != DType::kUndefined);
  const char* name = dtype_name(t.dtype());
  // The capsule owns a Tensor sharing the storage; numpy frees it with the array.
  auto* keep = new Tensor(t);
  py::capsule owner(keep, [](void* p) { delete static_cast<Tensor*>(p); });
  std::vector<py::ssize_t> shape(t.dims().begin(), t.dims().end());
  return py::array(py::dtype(name), shape, {}, keep->raw(), owner);
}

}  // namespace kiln::python
