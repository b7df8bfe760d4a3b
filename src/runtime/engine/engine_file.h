// The engine file: ONE self-contained file holding an optimized graph for a target device.
// Loading it needs no ONNX model.
//
//   offset  size  field
//   0       8     magic "KILNENG\x1a"
//   8       4     format version (u32, little-endian; kEngineFormatVersion)
//   12      4     reserved, 0
//   16      8     payload size in bytes (u64)
//   24      8     FNV-1a 64 of the payload (u64)
//   32      ...   payload: target (kiln version, device, architecture: three strings),
//                 the plugin ops the graph uses (u64 count; each domain, name: strings,
//                 version: u32), the build (precision: string; shape profiles: count, each
//                 input name and min/opt/max dims; the tuning cache: tuning_cache.h, which also
//                 holds the generated elementwise kernels' cubins; the
//                 disabled passes: count, names; the rewrites: count, each pass name and the
//                 replaced and added nodes: count, op and name each), then the graph
//                 (graph_archive.h)
// Integers are little-endian; a string is a u64 length and its bytes.
#pragma once
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ir/graph.h"
#include "passes/fusion_record.h"
#include "runtime/tuning_cache.h"

namespace kiln {

inline constexpr char kEngineMagic[8] = {'K', 'I', 'L', 'N', 'E', 'N', 'G', '\x1a'};
// 2: plugin-op block; 3: build block; 4: checksum64; 5: disabled passes and rewrites in the build;
// 6: fp16 engines with symbolic inputs store the graph before fp16 conversion (specialize.h)
inline constexpr uint32_t kEngineFormatVersion = 6;
inline constexpr size_t kEngineHeaderBytes = 32;

// What an engine was built for: device "cpu" (arch empty) or "cuda" with the GPU's
// architecture ("sm_90").
struct EngineTarget {
  std::string device = "cpu";
  std::string arch;

  std::string to_string() const { return arch.empty() ? device : device + " " + arch; }
  bool operator==(const EngineTarget& o) const { return device == o.device && arch == o.arch; }
};

// A plugin op (ops/plugin/) an engine's graph needs; loading refuses until it is registered.
struct EnginePluginOp {
  std::string domain, name;
  uint32_t version = 1;
};

// The range of shapes one engine accepts for an input with symbolic dims (--min/--opt/--max);
// kernels are timed at `opt`.
struct InputProfile {
  std::string name;
  Dims min, opt, max;
};

// How the engine was built: the precision its graph computes in ("fp32", "tf32" — fp32 storage,
// TF32 tensor-core math — or "fp16"), its shape profiles, the kernel choices timed for it, the
// rewrite passes left out (`kiln build --disable-pass`; a run that re-optimizes for its shapes
// leaves them out too) and the rewrites the passes made (`kiln inspect --fusions`).
struct EngineBuild {
  std::string precision = "fp32";
  std::vector<InputProfile> profiles;
  TuningCache tuning;
  std::set<std::string> disabled_passes;
  std::vector<FusionRecord> rewrites;
};

struct Engine {
  EngineTarget target;
  std::vector<EnginePluginOp> plugin_ops;
  std::string kiln_version;  // of the kiln that wrote it
  EngineBuild build;
  Graph graph;
};

// The file's bytes for `graph` built for `target`, written by this kiln.
std::string engine_to_bytes(const Graph& graph, const EngineTarget& target, const EngineBuild& build = {});
// Writes the engine atomically (a partial file never appears under `path`).
void save_engine(const std::string& path, const Graph& graph, const EngineTarget& target,
                 const EngineBuild& build = {});
// The profile of input `name`, or nullptr.
const InputProfile* find_profile(const EngineBuild& build, const std::string& name);
// Refuses (kInvalidArgument, naming `what` and how to fix it) dims of input `name` that lie
// outside its profile; inputs without a profile pass.
void check_profile(const EngineBuild& build, const std::string& name, const Dims& dims, const std::string& what);

// Parses engine bytes; `what` names the file in errors. Truncated, corrupted or other-version
// bytes are refused (kInvalidArgument) with one line saying what to do. No target check.
Engine engine_from_bytes(const std::string& bytes, const std::string& what);
// Reads and parses the file at `path`.
Engine load_engine(const std::string& path);
// Refuses (kInvalidArgument) an engine built for another device or GPU architecture.
void check_engine_target(const Engine& engine, const EngineTarget& wanted, const std::string& path);

// The target recorded in the engine at `path`, read from the file's first bytes only (the
// header and the target block; the checksum is not verified): to choose a device before the
// full load_engine, which verifies everything. Refuses as load_engine does.
EngineTarget peek_engine_target(const std::string& path);
// The target from the file's first bytes held in memory (`head`, up to the first 4 KiB), or
// nullopt when they cannot tell (short, another version, a damaged or long target block):
// the caller then loads the whole file, which says why.
std::optional<EngineTarget> peek_engine_target_head(std::string_view head, const std::string& what);

// True when the file at `path` starts with the engine magic (files are told apart by their
// content, not their extension). False for missing or short files.
bool is_engine_file(const std::string& path);

}  // namespace kiln
