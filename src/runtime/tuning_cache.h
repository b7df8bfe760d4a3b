// Kernel choices measured on a GPU, keyed by the exact problem: what `kiln build` timed
// (cuBLASLt algorithms, cuDNN convolution algorithms) so that later builds — and every run of
// the engine, which carries its cache — pick the same kernels without timing again. Keys name
// the GPU architecture and library version, so an entry never applies elsewhere; values are
// opaque bytes that the kernel that wrote them reads back — also whole generated kernels: the
// cubins NVRTC made of kiln.Pointwise programs (ops/elementwise/pointwise_cuda.cpp), keyed by
// architecture, NVRTC version and source hash. Shared by the contexts of one engine
// (thread-safe).
//
// File (`--timing-cache FILE`): magic "KILNTUNE", u32 version, then the entries as in the
// engine file (count; key and value strings).
#pragma once
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace kiln {

class ByteWriter;
class ByteReader;

class TuningCache {
 public:
  TuningCache() = default;
  TuningCache(const TuningCache& o) : entries_(o.entries()) {}
  TuningCache& operator=(const TuningCache& o);

  std::optional<std::string> find(const std::string& key) const;
  void put(const std::string& key, std::string value);
  void merge(const TuningCache& other);  // other's entries win
  size_t size() const;
  std::map<std::string, std::string> entries() const;

  void write(ByteWriter& w) const;
  static TuningCache read(ByteReader& r);

  // The cache file; a missing file loads as empty, a damaged one is refused (kInvalidArgument).
  static TuningCache load_file(const std::string& path);
  void save_file(const std::string& path) const;  // atomically

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string> entries_;
};

}  // namespace kiln
