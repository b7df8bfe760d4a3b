#include "runtime/engine/engine_file.h"

#include <algorithm>
#include <cstring>
#include <fstream>

#include "io/file_util.h"
#include "runtime/engine/byte_archive.h"
#include "runtime/engine/checksum.h"
#include "ops/plugin/plugin_ops.h"
#include "runtime/engine/graph_archive.h"

namespace kiln {
namespace {

constexpr const char* kRebuild = "rebuild it from the ONNX model with `kiln build`";

// The target block opens the payload (covered by the checksum); one function both ways.
template <class Ar> void target_fields(Ar& ar, std::string& kiln_version, EngineTarget& t) {
  ar.str(kiln_version);
  ar.str(t.device);
  ar.str(t.arch);
}

template <class Ar> void plugin_op_fields(Ar& ar, std::vector<EnginePluginOp>& ops) {
  uint64_t n = ops.size();
  ar.count(n, 20);  // two string lengths and a version
  if constexpr (Ar::kReading) ops.resize(size_t(n));
  for (auto& op : ops) {
    ar.str(op.domain);
    ar.str(op.name);
    ar.u32(op.version);
  }
}

template <class Ar> void dims_field(Ar& ar, Dims& d) {
  uint64_t n = d.size();
  ar.count(n, 8);
  if constexpr (Ar::kReading) d.resize(size_t(n));
  for (auto& v : d) ar.i64(v);
}

template <class Ar> void string_list_field(Ar& ar, std::vector<std::string>& v) {
  uint64_t n = v.size();
  ar.count(n, 8);
  if constexpr (Ar::kReading) v.resize(size_t(n));
  for (auto& s : v) ar.str(s);
}

template <class Ar> void node_refs_field(Ar& ar, std::vector<NodeRef>& v) {
  uint64_t n = v.size();
  ar.count(n, 16);  // two strings
  if constexpr (Ar::kReading) v.resize(size_t(n));
  for (auto& r : v) {
    ar.str(r.op);
    ar.str(r.name);
  }
}

template <class Ar> void build_fields(Ar& ar, EngineBuild& b) {
  ar.str(b.precision);
  uint64_t n = b.profiles.size();
  ar.count(n, 32);  // a name length and three dims counts
  if constexpr (Ar::kReading) b.profiles.resize(size_t(n));
  for (auto& p : b.profiles) {
    ar.str(p.name);
    dims_field(ar, p.min);
    dims_field(ar, p.opt);
    dims_field(ar, p.max);
  }
  if constexpr (Ar::kReading) {
    if (b.precision != "fp32" && b.precision != "tf32" && b.precision != "fp16" && b.precision != "int8")
      ar.corrupt("unknown precision '" + b.precision + "'");
    b.tuning = TuningCache::read(ar);
  } else {
    b.tuning.write(ar);
  }
  std::vector<std::string> disabled(b.disabled_passes.begin(), b.disabled_passes.end());
  string_list_field(ar, disabled);
  if constexpr (Ar::kReading) b.disabled_passes = std::set<std::string>(disabled.begin(), disabled.end());
  uint64_t n_rewrites = b.rewrites.size();
  ar.count(n_rewrites, 24);  // a pass name and two counts
  if constexpr (Ar::kReading) b.rewrites.resize(size_t(n_rewrites));
  for (auto& r : b.rewrites) {
    ar.str(r.pass);
    node_refs_field(ar, r.replaced);
    node_refs_field(ar, r.added);
  }
}

// The plugin ops among the graph's nodes, once each.
std::vector<EnginePluginOp> plugin_ops_of(const Graph& g) {
  std::vector<EnginePluginOp> out;
  for (const auto& n : g.nodes)
    if (const PluginOp* op = find_plugin_op(n.domain, n.op_type)) {
      bool seen = std::any_of(out.begin(), out.end(),
                              [&](const auto& o) { return o.domain == op->domain && o.name == op->name; });
      if (!seen) out.push_back({op->domain, op->name, uint32_t(op->version)});
    }
  return out;
}

// Before the graph is read: name a missing plugin op and how to supply it.
void check_plugin_ops(const std::vector<EnginePluginOp>& ops, const std::string& what) {
  for (const auto& o : ops) {
    std::string label = o.domain.empty() ? o.name : o.domain + "." + o.name;
    const PluginOp* have = find_plugin_op(o.domain, o.name);
    if (!have)
      fail(ErrorCode::kInvalidArgument, what + " uses plugin op " + label + " (version " + std::to_string(o.version) +
                                            "), which is not registered: pass --plugin LIBRARY.so that provides it");
    if (uint32_t(have->version) != o.version)
      fail(ErrorCode::kInvalidArgument, what + " was built with version " + std::to_string(o.version) +
                                            " of plugin op " + label + ", but plugin " + have->library +
                                            " provides version " + std::to_string(have->version) + "; " + kRebuild);
  }
}

uint64_t read_u64(const std::string& b, size_t at) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t(uint8_t(b[at + size_t(i)])) << (8 * i);
  return v;
}

}  // namespace

