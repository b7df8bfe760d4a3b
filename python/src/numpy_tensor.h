// numpy arrays ↔ kiln host tensors. Inputs are copied (kiln tensors own their bytes); outputs
// are handed to numpy without a copy, the array keeping the tensor's storage alive.
#pragma once
#include <pybind11/numpy.h>

#include "ir/tensor.h"

namespace kiln::python {

// The kiln dtype of a numpy dtype; kInvalidArgument naming `what` for one kiln lacks.
DType dtype_from_numpy(const pybind11::dtype& dt, const std::string& what);
// A copy of any array-like (numpy arrays, CPU torch tensors, nested lists) as a kiln tensor,
// keeping its dtype: a wrong dtype is the engine's error to report, never silently cast.
Tensor tensor_from_numpy(const pybind11::handle& obj, const std::string& what);
// The tensor as a numpy array sharing its storage (bfloat16, which numpy lacks: float32 copy).
pybind11::array numpy_from_tensor(const Tensor& t);

}  // namespace kiln::python
