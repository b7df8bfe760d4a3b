#include "runtime/tuning_cache.h"

#include <cstring>
#include <filesystem>

#include "io/file_util.h"
#include "runtime/engine/byte_archive.h"

namespace kiln {
namespace {

constexpr char kMagic[8] = {'K', 'I', 'L', 'N', 'T', 'U', 'N', 'E'};
constexpr uint32_t kVersion = 1;

}  // namespace

TuningCache& TuningCache::operator=(const TuningCache& o) {
  if (this != &o) {
    auto copy = o.entries();
    std::lock_guard lock(mu_);
    entries_ = std::move(copy);
  }
  return *this;
}

std::optional<std::string> TuningCache::find(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

void TuningCache::put(const std::string& key, std::string value) {
  std::lock_guard lock(mu_);
  entries_[key] = std::move(value);
}

void TuningCache::merge(const TuningCache& other) {
  for (auto& [k, v] : other.entries()) put(k, v);
}

size_t TuningCache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

std::map<std::string, std::string> TuningCache::entries() const {
  std::lock_guard lock(mu_);
  return entries_;
}

void TuningCache::write(ByteWriter& w) const {
  auto all = entries();
  w.count(all.size(), 16);
  for (const auto& [k, v] : all) {
    w.str(k);
    w.str(v);
  }
}

TuningCache TuningCache::read(ByteReader& r) {
  TuningCache c;
  uint64_t n = 0;
  r.count(n, 16);  // two string lengths
  for (uint64_t i = 0; i < n; ++i) {
    std::string k, v;
    r.str(k);
    r.str(v);
    c.entries_[k] = std::move(v);
  }
  return c;
}

TuningCache TuningCache::load_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return {};
  std::string bytes = read_file(path);
  const std::string what = "timing cache " + path;
  if (bytes.size() < sizeof kMagic + 4 || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    fail(ErrorCode::kInvalidArgument, what + " is not a kiln timing cache; delete it or give another --timing-cache path");
  ByteReader r(bytes.data() + sizeof kMagic, bytes.size() - sizeof kMagic, what);
  uint32_t version = 0;
  r.u32(version);
  if (version != kVersion)
    fail(ErrorCode::kInvalidArgument, what + " has version " + std::to_string(version) + ", this kiln writes " +
                                          std::to_string(kVersion) + "; delete it and build again");
  TuningCache c = read(r);
  if (r.remaining()) r.corrupt("bytes after the entries");
  return c;
}

void TuningCache::save_file(const std::string& path) const {
  ByteWriter w;
  w.raw(kMagic, sizeof kMagic);
  w.u32(kVersion);
  write(w);
  write_file_atomic(path, w.take());
}

}  // namespace kiln
