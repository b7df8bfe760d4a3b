#include "ops/op.h"

namespace kiln {

void OpContextBase::error(ErrorCode code, const std::string& message) const {
  fail(code, node.describe() + ": " + message);
}

const ValueType& InferContext::type(size_t i) const {
  if (!has_input(i)) invalid("input " + std::to_string(i) + " is required");
  return inputs[i]->type;
}

const Shape* InferContext::shape(size_t i) const {
  const ValueType& t = type(i);
  return t.shape ? &*t.shape : nullptr;
}

const Tensor* InferContext::constant(size_t i) const {
  if (!has_input(i) || !inputs[i]->constant) return nullptr;
  return &*inputs[i]->constant;
}

void InferContext::require_dtype(size_t i, std::initializer_list<DType> allowed) const {
  DType dt = dtype(i);
  for (DType a : allowed)
    if (a == dt) return;
  unsupported(std::string("input ") + std::to_string(i) + " of type " + dtype_name(dt) +
              " is not supported");
}

const Tensor& KernelContext::input(size_t i) const {
  if (!has_input(i)) invalid("input " + std::to_string(i) + " is required");
  return *inputs[i];
}

}  // namespace kiln
