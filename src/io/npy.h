// NumPy .npy files (format versions 1.0, 2.0, 3.0; C order), the CLI's tensor exchange format.
#pragma once
#include <string>
#include <string_view>

#include "ir/tensor.h"

namespace kiln {

// Throws kNotFound for a missing file and kInvalidArgument for anything malformed,
// naming the file.
Tensor read_npy(const std::string& path);
// Parses a whole .npy file held in memory (also a member of an .npz archive); `what` names it
// in errors.
Tensor parse_npy(std::string_view bytes, const std::string& what);
std::string serialize_npy(const Tensor& t);
// Writes atomically: a temporary file renamed into place, so a failure leaves nothing behind.
void write_npy(const std::string& path, const Tensor& t);

}  // namespace kiln
