#include "ir/tensor.h"

#include <cstring>

namespace kiln {

int64_t numel_of(const Dims& dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) fail(ErrorCode::kInvalidArgument, "negative dimension in shape " + dims_to_string(dims));
    if (d != 0 && n > (int64_t(1) << 62) / d)
      fail(ErrorCode::kInvalidArgument, "shape " + dims_to_string(dims) + " has too many elements");
    n *= d;
  }
  return n;
}

std::string dims_to_string(const Dims& dims) {
  if (dims.empty()) return "scalar";
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "x" : "") + std::to_string(dims[i]);
  return s;
}

std::string dims_key(const std::map<std::string, Dims>& dims) {
  std::string k;
  for (const auto& [name, d] : dims) k += name + "=" + dims_to_string(d) + ";";
  return k;
}

Tensor::Tensor(DType dtype, Dims dims) : dtype_(dtype), dims_(std::move(dims)) {
  numel_ = numel_of(dims_);
  size_t n = nbytes();
  // At least one byte so raw() is never null, even for empty tensors.
  bytes_ = std::shared_ptr<uint8_t[]>(new uint8_t[n ? n : 1]());
}

void Tensor::check_type(DType requested) const {
  if (requested != dtype_)
    fail(ErrorCode::kInternal, std::string("internal error: tensor of ") + dtype_name(dtype_) +
                                   " accessed as " + dtype_name(requested));
}

Tensor Tensor::from_doubles(DType dtype, Dims dims, const std::vector<double>& values) {
  Tensor t(dtype, std::move(dims));
  KILN_ASSERT(int64_t(values.size()) == t.numel());
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_void_v<T>) {
      T* p = t.data<T>();
      for (size_t i = 0; i < values.size(); ++i) p[i] = from_double<T>(values[i]);
    }
  });
  return t;
}

Tensor Tensor::reshaped(Dims dims) const {
  KILN_ASSERT(numel_of(dims) == numel_);
  Tensor t = *this;
  t.dims_ = std::move(dims);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t(dtype_, dims_);
  if (nbytes()) std::memcpy(t.raw(), raw(), nbytes());
  return t;
}

double Tensor::at_double(int64_t i) const {
  KILN_ASSERT(i >= 0 && i < numel_);
  return visit_dtype(dtype_, [&](auto tag) -> double {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_void_v<T>) return 0.0;
    else return to_double(static_cast<const T*>(raw())[i]);
  });
}

int64_t Tensor::at_int(int64_t i) const {
  KILN_ASSERT(i >= 0 && i < numel_);
  switch (dtype_) {
    case DType::kI64: return static_cast<const int64_t*>(raw())[i];
    case DType::kI32: return static_cast<const int32_t*>(raw())[i];
    case DType::kI8: return static_cast<const int8_t*>(raw())[i];
    case DType::kU8: return static_cast<const uint8_t*>(raw())[i];
    case DType::kBool: return static_cast<const bool*>(raw())[i];
    default: return int64_t(at_double(i));
  }
}

std::vector<int64_t> Tensor::to_int64_vector() const {
  std::vector<int64_t> v(static_cast<size_t>(numel_));
  for (int64_t i = 0; i < numel_; ++i) v[size_t(i)] = at_int(i);
  return v;
}

bool Tensor::same_bytes(const Tensor& o) const {
  return dtype_ == o.dtype_ && dims_ == o.dims_ &&
         (nbytes() == 0 || std::memcmp(raw(), o.raw(), nbytes()) == 0);
}

}  // namespace kiln