std::string engine_to_bytes(const Graph& graph, const EngineTarget& target, const EngineBuild& build) {
  ByteWriter payload;
  std::string version = KILN_VERSION;
  EngineTarget t = target;
  target_fields(payload, version, t);
  std::vector<EnginePluginOp> plugin_ops = plugin_ops_of(graph);
  plugin_op_fields(payload, plugin_ops);
  EngineBuild b = build;
  build_fields(payload, b);
  write_graph(payload, graph);

  ByteWriter file;
  file.raw(kEngineMagic, sizeof kEngineMagic);
  file.u32(kEngineFormatVersion);
  file.u32(0);
  file.u64(payload.bytes().size());
  file.u64(checksum64(payload.bytes().data(), payload.bytes().size()));
  KILN_ASSERT(file.bytes().size() == kEngineHeaderBytes);
  file.raw(payload.bytes().data(), payload.bytes().size());
  return file.take();
}

void save_engine(const std::string& path, const Graph& graph, const EngineTarget& target, const EngineBuild& build) {
  write_file_atomic(path, engine_to_bytes(graph, target, build));
}

const InputProfile* find_profile(const EngineBuild& build, const std::string& name) {
  for (const auto& p : build.profiles)
    if (p.name == name) return &p;
  return nullptr;
}

void check_profile(const EngineBuild& build, const std::string& name, const Dims& dims, const std::string& what) {
  if (const InputProfile* found = find_profile(build, name)) {
    const InputProfile& p = *found;
    bool fits = dims.size() == p.min.size();
    for (size_t i = 0; fits && i < dims.size(); ++i) fits = dims[i] >= p.min[i] && dims[i] <= p.max[i];
    if (!fits)
      fail(ErrorCode::kInvalidArgument, "input '" + name + "' of shape " + dims_to_string(dims) + " is outside " +
                                            what + "'s profile (min " + dims_to_string(p.min) + ", max " +
                                            dims_to_string(p.max) + "); rebuild it with a wider --min/--max");
  }
}

