// The engine file format: a graph with every dtype, attribute kind and kind of dim survives a
// save/load round trip exactly, and truncated, bit-flipped, other-version, other-device and
// hostile files are refused with one clear kInvalidArgument line.
#include <gtest/gtest.h>

#include <set>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "runtime/engine/byte_archive.h"
#include "runtime/engine/checksum.h"
#include "runtime/engine/engine_file.h"

namespace kiln {
namespace {

Tensor filled(DType dt, Dims dims, uint8_t seed) {
  Tensor t(dt, std::move(dims));
  auto* p = static_cast<uint8_t*>(t.raw());
  for (size_t i = 0; i < t.nbytes(); ++i) p[i] = uint8_t(seed + 37 * i);
  if (dt == DType::kBool)
    for (size_t i = 0; i < t.nbytes(); ++i) p[i] &= 1;
  return t;
}

Value make_value(const std::string& name, DType dt, std::optional<Shape> shape, std::optional<Tensor> c = {}) {
  Value v;
  v.name = name;
  v.type.dtype = dt;
  v.type.shape = std::move(shape);
  v.constant = std::move(c);
  return v;
}

// A graph exercising every field the format stores.
Graph sample_graph() {
  Graph g;
  g.name = "every field";
  const DType all[] = {DType::kF32, DType::kF16, DType::kBF16, DType::kF64, DType::kI64,
                       DType::kI32, DType::kI8, DType::kU8, DType::kBool};
  int i = 0;
  for (DType dt : all) {
    std::string name = "c" + std::to_string(i);
    Tensor t = filled(dt, {2, 3}, uint8_t(i++));
    g.values[name] = make_value(name, dt, shape_of(t.dims()), t);
  }
  g.values["scalar"] = make_value("scalar", DType::kF32, Shape{}, Tensor::scalar<float>(-0.0f));
  g.values["empty"] = make_value("empty", DType::kI64, shape_of({0, 4}), Tensor(DType::kI64, {0, 4}));
  g.values["x"] = make_value("x", DType::kF32, Shape{Dim::symbolic("batch"), 3, Dim(), Dim::symbolic("width")});
  g.values["y"] = make_value("y", DType::kF32, std::nullopt);         // rank unknown
  g.values["z"] = make_value("z", DType::kUndefined, std::nullopt);  // dtype undefined
  g.inputs = {"x"};
  g.outputs = {"y", "z"};

  Node add;
  add.name = "add \xce\xbb";  // UTF-8 survives
  add.op_type = "Add";
  add.opset = 17;
  add.inputs = {"x", "c0"};
  add.outputs = {"y"};
  add.attrs.set("int", int64_t(std::numeric_limits<int64_t>::min()));
  add.attrs.set("float", 1e-30f);
  add.attrs.set("nan", std::numeric_limits<float>::quiet_NaN());
  add.attrs.set("string", std::string("a\0b", 3));
  add.attrs.set("ints", std::vector<int64_t>{-1, 0, std::numeric_limits<int64_t>::max()});
  add.attrs.set("floats", std::vector<float>{-0.0f, INFINITY, 3.5f});
  add.attrs.set("strings", std::vector<std::string>{"", "NCHW", std::string(300, 'q')});
  add.attrs.set("tensor", filled(DType::kF16, {4}, 9));
  add.attrs.set("undefined tensor", Tensor());
  add.attrs.set("empty ints", std::vector<int64_t>{});
  g.nodes.push_back(add);

  Node clip;
  clip.name = "clip";
  clip.op_type = "Clip";
  clip.opset = 13;
  clip.inputs = {"y", "", "scalar"};  // "" marks an omitted optional input
  clip.outputs = {"z"};
  g.nodes.push_back(clip);
  g.opsets = {{"", 17}, {"com.microsoft", 1}};
  g.source_ops = {{"Add", 1}, {"Clip", 1}, {"Constant", 4}};
  return g;
}

bool same_tensor(const Tensor& a, const Tensor& b) {
  if (a.defined() != b.defined()) return false;
  if (!a.defined()) return true;
  return a.dtype() == b.dtype() && a.dims() == b.dims() && a.same_bytes(b);
}

bool same_attr(const AttrValue& a, const AttrValue& b) {
  if (a.index() != b.index()) return false;
  if (auto* t = std::get_if<Tensor>(&a)) return same_tensor(*t, std::get<Tensor>(b));
  if (auto* f = std::get_if<float>(&a)) {  // bit-exact, NaN and -0 included
    float g = std::get<float>(b);
    return std::memcmp(f, &g, 4) == 0;
  }
  if (auto* fs = std::get_if<std::vector<float>>(&a)) {
    const auto& gs = std::get<std::vector<float>>(b);
    return fs->size() == gs.size() && std::memcmp(fs->data(), gs.data(), 4 * fs->size()) == 0;
  }
  return std::visit([&](const auto& x) {
    using T = std::decay_t<decltype(x)>;
    if constexpr (std::is_same_v<T, Tensor>) return false;  // handled above
    else return x == std::get<T>(b);
  }, a);
}

void expect_same_graph(const Graph& a, const Graph& b) {
  EXPECT_EQ(a.name, b.name);
  ASSERT_EQ(a.values.size(), b.values.size());
  for (const auto& [name, v] : a.values) {
    ASSERT_TRUE(b.has_value(name)) << name;
    const Value& w = b.value(name);
    EXPECT_EQ(v.name, w.name);
    EXPECT_EQ(v.type.dtype, w.type.dtype) << name;
    ASSERT_EQ(v.type.shape.has_value(), w.type.shape.has_value()) << name;
    if (v.type.shape) {
      EXPECT_TRUE(*v.type.shape == *w.type.shape) << name;
    }
    ASSERT_EQ(v.constant.has_value(), w.constant.has_value()) << name;
    if (v.constant) {
      EXPECT_TRUE(same_tensor(*v.constant, *w.constant)) << name;
    }
  }
  ASSERT_EQ(a.nodes.size(), b.nodes.size());
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    const Node &n = a.nodes[i], &m = b.nodes[i];
    EXPECT_EQ(n.name, m.name);
    EXPECT_EQ(n.op_type, m.op_type);
    EXPECT_EQ(n.domain, m.domain);
    EXPECT_EQ(n.opset, m.opset);
    EXPECT_EQ(n.inputs, m.inputs);
    EXPECT_EQ(n.outputs, m.outputs);
    ASSERT_EQ(n.attrs.all().size(), m.attrs.all().size());
    for (const auto& [key, value] : n.attrs.all()) {
      ASSERT_TRUE(m.attrs.has(key)) << key;
      EXPECT_TRUE(same_attr(value, m.attrs.all().at(key))) << key;
    }
  }
  EXPECT_EQ(a.inputs, b.inputs);
  EXPECT_EQ(a.outputs, b.outputs);
  EXPECT_EQ(a.opsets, b.opsets);
  EXPECT_EQ(a.source_ops, b.source_ops);
}

// The refusal `bytes` must get: kInvalidArgument, one line, naming the file and `fragment`.
void expect_refused(const std::string& bytes, const std::string& fragment, const std::string& context = "") {
  try {
    engine_from_bytes(bytes, "engine file m.kiln");
    ADD_FAILURE() << "accepted: " << context;
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << msg << " " << context;
    EXPECT_NE(msg.find("engine file m.kiln"), std::string::npos) << msg;
    EXPECT_NE(msg.find(fragment), std::string::npos) << "want '" << fragment << "' in: " << msg << " " << context;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

// Header + payload with a correct size and checksum: what a hostile writer would produce.
std::string sealed(const std::string& payload, uint32_t version = kEngineFormatVersion) {
  ByteWriter w;
  w.raw(kEngineMagic, sizeof kEngineMagic);
  w.u32(version);
  w.u32(0);
  w.u64(payload.size());
  w.u64(checksum64(payload.data(), payload.size()));
  w.raw(payload.data(), payload.size());
  return w.take();
}

ByteWriter cpu_target_payload() {
  ByteWriter w;
  w.str("0.1.0");
  w.str("cpu");
  w.str("");
  w.u64(0);  // no plugin ops
  w.str("fp32");
  w.u64(0);  // no shape profiles
  w.u64(0);  // an empty tuning cache
  w.u64(0);  // no disabled passes
  w.u64(0);  // no rewrites
  return w;
}

// Every single-bit change, in the 32-byte blocks, the word tail and the byte tail, and every
// length change must show; the value must not depend on where the bytes sit in memory.
TEST(EngineFile, ChecksumSeesEveryBitAndLength) {
  std::string bytes(75, '\0');  // two blocks, one tail word, three tail bytes
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = char(i * 37 + 11);
  const uint64_t base = checksum64(bytes.data(), bytes.size());
  std::set<uint64_t> seen{base};
  for (size_t i = 0; i < bytes.size(); ++i)
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = bytes;
      flipped[i] = char(flipped[i] ^ (1 << bit));
      EXPECT_TRUE(seen.insert(checksum64(flipped.data(), flipped.size())).second) << "byte " << i << " bit " << bit;
    }
  for (size_t n = 0; n < bytes.size(); ++n)
    EXPECT_TRUE(seen.insert(checksum64(bytes.data(), n)).second) << "length " << n;
  EXPECT_TRUE(seen.insert(checksum64(std::string(75, '\0').data(), 75)).second);  // zeros differ from nothing
  std::string shifted = "x" + bytes;
  EXPECT_EQ(checksum64(shifted.data() + 1, bytes.size()), base);
  // Pinned: a change of the function is a change of the file format (kEngineFormatVersion).
  EXPECT_EQ(checksum64("kiln", 4), 0x95c223215ca80c0cull);
  EXPECT_EQ(checksum64("", 0), 0xba1242557dd3eef5ull);
}

TEST(EngineFile, RoundTripKeepsEveryField) {
  Graph g = sample_graph();
  std::string bytes = engine_to_bytes(g, {"cuda", "sm_90"});
  ASSERT_EQ(std::string(bytes.data(), 8), std::string(kEngineMagic, 8));
  Engine e = engine_from_bytes(bytes, "engine file m.kiln");
  EXPECT_EQ(e.target.device, "cuda");
  EXPECT_EQ(e.target.arch, "sm_90");
  EXPECT_EQ(e.kiln_version, KILN_VERSION);
  expect_same_graph(g, e.graph);
  // Written again, the loaded graph gives the same bytes: nothing lost, nothing reordered.
  EXPECT_EQ(engine_to_bytes(e.graph, e.target), bytes);
}

TEST(EngineFile, SaveAndLoadThroughAFile) {
  std::string path = ::testing::TempDir() + "/engine_roundtrip.kiln";
  save_engine(path, sample_graph(), {});
  EXPECT_TRUE(is_engine_file(path));
  Engine e = load_engine(path);
  EXPECT_EQ(e.target.device, "cpu");
  expect_same_graph(sample_graph(), e.graph);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  std::remove(path.c_str());
  EXPECT_FALSE(is_engine_file(path));
}

TEST(EngineFile, RefusesEveryTruncation) {
  std::string bytes = engine_to_bytes(sample_graph(), {});
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::string prefix = bytes.substr(0, n);
    // Empty: nothing there is an engine; a partial magic, header or payload is a truncation.
    expect_refused(prefix, n == 0 ? "not a kiln engine file" : "is truncated", "length " + std::to_string(n));
  }
  expect_refused(bytes + "x", "corrupt");  // trailing bytes
}

TEST(EngineFile, RefusesEveryFlippedByte) {
  std::string bytes = engine_to_bytes(sample_graph(), {});
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] = char(bad[i] ^ (1 << (i % 8)));
    const char* want = i < 8 ? "not a kiln engine file"  // magic
                       : i < 12 ? "format version"       // version
                       : i < 16 ? "corrupt"              // reserved
                       : i < 24 ? ""                     // payload size: truncated or corrupt
                                : "corrupt";             // checksum, payload
    expect_refused(bad, want, "byte " + std::to_string(i));
  }
}

