#include "dlpack_tensor.h"

#include <optional>

namespace py = pybind11;

namespace kiln::python {

std::optional<DLDevice> dlpack_device(const py::handle& obj) {
  if (!py::hasattr(obj, "__dlpack_device__") || !py::hasattr(obj, "__dlpack__")) return std::nullopt;
  py::tuple d = obj.attr("__dlpack_device__")();
  return DLDevice{d[0].cast<int32_t>(), d[1].cast<int32_t>()};
}

DLDataType dlpack_dtype(DType dt) {
  switch (dt) {
    case DType::kF32: return {kDLFloat, 32, 1};
    case DType::kF16: return {kDLFloat, 16, 1};
    case DType::kBF16: return {kDLBfloat, 16, 1};
    case DType::kF64: return {kDLFloat, 64, 1};
    case DType::kI64: return {kDLInt, 64, 1};
    case DType::kI32: return {kDLInt, 32, 1};
    case DType::kI8: return {kDLInt, 8, 1};
    case DType::kU8: return {kDLUInt, 8, 1};
    case DType::kBool: return {kDLBool, 8, 1};
    default: fail(ErrorCode::kInternal, "internal error: no DLPack type for " + std::string(dtype_name(dt)));
  }
}

DType dtype_from_dlpack(DLDataType dt, const std::string& what) {
  if (dt.lanes == 1) {
    if (dt.code == kDLFloat && dt.bits == 32) return DType::kF32;
    if (dt.code == kDLFloat && dt.bits == 16) return DType::kF16;
    if (dt.code == kDLBfloat && dt.bits == 16) return DType::kBF16;
    if (dt.code == kDLFloat && dt.bits == 64) return DType::kF64;
    if (dt.code == kDLInt && dt.bits == 64) return DType::kI64;
    if (dt.code == kDLInt && dt.bits == 32) return DType::kI32;
    if (dt.code == kDLInt && dt.bits == 8) return DType::kI8;
    if (dt.code == kDLUInt && dt.bits == 8) return DType::kU8;
    if (dt.code == kDLBool && dt.bits == 8) return DType::kBool;
  }
  fail(ErrorCode::kInvalidArgument, what + " has DLPack type code " + std::to_string(dt.code) + ", " +
                                        std::to_string(dt.bits) + " bits, " + std::to_string(dt.lanes) +
                                        " lanes, which kiln does not support");
}

ImportedTensor::ImportedTensor(const py::handle& obj, intptr_t stream, const std::string& what) {
  // The protocol spells the legacy default stream 1 (0 is ambiguous there).
  py::object capsule = obj.attr("__dlpack__")(py::arg("stream") = stream == 0 ? intptr_t(1) : stream);
  auto* managed = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(capsule.ptr(), kDLTensorCapsule));
  if (!managed) throw py::error_already_set();
  // Consumed: the capsule no longer deletes it; this object does.
  PyCapsule_SetName(capsule.ptr(), kUsedDLTensorCapsule);
  managed_.reset(managed);
  const DLTensor& t = managed->dl_tensor;
  if (t.device.device_type != kDLCUDA)
    fail(ErrorCode::kInvalidArgument, what + " is not in CUDA device memory (DLPack device type " +
                                          std::to_string(t.device.device_type) + ")");
  if (t.device.device_id != 0)
    fail(ErrorCode::kInvalidArgument, what + " is on cuda:" + std::to_string(t.device.device_id) +
                                          "; kiln runs on cuda:0 (set CUDA_VISIBLE_DEVICES to choose the GPU)");
  dtype_ = dtype_from_dlpack(t.dtype, what);
  dims_.assign(t.shape, t.shape + t.ndim);
  if (t.strides) {
    int64_t expected = 1;
    for (int i = t.ndim - 1; i >= 0; --i) {
      if (dims_[size_t(i)] != 1 && t.strides[i] != expected)
        fail(ErrorCode::kInvalidArgument, what + " is not contiguous (dense row-major); pass x.contiguous()");
      expected *= dims_[size_t(i)];
    }
  }
}

void* ImportedTensor::data() const {
  return static_cast<char*>(managed_->dl_tensor.data) + managed_->dl_tensor.byte_offset;
}

namespace {

// What an exported DLManagedTensor points into: the shape array and the memory's owner.
struct ExportContext {
  std::shared_ptr<void> owner;
  std::vector<int64_t> shape;
  DLManagedTensor managed;
};

void delete_export(DLManagedTensor* self) { delete static_cast<ExportContext*>(self->manager_ctx); }

// A capsule nobody consumed still owns its tensor.
void capsule_destructor(PyObject* capsule) {
  if (!PyCapsule_IsValid(capsule, kDLTensorCapsule)) return;  // consumed (renamed)
  auto* managed = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(capsule, kDLTensorCapsule));
  if (managed && managed->deleter) managed->deleter(managed);
}

}  // namespace

py::capsule dlpack_capsule(std::shared_ptr<void> owner, void* data, DType dtype, const Dims& dims, DLDevice device) {
  auto* ctx = new ExportContext{std::move(owner), std::vector<int64_t>(dims.begin(), dims.end()), {}};
  DLTensor& t = ctx->managed.dl_tensor;
  t.data = data;
  t.device = device;
  t.ndim = int32_t(dims.size());
  t.dtype = dlpack_dtype(dtype);
  t.shape = ctx->shape.data();
  t.strides = nullptr;
  t.byte_offset = 0;
  ctx->managed.manager_ctx = ctx;
  ctx->managed.deleter = delete_export;
  PyObject* capsule = PyCapsule_New(&ctx->managed, kDLTensorCapsule, capsule_destructor);
  if (!capsule) {
    delete ctx;
    throw py::error_already_set();
  }
  return py::reinterpret_steal<py::capsule>(capsule);
}

}  // namespace kiln::python
