// fuse_dwconv_activation: the Relu or GELU after a token-layout depthwise conv goes into the
// conv's store; the numbers stay (fp32: the same float math; fp16: one rounding fewer), and it
// leaves alone activations it cannot fuse or whose input is read elsewhere.
#include <gtest/gtest.h>

#include <filesystem>

#include "../model/model_compare.h"
#include "../ops/harness.h"
#include "onnx/importer.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"
#include "token_conv_chain_model.h"

namespace kiln {
namespace {

using test::Chain;

struct Outcome {
  int fired = 0;
  std::map<std::string, int> ops;
  Graph g;
  double rel_l2 = 0;  // of y against the graph without this pass
};

Outcome run(const Chain& ch) {
  const std::string bytes = test::build(ch);
  Graph plain = import_onnx_bytes(bytes, ".", "m.onnx");
  Graph g = import_onnx_bytes(bytes, ".", "m.onnx");
  run_passes(plain, {"fuse_dwconv_activation"});
  const int fired = run_passes(g).fused.at("fuse_dwconv_activation");
  TensorMap feeds;
  uint64_t seed = 5;
  for (const std::string& in : plain.inputs)
    feeds[in] = test::random_tensor(ch.dt, shape_dims(*plain.value(in).type.shape), seed++, -3, 3);
  TensorMap want = CpuExecutor(plain).run(feeds), got = CpuExecutor(g).run(feeds);
  Outcome o{fired, g.op_histogram(), std::move(g), 0};
  o.rel_l2 = test::compare_to_golden(got.at("y"), want.at("y")).rel_l2;
  return o;
}

TEST(FuseDwconvActivation, ReluAndGeluGoIntoTheConv) {
  Outcome relu = run({});
  EXPECT_EQ(relu.fired, 1);
  EXPECT_EQ(relu.ops, (std::map<std::string, int>{{"kiln.DepthwiseConvNHWC", 1}}));
  const Node& n = relu.g.nodes.at(0);
  EXPECT_EQ(n.attrs.get_string("activation"), "relu");
  EXPECT_EQ(n.name, "tail");
  EXPECT_EQ(n.outputs, (std::vector<std::string>{"y"}));
  EXPECT_EQ(relu.rel_l2, 0);

  Outcome gelu = run({.tail = "gelu"});
  EXPECT_EQ(gelu.fired, 1);
  EXPECT_EQ(gelu.ops, (std::map<std::string, int>{{"kiln.DepthwiseConvNHWC", 1}}));
  EXPECT_EQ(gelu.g.nodes.at(0).attrs.get_string("activation"), "gelu");
  EXPECT_EQ(gelu.rel_l2, 0);  // the Gelu op and the conv apply the same float function
}

TEST(FuseDwconvActivation, HalfRoundsOnce) {
  Outcome o = run({.dt = DType::kF16, .tail = "gelu"});
  EXPECT_EQ(o.fired, 1);
  EXPECT_GT(o.rel_l2, 0);     // the unfused graph rounds the conv's sum to fp16 first
  EXPECT_LT(o.rel_l2, 1e-3);  // within fp16's rounding
}

TEST(FuseDwconvActivation, RefusesWhatItCannotFuse) {
  EXPECT_EQ(run({.tail = "Sigmoid"}).fired, 0);
  Outcome shared = run({.second_use = "t2"});  // the conv's output also feeds another Relu
  EXPECT_EQ(shared.fired, 0);
  EXPECT_EQ(shared.ops.at("Relu"), 2);
  EXPECT_EQ(run({.as_output = "t2"}).fired, 0);  // ... or is a graph output
  // Without the conv fusion there is no DepthwiseConvNHWC to take the activation.
  EXPECT_EQ(run({.group = 1, .w_in = 6}).fired, 0);
}

TEST(FuseDwconvActivation, SegformerTinyEveryMixFfnGelu) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(KILN_TEST_DIR) / "models" / "segformer_tiny";
  ImportOptions import;
  TensorMap feeds = test::reference_inputs(dir, &import);
  Graph plain = import_onnx_file((dir / "model.onnx").string(), import);
  Graph g = import_onnx_file((dir / "model.onnx").string(), import);
  run_passes(plain, {"fuse_dwconv_activation"});
  EXPECT_EQ(run_passes(g).fused.at("fuse_dwconv_activation"), 4);  // one per MixFFN
  EXPECT_EQ(plain.op_histogram().at("Gelu") - g.op_histogram()["Gelu"], 4);
  const Tensor got = CpuExecutor(g).run(feeds).at("logits");
  EXPECT_TRUE(got.same_bytes(CpuExecutor(plain).run(feeds).at("logits")));
  const Tensor want = read_npy((dir / "golden" / "logits.npy").string());
  EXPECT_LE(test::compare_to_golden(got, want).rel_l2, 1e-5);
}

}  // namespace
}  // namespace kiln