TEST(EngineFile, RefusesOtherFormatVersions) {
  std::string bytes = engine_to_bytes(sample_graph(), {});
  // Format 1 (before the plugin-op block) included: its payload no longer parses.
  for (uint32_t v : {0u, kEngineFormatVersion - 1, kEngineFormatVersion + 1, 0xffffffffu}) {
    std::string bad = bytes;
    for (int i = 0; i < 4; ++i) bad[size_t(8 + i)] = char((v >> (8 * i)) & 0xff);
    expect_refused(bad, "has engine format version " + std::to_string(v) + "; this kiln");
    expect_refused(bad, "kiln build");
  }
}

TEST(EngineFile, RefusesNotAnEngine) {
  expect_refused("\x08\x07\x12\x04onnx-ish protobuf bytes", "not a kiln engine file");
  expect_refused(std::string(64, '\0'), "not a kiln engine file");
}

TEST(EngineFile, RefusesOtherDeviceOrArchitecture) {
  Engine cuda = engine_from_bytes(engine_to_bytes(sample_graph(), {"cuda", "sm_90"}), "x");
  Engine cpu = engine_from_bytes(engine_to_bytes(sample_graph(), {"cpu", ""}), "x");
  auto refused = [](const Engine& e, const EngineTarget& want, const std::string& fragment) {
    try {
      check_engine_target(e, want, "m.kiln");
      ADD_FAILURE() << "accepted " << e.target.to_string() << " for " << want.to_string();
    } catch (const Error& err) {
      EXPECT_EQ(err.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(err.what()).find(fragment), std::string::npos) << err.what();
      EXPECT_NE(std::string(err.what()).find("m.kiln"), std::string::npos) << err.what();
    }
  };
  refused(cuda, {"cpu", ""}, "was built for cuda sm_90, not cpu: run it with --device cuda");
  refused(cpu, {"cuda", "sm_90"}, "was built for cpu, not cuda");
  refused(cuda, {"cuda", "sm_80"}, "was built for cuda sm_90, but this GPU is sm_80: rebuild it");
  EXPECT_NO_THROW(check_engine_target(cuda, {"cuda", "sm_90"}, "m.kiln"));
  EXPECT_NO_THROW(check_engine_target(cpu, {"cpu", ""}, "m.kiln"));
}

