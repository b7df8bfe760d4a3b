// The extension module `kiln._kiln`: errors, engines, building. python/kiln/__init__.py is the
// public face; this file only wires the pieces together.
#include <pybind11/pybind11.h>

#include "bindings.h"

PYBIND11_MODULE(_kiln, m) {
  m.doc() = "kiln: build and run vision-transformer engines (the C++ core)";
  kiln::python::bind_errors(m);
  kiln::python::bind_engine(m);
}
