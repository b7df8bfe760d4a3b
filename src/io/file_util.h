// Whole-file reads and atomic writes with errors that name the file.
#pragma once
#include <cstdint>
#include <string>

namespace kiln {

// Throws kNotFound if missing, kInvalidArgument if unreadable or larger than max_bytes.
std::string read_file(const std::string& path, uint64_t max_bytes = uint64_t(1) << 36);
// Writes to path + ".tmp" then renames, so readers never see a partial file.
void write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace kiln
