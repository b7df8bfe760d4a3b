#include "onnx/tensor_proto.h"

#include <onnx.pb.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "io/file_util.h"

namespace kiln {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void bad(const std::string& what, const std::string& why) {
  fail(ErrorCode::kInvalidModel, what + ": " + why);
}

// Resolves an external-data location inside base_dir; anything that would leave it
// (absolute paths, "..", symlinks pointing out) is refused.
fs::path confined_path(const std::string& base_dir, const std::string& location,
                       const std::string& what) {
  if (base_dir.empty()) bad(what, "external data is not allowed here");
  fs::path rel(location);
  if (location.empty() || rel.is_absolute() || rel.has_root_name() || rel.has_root_directory())
    bad(what, "external data path '" + location + "' must be relative to the model's directory");
  for (const auto& part : rel)
    if (part == "..") bad(what, "external data path '" + location + "' leaves the model's directory");
  std::error_code ec;
  fs::path base = fs::canonical(base_dir, ec);
  if (ec) bad(what, "cannot resolve the model directory " + base_dir);
  fs::path full = fs::weakly_canonical(base / rel, ec);
  if (ec || !fs::exists(full))
    fail(ErrorCode::kNotFound, what + ": external data file '" + location + "' not found next to the model");
  auto [b, f] = std::mismatch(base.begin(), base.end(), full.begin(), full.end());
  if (b != base.end())
    bad(what, "external data path '" + location + "' resolves outside the model's directory");
  return full;
}

std::string read_external(const onnx::TensorProto& p, const std::string& base_dir,
                          const std::string& what, size_t want) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& kv : p.external_data()) {
    try {
      if (kv.key() == "location") location = kv.value();
      else if (kv.key() == "offset") offset = std::stoll(kv.value());
      else if (kv.key() == "length") length = std::stoll(kv.value());
    } catch (const std::exception&) {
      bad(what, "external data " + kv.key() + " '" + kv.value() + "' is not a number");
    }
  }
  fs::path path = confined_path(base_dir, location, what);
  std::error_code ec;
  uint64_t file_size = fs::file_size(path, ec);
  if (ec) bad(what, "cannot read external data file '" + location + "'");
  if (offset < 0 || uint64_t(offset) > file_size) bad(what, "external data offset out of range");
  if (length < 0) length = int64_t(file_size - uint64_t(offset));
  if (uint64_t(length) != want || uint64_t(offset) + uint64_t(length) > file_size)
    bad(what, "external data holds " + std::to_string(length) + " bytes, the tensor needs " +
                  std::to_string(want));
  std::ifstream in(path, std::ios::binary);
  std::string bytes(want, '\0');
  in.seekg(offset);
  in.read(bytes.data(), std::streamsize(want));
  if (!in) bad(what, "cannot read external data file '" + location + "'");
  return bytes;
}

template <class Src, class Fn> void fill_from(const Src& src, int64_t n, const std::string& what, Fn put) {
  if (int64_t(src.size()) != n)
    bad(what, "holds " + std::to_string(src.size()) + " values, its shape needs " + std::to_string(n));
  for (int64_t i = 0; i < n; ++i) put(i, src[int(i)]);
}

}  // namespace

Tensor tensor_from_proto(const onnx::TensorProto& p, const std::string& base_dir,
                         const std::string& what_in) {
  std::string what = what_in.empty() ? "tensor '" + p.name() + "'" : what_in;
  if (p.has_segment()) fail(ErrorCode::kUnsupported, what + ": segmented tensors are not supported");
  DType dt;
  try {
    dt = dtype_from_onnx(p.data_type());
  } catch (const Error& e) {
    fail(e.code(), what + ": " + e.what());
  }
  Dims dims(p.dims().begin(), p.dims().end());
  for (int64_t d : dims)
    if (d < 0) bad(what, "negative dimension " + std::to_string(d));
  int64_t n;
  try {
    n = numel_of(dims);
  } catch (const Error&) {
    bad(what, "shape " + dims_to_string(dims) + " is more than kiln's 1 TiB limit for one tensor");
  }
  size_t elem = dtype_size(dt);
  if (n > kMaxTensorBytes / int64_t(elem))
    bad(what, "shape " + dims_to_string(dims) + " is more than kiln's 1 TiB limit for one tensor");
  size_t want = size_t(n) * elem;

  // Check the stored data covers the shape BEFORE allocating, so absurd dims cannot exhaust memory.
  if (p.data_location() == onnx::TensorProto::EXTERNAL) {
    std::string bytes = read_external(p, base_dir, what, want);
    Tensor t(dt, dims);
    if (want) std::memcpy(t.raw(), bytes.data(), want);
    return t;
  }
  if (p.has_raw_data()) {
    if (p.raw_data().size() != want)
      bad(what, "raw data holds " + std::to_string(p.raw_data().size()) + " bytes, its shape " +
                    dims_to_string(dims) + " needs " + std::to_string(want));
    Tensor t(dt, dims);
    if (want) std::memcpy(t.raw(), p.raw_data().data(), want);
    return t;
  }
  int64_t have = 0;
  switch (dt) {
    case DType::kF32: have = p.float_data_size(); break;
    case DType::kF64: have = p.double_data_size(); break;
    case DType::kI64: have = p.int64_data_size(); break;
    default: have = p.int32_data_size(); break;  // int32, int8, uint8, bool, f16/bf16 bits
  }
  if (have != n)
    bad(what, "holds " + std::to_string(have) + " values, its shape " + dims_to_string(dims) +
                  " needs " + std::to_string(n));
  Tensor t(dt, dims);
  visit_dtype(dt, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_void_v<T>) {
      KILN_ASSERT(false);
    } else {
      T* out = t.data<T>();
      if constexpr (std::is_same_v<T, float>)
        fill_from(p.float_data(), n, what, [&](int64_t i, float v) { out[i] = v; });
      else if constexpr (std::is_same_v<T, double>)
        fill_from(p.double_data(), n, what, [&](int64_t i, double v) { out[i] = v; });
      else if constexpr (std::is_same_v<T, int64_t>)
        fill_from(p.int64_data(), n, what, [&](int64_t i, int64_t v) { out[i] = v; });
      else if constexpr (std::is_same_v<T, f16> || std::is_same_v<T, bf16>)
        fill_from(p.int32_data(), n, what, [&](int64_t i, int32_t v) { out[i] = T{uint16_t(v)}; });
      else
        fill_from(p.int32_data(), n, what, [&](int64_t i, int32_t v) { out[i] = static_cast<T>(v); });
    }
  });
  return t;
}

Tensor read_tensor_pb(const std::string& path) {
  std::string bytes = read_file(path);
  onnx::TensorProto p;
  if (!p.ParseFromString(bytes))
    fail(ErrorCode::kInvalidArgument, path + " is not a serialized ONNX TensorProto");
  return tensor_from_proto(p, "", path);
}

}  // namespace kiln
