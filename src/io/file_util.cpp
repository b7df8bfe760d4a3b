#include "io/file_util.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "kiln/status.h"

namespace kiln {

std::string read_file(const std::string& path, uint64_t max_bytes) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail(ErrorCode::kNotFound, "file not found: " + path);
  if (std::filesystem::is_directory(path, ec))
    fail(ErrorCode::kInvalidArgument, path + " is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorCode::kInvalidArgument, "cannot open " + path + " for reading");
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  if (size < 0) fail(ErrorCode::kInvalidArgument, "cannot read " + path);
  if (uint64_t(size) > max_bytes)
    fail(ErrorCode::kInvalidArgument, path + " is too large (" + std::to_string(size) + " bytes)");
  std::string bytes(size_t(size), '\0');
  in.seekg(0);
  in.read(bytes.data(), size);
  if (!in) fail(ErrorCode::kInvalidArgument, "cannot read " + path);
  return bytes;
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail(ErrorCode::kInvalidArgument, "cannot write " + path);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    if (!out) {
      std::remove(tmp.c_str());
      fail(ErrorCode::kInvalidArgument, "cannot write " + path + " (disk full?)");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    fail(ErrorCode::kInvalidArgument, "cannot write " + path + ": " + ec.message());
  }
}

}  // namespace kiln
