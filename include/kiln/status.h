// Errors in kiln: one exception type carrying a code that says whose fault it is.
// User errors (bad file, bad shape, unknown op, bad flag) exit 2; internal errors exit 1.
#pragma once
#include <stdexcept>
#include <string>

namespace kiln {

enum class ErrorCode {
  kInvalidArgument,  // a bad flag, shape, dtype or input file given by the user
  kInvalidModel,     // the model file is malformed or inconsistent
  kUnsupported,      // an op, dtype, attribute value or opset kiln does not claim
  kNotFound,         // a file or named input/output that does not exist
  kInternal,         // a bug in kiln
};

const char* error_code_name(ErrorCode code);
inline bool is_user_error(ErrorCode code) { return code != ErrorCode::kInternal; }

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

[[noreturn]] inline void fail(ErrorCode code, const std::string& message) { throw Error(code, message); }

}  // namespace kiln

// Internal invariant: a failure is a kiln bug, reported with the file and line.
#define KILN_ASSERT(cond)                                                                    \
  do {                                                                                       \
    if (!(cond))                                                                             \
      ::kiln::fail(::kiln::ErrorCode::kInternal,                                             \
                   std::string("internal error: ") + #cond + " at " + __FILE__ + ":" +       \
                       std::to_string(__LINE__));                                            \
  } while (0)