// Checksum-valid files with absurd sizes are refused before kiln allocates anything.
TEST(EngineFile, RefusesAbsurdSizesBeforeAllocating) {
  {
    ByteWriter w = cpu_target_payload();
    w.u64(uint64_t(1) << 62);  // the graph name's length
    expect_refused(sealed(w.bytes()), "exceeds the file");
  }
  {
    ByteWriter w = cpu_target_payload();
    w.str("");
    w.u64(uint64_t(1) << 40);  // value count
    expect_refused(sealed(w.bytes()), "exceeds the file");
  }
  {  // one constant of 2^40 x 2^40 floats
    ByteWriter w = cpu_target_payload();
    w.str("");
    w.u64(1);
    w.str("w");
    w.str("w");
    w.u8(uint8_t(DType::kF32));
    w.u8(0);  // no shape
    w.u8(1);  // constant
    w.u8(uint8_t(DType::kF32));
    w.u64(2);
    w.i64(int64_t(1) << 40);
    w.i64(int64_t(1) << 40);
    expect_refused(sealed(w.bytes()), "a tensor larger than the file");
  }
  {  // a negative dim
    ByteWriter w = cpu_target_payload();
    w.str("");
    w.u64(1);
    w.str("w");
    w.str("w");
    w.u8(uint8_t(DType::kF32));
    w.u8(0);
    w.u8(1);
    w.u8(uint8_t(DType::kF32));
    w.u64(1);
    w.i64(-4);
    expect_refused(sealed(w.bytes()), "negative tensor dimension");
  }
  {  // an unknown dtype code
    ByteWriter w = cpu_target_payload();
    w.str("");
    w.u64(1);
    w.str("w");
    w.str("w");
    w.u8(200);
    expect_refused(sealed(w.bytes()), "unknown dtype code 200");
  }
}

