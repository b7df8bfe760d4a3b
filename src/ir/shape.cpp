#include "ir/shape.h"

#include <algorithm>

#include "kiln/status.h"

namespace kiln {

Shape shape_of(const Dims& dims) { return Shape(dims.begin(), dims.end()); }

bool shape_known(const Shape& s) {
  for (const Dim& d : s)
    if (!d.known()) return false;
  return true;
}

Dims shape_dims(const Shape& s) {
  Dims dims;
  for (const Dim& d : s) {
    KILN_ASSERT(d.known());
    dims.push_back(d.value);
  }
  return dims;
}

std::string dim_to_string(const Dim& d) { return d.known() ? std::to_string(d.value) : d.symbol.empty() ? "?" : d.symbol; }

bool dims_conflict(const Dim& a, const Dim& b) {
  if (a.known() && b.known()) return a.value != b.value;
  if (!a.symbol.empty() && !b.symbol.empty()) return a.symbol != b.symbol;
  return false;
}

std::string shape_to_string(const Shape& s) {
  if (s.empty()) return "scalar";
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += "x";
    out += dim_to_string(s[i]);
  }
  return out;
}

bool exceeds_tensor_limit(DType dtype, const Shape& s) {
  for (const Dim& d : s)
    if (d.value == 0) return false;
  int64_t bytes = std::max<int64_t>(1, int64_t(dtype_size(dtype)));
  for (const Dim& d : s) {
    if (!d.known()) continue;
    if (d.value > kMaxTensorBytes / bytes) return true;  // checked before multiplying: no overflow
    bytes *= d.value;
  }
  return false;
}

void check_shape_flag_size(const std::string& name, const Dims& given, DType dtype) {
  if (exceeds_tensor_limit(dtype, shape_of(given)))
    fail(ErrorCode::kInvalidArgument, "--shape " + name + "=" + dims_to_string(given) +
                                          " is more than kiln's 1 TiB limit for one " + dtype_name(dtype) +
                                          " tensor; give a smaller shape");
}

std::string ValueType::to_string() const {
  return std::string(dtype_name(dtype)) + "[" + (shape ? shape_to_string(*shape) : "?") + "]";
}

}  // namespace kiln
