// The rewrite record behind `kiln inspect --fusions` and `kiln build --disable-pass`: one record
// per independent rewrite, with the nodes it replaced and added; a skipped pass records nothing
// and leaves its pattern in place; the record and the skip list travel in the engine file.
#include <algorithm>

#include "fusion_test_util.h"
#include "passes/fusion_record.h"
#include "runtime/engine/engine_file.h"
#include "runtime/specialize.h"

namespace kiln {
namespace {

using test::ModelBuilder;

// Two independent torch-style GELUs, y1 = gelu(x1), y2 = gelu(x2), then y = y1 + y2.
ModelBuilder two_gelus(int64_t batch = 2) {
  ModelBuilder b;
  b.input("x1", DType::kF32, {batch, 7}).input("x2", DType::kF32, {batch, 7}).output("y", DType::kF32);
  b.initializer("sqrt2", Tensor::scalar<float>(1.41421356f)).initializer("one", Tensor::scalar<float>(1.f));
  b.initializer("half", Tensor::scalar<float>(0.5f));
  for (std::string i : {"1", "2"}) {
    b.node("Div", {"x" + i, "sqrt2"}, {"d" + i}).set_name("div" + i);
    b.node("Erf", {"d" + i}, {"e" + i}).set_name("erf" + i);
    b.node("Add", {"e" + i, "one"}, {"s" + i}).set_name("add" + i);
    b.node("Mul", {"x" + i, "s" + i}, {"p" + i}).set_name("mul" + i);
    b.node("Mul", {"p" + i, "half"}, {"y" + i}).set_name("half" + i);
  }
  b.node("Add", {"y1", "y2"}, {"y"}).set_name("sum");
  return b;
}

std::vector<std::string> names(const std::vector<NodeRef>& refs) {
  std::vector<std::string> out;
  for (const auto& r : refs) out.push_back(r.name);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<FusionRecord> of_pass(const PassReport& r, const std::string& pass) {
  std::vector<FusionRecord> out;
  std::copy_if(r.rewrites.begin(), r.rewrites.end(), std::back_inserter(out),
               [&](const FusionRecord& f) { return f.pass == pass; });
  return out;
}

TEST(FusionRecord, OneRecordPerIndependentRewrite) {
  PassReport r;
  Graph g = test::fused_graph(two_gelus(), &r);
  ASSERT_EQ(test::count_op(g, "Gelu"), 2);
  std::vector<FusionRecord> gelus = of_pass(r, "fuse_gelu");
  ASSERT_EQ(gelus.size(), 2u);
  std::sort(gelus.begin(), gelus.end(), [](const auto& a, const auto& b) { return names(a.replaced) < names(b.replaced); });
  for (int i = 0; i < 2; ++i) {
    const std::string k = std::to_string(i + 1);
    EXPECT_EQ(names(gelus[i].replaced), (std::vector<std::string>{"add" + k, "div" + k, "erf" + k, "half" + k, "mul" + k}));
    ASSERT_EQ(gelus[i].added.size(), 1u);
    EXPECT_EQ(gelus[i].added[0].op, "Gelu");
  }
}

TEST(FusionRecord, RewiredNodeJoinsTheRewriteThatFeedsIt) {
  // before: a -> b -> c; after: a -> c' (b gone, c rewired to read a's output)
  std::vector<NodeSignature> before = {{{"Relu", "a"}, {"x"}, {"t1"}},
                                       {{"Identity", "b"}, {"t1"}, {"t2"}},
                                       {{"Neg", "c"}, {"t2"}, {"y"}},
                                       {{"Neg", "other"}, {"x"}, {"z"}}};
  std::vector<NodeSignature> after = {{{"Relu", "a"}, {"x"}, {"t1"}}, {{"Neg", "c"}, {"t1"}, {"y"}}, before[3]};
  std::vector<FusionRecord> recs = diff_rewrites("eliminate_noops", before, after);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(names(recs[0].replaced), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(names(recs[0].added), (std::vector<std::string>{"c"}));
  EXPECT_TRUE(diff_rewrites("x", before, before).empty());
}

TEST(FusionRecord, DisabledPassLeavesItsPatternAndRecordsNothing) {
  Graph g = import_onnx_bytes(two_gelus().bytes(), ".", "m.onnx", {});
  PassReport r = run_passes(g, {"fuse_gelu", "fuse_elementwise"}, /*record_rewrites=*/true);
  EXPECT_EQ(test::count_op(g, "Gelu"), 0);
  EXPECT_EQ(test::count_op(g, "Erf"), 2);
  EXPECT_TRUE(of_pass(r, "fuse_gelu").empty());
  EXPECT_EQ(r.fused.at("fuse_gelu"), 0);
}

TEST(FusionRecord, UnknownPassNameIsAUserError) {
  Graph g = import_onnx_bytes(two_gelus().bytes(), ".", "m.onnx", {});
  try {
    run_passes(g, {"fuse_everything"});
    ADD_FAILURE() << "accepted an unknown pass";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("no rewrite pass is named 'fuse_everything'; the passes are fuse_int8_matmul, fuse_int8_conv, fuse_ms_deform_attn"),
              std::string::npos)
        << e.what();
  }
}

TEST(FusionRecord, TravelsInTheEngineFileAndSpecializingKeepsPassesDisabled) {
  // A symbolic batch: running the engine re-optimizes for the batch, without the disabled pass.
  ModelBuilder b = two_gelus(-1);
  Graph g = import_onnx_bytes(b.bytes(), ".", "m.onnx", {});
  EngineBuild eb;
  eb.disabled_passes = {"fuse_gelu", "fuse_elementwise"};  // which would take the unfused GELU
  optimize_for_engine(g, eb);
  EXPECT_TRUE(eb.rewrites.empty());  // the disabled GELU fusion is the only rewrite this graph has
  eb.rewrites.push_back({"fuse_gelu", {{"Div", "div1"}, {"Erf", "erf1"}}, {{"Gelu", "half1"}}});  // the file's share
  Engine e = engine_from_bytes(engine_to_bytes(g, EngineTarget{}, eb), "e.kiln");
  EXPECT_EQ(e.build.disabled_passes, eb.disabled_passes);
  ASSERT_EQ(e.build.rewrites.size(), eb.rewrites.size());
  for (size_t i = 0; i < eb.rewrites.size(); ++i) {
    EXPECT_EQ(e.build.rewrites[i].pass, eb.rewrites[i].pass);
    EXPECT_EQ(e.build.rewrites[i].replaced, eb.rewrites[i].replaced);
    EXPECT_EQ(e.build.rewrites[i].added, eb.rewrites[i].added);
  }
  Graph s = specialize(e.graph, {{"x1", {3, 7}}, {"x2", {3, 7}}}, e.build, "e.kiln");
  EXPECT_EQ(test::count_op(s, "Gelu"), 0);
  EngineBuild all = e.build;
  all.disabled_passes = {"fuse_elementwise"};
  EXPECT_EQ(test::count_op(specialize(e.graph, {{"x1", {3, 7}}, {"x2", {3, 7}}}, all, "e.kiln"), "Gelu"), 2);
}

}  // namespace
}  // namespace kiln
