// Shapes with symbolic dimensions, as declared by a model ("batch", "height") or unknown.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "ir/tensor.h"

namespace kiln {

struct Dim {
  int64_t value = -1;  // >= 0 when known
  std::string symbol;  // name when symbolic; empty and value < 0 means unknown

  Dim() = default;
  Dim(int64_t v) : value(v) {}  // NOLINT: a known dim reads naturally as a number
  static Dim symbolic(std::string name) {
    Dim d;
    d.symbol = std::move(name);
    return d;
  }
  bool known() const { return value >= 0; }
  bool operator==(const Dim& o) const { return value == o.value && symbol == o.symbol; }
};

using Shape = std::vector<Dim>;

Shape shape_of(const Dims& dims);
bool shape_known(const Shape& s);
Dims shape_dims(const Shape& s);  // requires shape_known
std::string shape_to_string(const Shape& s);  // "1x3xHxW", "?" for unknown dims
std::string dim_to_string(const Dim& d);       // "3", the symbol, or "?"
// Both known and different, or two different symbols: the dims may differ at run time (shape
// inference refuses such a pair where an op needs them equal).
bool dims_conflict(const Dim& a, const Dim& b);
// Whether the known dims of s (>= 0) alone already take more than kMaxTensorBytes of dtype;
// symbolic dims count as 1, a zero dim makes the tensor empty.
bool exceeds_tensor_limit(DType dtype, const Shape& s);
// Refuses (kInvalidArgument) `--shape NAME=DIMS` whose dims exceed that limit for dtype.
void check_shape_flag_size(const std::string& name, const Dims& given, DType dtype);

// Type of a value as far as shape inference knows: dtype and, if known, rank + dims.
struct ValueType {
  DType dtype = DType::kUndefined;
  std::optional<Shape> shape;  // nullopt: rank unknown

  std::string to_string() const;
};

}  // namespace kiln
