// kiln::Error → kiln.Error, a Python exception with the CLI's one-line message and two
// attributes: `code` (invalid_argument, invalid_model, unsupported, not_found, internal) and
// `exit_code` (what the CLI would exit with: 2 for the user's errors, 1 for kiln's bugs).
#include <pybind11/pybind11.h>

#include "bindings.h"
#include "kiln/status.h"

namespace py = pybind11;

namespace kiln::python {
namespace {

const char* code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kInvalidModel: return "invalid_model";
    case ErrorCode::kUnsupported: return "unsupported";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kInternal: return "internal";
  }
  return "internal";
}

// As the CLI prints it (tools/kiln/main.cpp): one line, whatever the message holds.
std::string one_line(std::string message) {
  for (char& c : message)
    if (c == '\n' || c == '\r') c = ' ';
  return message;
}

}  // namespace

void bind_errors(py::module_& m) {
  // Leaked on purpose: the type lives as long as the interpreter, and a static py::object
  // would be destroyed after Python finalizes.
  static PyObject* error_type = PyErr_NewExceptionWithDoc(
      "kiln.Error", "A kiln failure: one-line message; .code and .exit_code say whose fault it is.",
      PyExc_Exception, nullptr);
  m.add_object("Error", py::handle(error_type));
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      py::object exc = py::reinterpret_borrow<py::object>(error_type)(one_line(e.what()));
      exc.attr("code") = code_name(e.code());
      exc.attr("exit_code") = is_user_error(e.code()) ? 2 : 1;
      PyErr_SetObject(error_type, exc.ptr());
    }
  });
}

}  // namespace kiln::python
