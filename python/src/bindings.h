// What each binding file adds to the extension module (module.cpp calls them in order).
#pragma once
#include <pybind11/pybind11.h>

namespace kiln::python {

void bind_errors(pybind11::module_& m);  // kiln.Error and the translation of kiln::Error
void bind_engine(pybind11::module_& m);  // Engine, TensorInfo, DeviceArray, build, load

}  // namespace kiln::python
