// The engine's build block (precision, shape profiles, tuning cache) survives a round trip;
// damaged blocks and cache files are refused with one line; shapes outside a profile are
// refused naming the profile; a symbolic engine graph specializes for concrete dims.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <functional>

#include "runtime/engine/byte_archive.h"
#include "runtime/engine/engine_file.h"
#include "runtime/specialize.h"
#include "runtime/tuning_cache.h"

namespace kiln {
namespace {

Graph tiny_graph() {
  Graph g;
  Value x;
  x.name = "x";
  x.type.dtype = DType::kF32;
  x.type.shape = Shape{Dim::symbolic("batch"), Dim(4)};
  g.values[x.name] = x;
  Value y;
  y.name = "y";
  y.type = x.type;
  g.values[y.name] = y;
  Node n;
  n.op_type = "Relu";
  n.name = "relu";
  n.opset = 17;
  n.inputs = {"x"};
  n.outputs = {"y"};
  g.nodes.push_back(n);
  g.inputs = {"x"};
  g.outputs = {"y"};
  return g;
}

EngineBuild sample_build() {
  EngineBuild b;
  b.precision = "fp16";
  b.profiles.push_back({"x", {1, 4}, {4, 4}, {8, 4}});
  b.tuning.put("sm_90/lt1/gemm/f16,1,2,3", std::string("\0\1\2\3", 4));
  b.tuning.put("sm_90/lt1/conv/f16,9", "abc");
  return b;
}

std::string expect_invalid(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    return e.what();
  }
  ADD_FAILURE() << "not refused";
  return "";
}

TEST(EngineBuild, RoundTripKeepsPrecisionProfilesAndTuning) {
  Graph g = tiny_graph();
  EngineBuild b = sample_build();
  Engine e = engine_from_bytes(engine_to_bytes(g, {"cuda", "sm_90"}, b), "engine file m.kiln");
  EXPECT_EQ(e.build.precision, "fp16");
  ASSERT_EQ(e.build.profiles.size(), 1u);
  EXPECT_EQ(e.build.profiles[0].name, "x");
  EXPECT_EQ(e.build.profiles[0].min, (Dims{1, 4}));
  EXPECT_EQ(e.build.profiles[0].opt, (Dims{4, 4}));
  EXPECT_EQ(e.build.profiles[0].max, (Dims{8, 4}));
  EXPECT_EQ(e.build.tuning.entries(), b.tuning.entries());
  EXPECT_EQ(engine_to_bytes(e.graph, e.target, e.build), engine_to_bytes(g, {"cuda", "sm_90"}, b));
}

TEST(EngineBuild, UnknownPrecisionIsRefused) {
  EngineBuild b = sample_build();
  b.precision = "fp8";
  std::string bytes = engine_to_bytes(tiny_graph(), {}, b);
  std::string msg = expect_invalid([&] { engine_from_bytes(bytes, "engine file m.kiln"); });
  EXPECT_NE(msg.find("unknown precision 'fp8'"), std::string::npos) << msg;
}

TEST(EngineBuild, ProfileBoundsAreChecked) {
  EngineBuild b = sample_build();
  check_profile(b, "x", {1, 4}, "m.kiln");
  check_profile(b, "x", {8, 4}, "m.kiln");
  check_profile(b, "other", {100}, "m.kiln");  // no profile: nothing to check
  std::string msg = expect_invalid([&] { check_profile(b, "x", {9, 4}, "m.kiln"); });
  EXPECT_NE(msg.find("outside m.kiln's profile (min 1x4, max 8x4)"), std::string::npos) << msg;
  expect_invalid([&] { check_profile(b, "x", {4}, "m.kiln"); });
}

TEST(EngineBuild, SpecializeFillsSymbolicDims) {
  Graph g = tiny_graph();
  EngineBuild b = sample_build();
  EXPECT_FALSE(matches_static_inputs(g, {{"x", {2, 4}}}));
  Graph s = specialize(g, {{"x", {2, 4}}}, b, "m.kiln");
  EXPECT_TRUE(matches_static_inputs(s, {{"x", {2, 4}}}));
  EXPECT_EQ(shape_dims(*s.value("y").type.shape), (Dims{2, 4}));
  EXPECT_NE(expect_invalid([&] { specialize(g, {{"x", {2, 5}}}, b, "m.kiln"); }).find("has shape"), std::string::npos);
  EXPECT_NE(expect_invalid([&] { specialize(g, {{"x", {16, 4}}}, b, "m.kiln"); }).find("profile"), std::string::npos);
  EXPECT_NE(expect_invalid([&] { specialize(g, {{"z", {1}}}, b, "m.kiln"); }).find("no input named 'z'"),
            std::string::npos);
}

// Passes whose node has only a Hopper kernel are left out of builds for other GPUs, named once,
// beside what the user disabled; Hopper and cpu builds keep them.
TEST(EngineBuild, HopperOnlyPassesOffForOtherGpus) {
  ASSERT_TRUE(hopper_only_pass_names().count("fuse_attention_block"));
  for (const std::string& name : hopper_only_pass_names()) {
    const auto& all = rewrite_pass_names();
    EXPECT_NE(std::find(all.begin(), all.end(), name), all.end()) << name;
  }
  EngineBuild ampere;
  ampere.disabled_passes = {"fuse_gelu"};
  const std::vector<std::string> off = disable_passes_for_target(ampere, {"cuda", "sm_80"});
  EXPECT_EQ(off, std::vector<std::string>(hopper_only_pass_names().begin(), hopper_only_pass_names().end()));
  EXPECT_TRUE(ampere.disabled_passes.count("fuse_attention_block"));
  EXPECT_TRUE(ampere.disabled_passes.count("fuse_gelu"));
  EXPECT_TRUE(disable_passes_for_target(ampere, {"cuda", "sm_80"}).empty());  // already off: not named again
  for (const EngineTarget& keeps : {EngineTarget{"cuda", "sm_90"}, EngineTarget{"cpu", ""}}) {
    EngineBuild b;
    EXPECT_TRUE(disable_passes_for_target(b, keeps).empty()) << keeps.to_string();
    EXPECT_TRUE(b.disabled_passes.empty()) << keeps.to_string();
  }
}

TEST(TuningCacheFile, RoundTripMissingAndDamaged) {
  std::string path = ::testing::TempDir() + "/kiln_tuning.cache";
  std::filesystem::remove(path);
  EXPECT_EQ(TuningCache::load_file(path).size(), 0u);  // missing: empty, made on save
  TuningCache c = sample_build().tuning;
  c.save_file(path);
  EXPECT_EQ(TuningCache::load_file(path).entries(), c.entries());
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::ofstream(path, std::ios::binary) << bytes.substr(0, bytes.size() - 3);
  expect_invalid([&] { TuningCache::load_file(path); });
  std::ofstream(path, std::ios::binary) << "not a cache at all";
  EXPECT_NE(expect_invalid([&] { TuningCache::load_file(path); }).find("not a kiln timing cache"), std::string::npos);
  std::filesystem::remove(path);
}

TEST(TuningCacheFile, MergeLetsTheOtherWin) {
  TuningCache a, b;
  a.put("k1", "a");
  a.put("k2", "a");
  b.put("k2", "b");
  a.merge(b);
  EXPECT_EQ(a.find("k1"), "a");
  EXPECT_EQ(a.find("k2"), "b");
  EXPECT_FALSE(a.find("k3").has_value());
}

}  // namespace
}  // namespace kiln