Engine engine_from_bytes(const std::string& bytes, const std::string& what) {
  auto refuse = [&](const std::string& why) { fail(ErrorCode::kInvalidArgument, what + " " + why); };
  size_t magic_bytes = std::min(bytes.size(), sizeof kEngineMagic);
  if (!bytes.empty() && bytes.size() < sizeof kEngineMagic && std::memcmp(bytes.data(), kEngineMagic, magic_bytes) == 0)
    refuse("is truncated (" + std::to_string(bytes.size()) + " bytes, inside the magic); " + kRebuild);
  if (bytes.size() < sizeof kEngineMagic || std::memcmp(bytes.data(), kEngineMagic, sizeof kEngineMagic) != 0)
    refuse("is not a kiln engine file (no engine magic); build one with `kiln build MODEL.onnx -o ENGINE.kiln`");
  if (bytes.size() < kEngineHeaderBytes)
    refuse("is truncated (" + std::to_string(bytes.size()) + " bytes, shorter than the header); " + kRebuild);
  ByteReader header(bytes.data() + sizeof kEngineMagic, kEngineHeaderBytes - sizeof kEngineMagic, what);
  uint32_t version = 0, reserved = 0;
  header.u32(version);
  header.u32(reserved);
  if (version != kEngineFormatVersion)
    refuse("has engine format version " + std::to_string(version) + "; this kiln (" + KILN_VERSION +
           ") reads format version " + std::to_string(kEngineFormatVersion) + ": " + kRebuild);
  uint64_t payload_size = read_u64(bytes, 16), checksum = read_u64(bytes, 24);
  uint64_t have = bytes.size() - kEngineHeaderBytes;
  if (have < payload_size)
    refuse("is truncated (" + std::to_string(bytes.size()) + " of " +
           std::to_string(kEngineHeaderBytes + payload_size) + " bytes); " + kRebuild);
  if (reserved != 0) refuse("is corrupt (a damaged header); " + std::string(kRebuild));
  if (have > payload_size) refuse("is corrupt (bytes after the payload); " + std::string(kRebuild));
  if (checksum64(bytes.data() + kEngineHeaderBytes, size_t(payload_size)) != checksum)
    refuse("is corrupt (checksum mismatch); " + std::string(kRebuild));

  ByteReader r(bytes.data() + kEngineHeaderBytes, size_t(payload_size), what);
  Engine e;
  target_fields(r, e.kiln_version, e.target);
  plugin_op_fields(r, e.plugin_ops);
  check_plugin_ops(e.plugin_ops, what);
  build_fields(r, e.build);
  e.graph = read_graph(r);
  if (r.remaining() != 0) r.corrupt(std::to_string(r.remaining()) + " bytes after the graph");
  return e;
}

Engine load_engine(const std::string& path) {
  return engine_from_bytes(read_file(path), "engine file " + path);
}

void check_engine_target(const Engine& engine, const EngineTarget& wanted, const std::string& path) {
  if (engine.target == wanted) return;
  std::string head = "engine file " + path + " was built for " + engine.target.to_string();
  if (engine.target.device != wanted.device)
    fail(ErrorCode::kInvalidArgument, head + ", not " + wanted.device + ": run it with --device " +
                                          engine.target.device + ", or rebuild it with `kiln build --device " +
                                          wanted.device + "`");
  fail(ErrorCode::kInvalidArgument, head + ", but this GPU is " + wanted.arch +
                                        ": rebuild it on this machine with `kiln build --device " +
                                        wanted.device + "`");
}

std::optional<EngineTarget> peek_engine_target_head(std::string_view head, const std::string& what) {
  uint32_t version_in_file = 0;
  if (head.size() >= kEngineHeaderBytes) ByteReader(head.data() + 8, 4, what).u32(version_in_file);
  if (version_in_file != kEngineFormatVersion) return std::nullopt;
  ByteReader r(head.data() + kEngineHeaderBytes, head.size() - kEngineHeaderBytes, "engine file " + what);
  std::string version;
  EngineTarget t;
  try {
    target_fields(r, version, t);
  } catch (const Error&) {
    return std::nullopt;  // a target block past 4 KiB, or a damaged one
  }
  return t;
}

EngineTarget peek_engine_target(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string head(4096, '\0');
  in.read(head.data(), std::streamsize(head.size()));
  head.resize(size_t(in.gcount()));
  if (auto t = peek_engine_target_head(head, path)) return *t;
  return load_engine(path).target;  // short, another version or damaged: the full load says why
}

bool is_engine_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[sizeof kEngineMagic] = {};
  if (!in.read(magic, sizeof magic)) return false;
  return std::memcmp(magic, kEngineMagic, sizeof magic) == 0;
}

}  // namespace kiln
