// A host tensor: dtype, dense row-major shape, shared byte storage. Copies share storage;
// clone() makes an independent copy. This is the CPU backend's and the folder's currency.
#pragma once
#include <cstdint>
#include <memory>
#include <map>
#include <string>
#include <vector>

#include "ir/dtype.h"
#include "kiln/status.h"

namespace kiln {

using Dims = std::vector<int64_t>;

// The most bytes one tensor may take: larger shapes come from broken or hostile files and
// flags, and are refused before anything allocates (an allocation would only fail later).
inline constexpr int64_t kMaxTensorBytes = int64_t(1) << 40;  // 1 TiB

int64_t numel_of(const Dims& dims);  // throws kInvalidArgument on negative or overflowing dims
std::string dims_to_string(const Dims& dims);  // "1x3x512x512", "scalar" for rank 0
// "x=1x3x64x64;y=2;": one string per set of named dims (the key of a plan per input shape).
std::string dims_key(const std::map<std::string, Dims>& dims);

class Tensor {
 public:
  Tensor() = default;
  Tensor(DType dtype, Dims dims);  // zero-filled

  template <class T> static Tensor from_vector(Dims dims, const std::vector<T>& values) {
    Tensor t(dtype_of<T>(), std::move(dims));
    KILN_ASSERT(int64_t(values.size()) == t.numel());
    T* out = t.data<T>();
    for (size_t i = 0; i < values.size(); ++i) out[i] = values[i];
    return t;
  }
  template <class T> static Tensor scalar(T value) { return from_vector<T>({}, {value}); }
  // dtype `dtype` holding `values` (numel of dims), each rounded as from_double does (integers
  // must already be in range).
  static Tensor from_doubles(DType dtype, Dims dims, const std::vector<double>& values);

  bool defined() const { return dtype_ != DType::kUndefined; }
  DType dtype() const { return dtype_; }
  const Dims& dims() const { return dims_; }
  int rank() const { return int(dims_.size()); }
  int64_t dim(int i) const { return dims_[size_t(i)]; }
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return size_t(numel_) * dtype_size(dtype_); }

  void* raw() { return bytes_.get(); }
  const void* raw() const { return bytes_.get(); }
  template <class T> T* data() {
    check_type(dtype_of<T>());
    return static_cast<T*>(raw());
  }
  template <class T> const T* data() const {
    check_type(dtype_of<T>());
    return static_cast<const T*>(raw());
  }

  // Same storage, new dims with the same element count.
  Tensor reshaped(Dims dims) const;
  Tensor clone() const;

  // Element i converted to double / int64 (any dtype); for small shape-like tensors.
  double at_double(int64_t i) const;
  int64_t at_int(int64_t i) const;
  std::vector<int64_t> to_int64_vector() const;  // integer tensors only

  bool same_bytes(const Tensor& other) const;

 private:
  void check_type(DType requested) const;

  DType dtype_ = DType::kUndefined;
  Dims dims_;
  int64_t numel_ = 0;
  std::shared_ptr<uint8_t[]> bytes_;
};

}  // namespace kiln
