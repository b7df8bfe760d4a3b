// The two directions of engine-file serialization behind one interface, so each structure is
// described by ONE function template (graph_archive.cpp) that both writes and reads it:
//   ar.u8(x) / ar.u32(x) / ar.i64(x) / ar.f32(x) / ar.str(s) / ar.count(n, min_bytes) / ar.raw(p, n)
// ByteWriter appends little-endian bytes; ByteReader reads them back and refuses — before
// allocating anything — any length that the bytes left could not hold (a hostile file cannot
// make kiln allocate more than the file's own size).
#pragma once
#include <cstdint>
#include <cstring>
#include <string>

#include "kiln/status.h"

namespace kiln {

class ByteWriter {
 public:
  static constexpr bool kReading = false;

  void u8(const uint8_t& v) { out_.push_back(char(v)); }
  void u32(const uint32_t& v) { put(v, 4); }
  void u64(const uint64_t& v) { put(v, 8); }
  void i64(const int64_t& v) { put(uint64_t(v), 8); }
  void f32(const float& v) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    put(bits, 4);
  }
  // A count of elements that follow; min_bytes_each only matters when reading.
  void count(const uint64_t& n, uint64_t /*min_bytes_each*/) { u64(n); }
  void str(const std::string& s) {
    count(s.size(), 1);
    out_.append(s);
  }
  void raw(const void* data, size_t n) { out_.append(static_cast<const char*>(data), n); }

  // Writing a value no reader would accept is a kiln bug.
  [[noreturn]] void corrupt(const std::string& detail) const {
    fail(ErrorCode::kInternal, "internal error: writing an engine file: " + detail);
  }
  size_t remaining() const { return SIZE_MAX; }

  const std::string& bytes() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void put(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(char((v >> (8 * i)) & 0xff));
  }
  std::string out_;
};

class ByteReader {
 public:
  static constexpr bool kReading = true;

  // what: names the file in errors ("engine file model.kiln").
  ByteReader(const char* data, size_t size, std::string what) : p_(data), end_(data + size), what_(std::move(what)) {}

  void u8(uint8_t& v) { v = uint8_t(get(1)); }
  void u32(uint32_t& v) { v = uint32_t(get(4)); }
  void u64(uint64_t& v) { v = get(8); }
  void i64(int64_t& v) { v = int64_t(get(8)); }
  void f32(float& v) {
    uint32_t bits = uint32_t(get(4));
    std::memcpy(&v, &bits, 4);
  }
  void count(uint64_t& n, uint64_t min_bytes_each) {
    n = get(8);
    if (min_bytes_each == 0) min_bytes_each = 1;
    if (n > remaining() / min_bytes_each) corrupt("a count of " + std::to_string(n) + " exceeds the file");
  }
  void str(std::string& s) {
    uint64_t n;
    count(n, 1);
    s.assign(p_, size_t(n));
    p_ += n;
  }
  void raw(void* data, size_t n) {
    need(n);
    std::memcpy(data, p_, n);
    p_ += n;
  }

  size_t remaining() const { return size_t(end_ - p_); }
  const std::string& what() const { return what_; }
  [[noreturn]] void corrupt(const std::string& detail) const {
    fail(ErrorCode::kInvalidArgument, what_ + " is corrupt (" + detail +
                                          "); rebuild it with `kiln build`");
  }

 private:
  void need(size_t n) const {
    if (n > remaining()) corrupt("it ends inside a field");
  }
  uint64_t get(int n) {
    need(size_t(n));
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= uint64_t(uint8_t(p_[i])) << (8 * i);
    p_ += n;
    return v;
  }
  const char* p_;
  const char* end_;
  std::string what_;
};

}  // namespace kiln
