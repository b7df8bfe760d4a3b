// An fp16 engine with symbolic inputs runs, at each shape, the graph that a static fp16 build of
// that shape runs: it is stored as imported, and specialize optimizes and converts each shape.
// (Optimized and converted while symbolic, the passes that match only static shapes met an
// fp16 graph later -- MSDeformAttn's sampling locations already rounded -- and the symbolic
// graph's partial fusions changed what the others could take: 9 more Adds in anchor_detr_tiny.)
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "fusion_test_util.h"
#include "io/npy.h"
#include "onnx/importer.h"
#include "runtime/cpu_executor.h"
#include "runtime/specialize.h"

namespace kiln {
namespace {

const std::string kModel = std::string(KILN_TEST_DIR) + "/models/anchor_detr_tiny/model.onnx";

std::vector<std::string> op_sequence(const Graph& g) {
  std::vector<std::string> ops;
  for (const Node& n : g.nodes) ops.push_back(n.domain + "." + n.op_type);
  return ops;
}

// Values the nodes write, by storage type.
std::map<DType, int> written_types(const Graph& g) {
  std::map<DType, int> n;
  for (const Node& node : g.nodes)
    for (const auto& out : node.outputs) ++n[g.value(out).type.dtype];
  return n;
}

bool has_float16(const Graph& g) { return written_types(g).count(DType::kF16) > 0; }

TEST(SpecializeFp16, DynamicEngineShapeRunsTheStaticBuildsGraph) {
  const std::string dir = std::string(KILN_TEST_DIR) + "/models/anchor_detr_tiny/inputs/";
  const TensorMap feeds{{"image", read_npy(dir + "image.npy")}, {"padding_mask", read_npy(dir + "padding_mask.npy")}};
  std::map<std::string, Dims> dims;
  for (const auto& [name, t] : feeds) dims[name] = t.dims();

  Graph dynamic = import_onnx_file(kModel, {});
  EngineBuild db;
  db.precision = "fp16";
  optimize_for_engine(dynamic, db);
  ASSERT_TRUE(converts_per_shape(dynamic, db));
  EXPECT_FALSE(has_float16(dynamic)) << "a symbolic fp16 engine stores its graph as imported";
  const Graph s = specialize(dynamic, dims, db, "e.kiln");
  EXPECT_TRUE(has_float16(s));

  ImportOptions fixed;
  fixed.input_shapes = dims;
  Graph st = import_onnx_file(kModel, fixed);
  EngineBuild sb;
  sb.precision = "fp16";
  optimize_for_engine(st, sb);
  ASSERT_FALSE(converts_per_shape(st, sb));

  EXPECT_EQ(op_sequence(s), op_sequence(st));
  EXPECT_EQ(written_types(s), written_types(st));
  const TensorMap a = CpuExecutor(s).run(feeds);
  const TensorMap b = CpuExecutor(st).run(feeds);
  for (const auto& [name, t] : b) EXPECT_TRUE(a.at(name).same_bytes(t)) << name;
}

// A static fp16 build converts at build time and specializing it again changes nothing.
TEST(SpecializeFp16, StaticGraphIsConvertedOnce) {
  std::map<std::string, Dims> dims{{"image", {1, 3, 64, 96}}, {"padding_mask", {1, 64, 96}}};
  ImportOptions fixed;
  fixed.input_shapes = dims;
  Graph st = import_onnx_file(kModel, fixed);
  EngineBuild sb;
  sb.precision = "fp16";
  optimize_for_engine(st, sb);
  EXPECT_TRUE(has_float16(st));
  EXPECT_EQ(op_sequence(specialize(st, dims, sb, "e.kiln")), op_sequence(st));
}

}  // namespace
}  // namespace kiln
