#include "io/npy.h"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "io/file_util.h"

namespace kiln {
namespace {

[[noreturn]] void bad(const std::string& what, const std::string& why) {
  fail(ErrorCode::kInvalidArgument, what + " is not a valid .npy file: " + why);
}

// numpy descr (little-endian or byte-order-free) → dtype.
DType dtype_from_descr(const std::string& d, const std::string& what) {
  static const std::pair<const char*, DType> table[] = {
      {"<f4", DType::kF32}, {"<f2", DType::kF16}, {"<f8", DType::kF64}, {"<i8", DType::kI64},
      {"<i4", DType::kI32}, {"|i1", DType::kI8},  {"|u1", DType::kU8},  {"|b1", DType::kBool},
      {"<V2", DType::kBF16}};
  for (auto& [name, dt] : table)
    if (d == name) return dt;
  fail(ErrorCode::kInvalidArgument, what + ": .npy dtype '" + d +
                                        "' is not supported (use float32/16/64, int64/32/8, "
                                        "uint8 or bool, little-endian)");
}

const char* descr_of(DType dt) {
  switch (dt) {
    case DType::kF32: return "<f4";
    case DType::kF16: return "<f2";
    case DType::kF64: return "<f8";
    case DType::kI64: return "<i8";
    case DType::kI32: return "<i4";
    case DType::kI8: return "|i1";
    case DType::kU8: return "|u1";
    case DType::kBool: return "|b1";
    case DType::kBF16: return "<V2";  // numpy has no bfloat16: raw 2-byte records
    case DType::kUndefined: break;
  }
  KILN_ASSERT(false);
  return "";
}

// What follows `'key':` (and any spaces) in the header dict; missing key → "header has no key".
std::string_view value_of(std::string_view header, const std::string& key, const std::string& what) {
  const std::string quoted = "'" + key + "'";
  size_t at = header.find(quoted);
  if (at == std::string_view::npos) bad(what, "header has no " + key);
  at = header.find_first_not_of(' ', at + quoted.size());
  if (at == std::string_view::npos || header[at] != ':') bad(what, "header has no " + key);
  at = header.find_first_not_of(' ', at + 1);
  return at == std::string_view::npos ? std::string_view() : header.substr(at);
}

}  // namespace

Tensor parse_npy(std::string_view b, const std::string& what) {
  if (b.size() < 10 || std::memcmp(b.data(), "\x93NUMPY", 6) != 0) bad(what, "missing magic");
  uint8_t major = uint8_t(b[6]);
  size_t header_len, header_start;
  if (major == 1) {
    header_len = uint8_t(b[8]) | size_t(uint8_t(b[9])) << 8;
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (b.size() < 12) bad(what, "truncated header");
    header_len = 0;
    for (int i = 0; i < 4; ++i) header_len |= size_t(uint8_t(b[8 + i])) << (8 * i);
    header_start = 12;
  } else {
    bad(what, "unknown format version " + std::to_string(major));
  }
  if (header_len > b.size() - header_start) bad(what, "truncated header");
  std::string header(b.substr(header_start, header_len));

  // The header is a Python dict literal; read by hand (std::regex recursed once per character
  // and overflowed the stack on long headers: fuzz_npy in CI).
  std::string_view v = value_of(header, "descr", what);
  if (v.empty() || v[0] != '\'' || v.find('\'', 1) == std::string_view::npos) bad(what, "header has no descr");
  DType dt = dtype_from_descr(std::string(v.substr(1, v.find('\'', 1) - 1)), what);
  v = value_of(header, "fortran_order", what);
  if (v.substr(0, 4) == "True")
    fail(ErrorCode::kInvalidArgument, what + ": Fortran-order .npy is not supported (save C order)");
  if (v.substr(0, 5) != "False") bad(what, "header has no fortran_order");
  v = value_of(header, "shape", what);
  if (v.empty() || v[0] != '(' || v.find(')') == std::string_view::npos) bad(what, "header has no shape");
  const std::string shape(v.substr(1, v.find(')') - 1));
  Dims dims;
  for (size_t start = 0; start <= shape.size();) {
    size_t end = std::min(shape.find(',', start), shape.size());
    std::string part = shape.substr(start, end - start);
    part.erase(0, part.find_first_not_of(' '));
    part.erase(part.find_last_not_of(' ') + 1);
    if (!part.empty()) {
      if (part.size() > 18 || part.find_first_not_of("0123456789") != std::string::npos)
        bad(what, "malformed shape (" + shape + ")");
      dims.push_back(std::stoll(part));
    }
    start = end + 1;
  }

  int64_t n = 0;
  try {
    n = numel_of(dims);
  } catch (const Error&) {
    bad(what, "shape " + dims_to_string(dims) + " is too large");
  }
  size_t data_start = header_start + header_len;
  size_t want = size_t(n) * dtype_size(dt);
  if (n != 0 && want / size_t(n) != dtype_size(dt)) bad(what, "shape too large");
  if (b.size() - data_start != want)
    bad(what, "expected " + std::to_string(want) + " data bytes for shape " + dims_to_string(dims) +
                  ", found " + std::to_string(b.size() - data_start));
  Tensor t(dt, dims);
  if (want) std::memcpy(t.raw(), b.data() + data_start, want);
  return t;
}

Tensor read_npy(const std::string& path) { return parse_npy(read_file(path), path); }

std::string serialize_npy(const Tensor& t) {
  // numpy's tuple syntax: "()", "(2,)", "(2, 3)".
  std::string shape = "(";
  for (size_t i = 0; i < t.dims().size(); ++i) shape += (i ? ", " : "") + std::to_string(t.dims()[i]);
  shape += t.dims().size() == 1 ? ",)" : ")";
  std::string header = std::string("{'descr': '") + descr_of(t.dtype()) +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += char(1);
  out += char(0);
  out += char(header.size() & 0xff);
  out += char(header.size() >> 8);
  out += header;
  out.append(static_cast<const char*>(t.raw()), t.nbytes());
  return out;
}

void write_npy(const std::string& path, const Tensor& t) { write_file_atomic(path, serialize_npy(t)); }

}  // namespace kiln