TEST(EngineFile, RefusesDanglingNamesAndUnknownOps) {
  Graph g = sample_graph();
  g.nodes[0].inputs[1] = "nowhere";
  expect_refused(engine_to_bytes(g, {}), "refers to unknown value 'nowhere'");
  g = sample_graph();
  g.outputs.push_back("ghost");
  expect_refused(engine_to_bytes(g, {}), "refers to unknown value 'ghost'");
  g = sample_graph();
  std::swap(g.nodes[0], g.nodes[1]);  // Clip now reads y before Add produces it
  expect_refused(engine_to_bytes(g, {}), "reads 'y' before it is produced");
  g = sample_graph();
  g.nodes[1].outputs = {"y"};
  expect_refused(engine_to_bytes(g, {}), "'y' is produced twice");
  g = sample_graph();
  g.nodes[0].op_type = "FutureOp";
  try {
    engine_from_bytes(engine_to_bytes(g, {}), "engine file m.kiln");
    ADD_FAILURE() << "accepted an unknown op";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("uses op FutureOp"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kiln

namespace kiln {
namespace {

TEST(EngineFile, PeekReadsTheTargetWithoutTheGraph) {
  std::string path = ::testing::TempDir() + "/engine_peek.kiln";
  save_engine(path, sample_graph(), {"cuda", "sm_90"});
  EngineTarget t = peek_engine_target(path);
  EXPECT_EQ(t.device, "cuda");
  EXPECT_EQ(t.arch, "sm_90");
  std::string bytes = engine_to_bytes(sample_graph(), {});
  bytes[8] = char(kEngineFormatVersion + 1);  // another version: peeking refuses as loading does
  std::ofstream(path, std::ios::binary) << bytes;
  try {
    peek_engine_target(path);
    ADD_FAILURE() << "peeked another version";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("format version " + std::to_string(kEngineFormatVersion + 1)), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
}

TEST(EngineFile, PeekFromBytesTellsWhenItCannot) {
  std::string bytes = engine_to_bytes(sample_graph(), {"cuda", "sm_90"});
  auto t = peek_engine_target_head(std::string_view(bytes).substr(0, 4096), "e.kiln");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->arch, "sm_90");
  EXPECT_FALSE(peek_engine_target_head(std::string_view(bytes).substr(0, 12), "e.kiln"));
  EXPECT_FALSE(peek_engine_target_head("", "e.kiln"));
  bytes[8] = char(kEngineFormatVersion + 1);
  EXPECT_FALSE(peek_engine_target_head(bytes, "e.kiln"));
}

}  // namespace
}  // namespace kiln
