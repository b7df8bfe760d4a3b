// A built-in-style op written only against the public C ABI (include/kiln/op.h) and registered
// in-process, no shared library: kiln.Swish (y = x * sigmoid(x), float32). It goes through the
// same path as plugins: import (symbolic dims as -1), shape inference, constant folding, the
// CPU executor and the engine file's plugin-op block.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "../ops/harness.h"
#include "kiln/op.h"
#include "onnx/importer.h"
#include "onnx_builder.h"
#include "ops/plugin/plugin_ops.h"
#include "ops/registry.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"
#include "runtime/engine/engine_file.h"

namespace kiln {
namespace {

extern "C" int swish_infer(const kiln_context* ctx, const kiln_value_type* in, int32_t, kiln_value_type* out,
                           int32_t) {
  if (in[0].dtype != KILN_FLOAT32) {
    ctx->error(ctx, "kiln.Swish takes float32");
    return 1;
  }
  out[0] = in[0];
  return 0;
}

extern "C" int swish_cpu(const kiln_context*, const kiln_tensor* in, int32_t, kiln_tensor* out, int32_t, void*) {
  int64_t n = 1;
  for (int32_t d = 0; d < in[0].rank; ++d) n *= in[0].dims[d];
  auto* x = static_cast<const float*>(in[0].data);
  auto* y = static_cast<float*>(out[0].data);
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] / (1.0f + std::exp(-x[i]));
  return 0;
}

extern "C" int register_swish(kiln_registrar* r) {
  kiln_op_descriptor op;
  std::memset(&op, 0, sizeof op);
  op.abi_version = KILN_OP_ABI_VERSION;
  op.domain = "kiln";
  op.name = "Swish";
  op.since_version = 1;
  op.min_inputs = op.max_inputs = op.min_outputs = op.max_outputs = 1;
  op.infer = swish_infer;
  op.cpu = swish_cpu;
  return r->add_op(r, &op);
}

// Registered once per process (a second registration is refused as a duplicate).
void ensure_registered() {
  static bool once = (register_plugin_ops(register_swish, "in-process kiln.Swish"), true);
  (void)once;
}

test::ModelBuilder swish_model(DType dtype) {
  test::ModelBuilder b;
  auto* imp = b.proto().add_opset_import();
  imp->set_domain("kiln");
  imp->set_version(1);
  b.input("x", dtype, {-1, 4}).output("y", dtype);
  b.node("Swish", {"x"}, {"s"}).set_domain("kiln");
  b.node("Neg", {"s"}, {"y"});
  return b;
}

TEST(CAbiOp, RunsLikeABuiltIn) {
  ensure_registered();
  ASSERT_NE(OpRegistry::instance().find("kiln", "Swish"), nullptr);
  ImportOptions o;
  Graph g = import_onnx_bytes(swish_model(DType::kF32).bytes(), ".", "m.onnx", o);
  run_passes(g);
  // The C ABI has no dim names: the symbolic batch comes back unknown (-1), the rest exact.
  EXPECT_EQ(shape_to_string(*g.value("s").type.shape), "?x4");
  Tensor x = test::random_tensor(DType::kF32, {3, 4}, 5, -3.0, 3.0);
  Tensor y = CpuExecutor(g).run({{"x", x}}).at("y");
  std::vector<double> want;
  for (double v : test::to_doubles(x)) want.push_back(-v / (1.0 + std::exp(-v)));
  test::expect_close(y, want, 1e-6, 1e-6);
}

TEST(CAbiOp, ErrorsComeBackAsKilnErrors) {
  ensure_registered();
  ImportOptions o;
  try {
    Graph g = import_onnx_bytes(swish_model(DType::kI64).bytes(), ".", "m.onnx", o);
    run_passes(g);
    FAIL() << "int64 accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("kiln.Swish takes float32"), std::string::npos) << e.what();
  }
  EXPECT_THROW(register_plugin_ops(register_swish, "again"), Error);  // duplicate name
}

TEST(CAbiOp, EngineRecordsPluginOps) {
  ensure_registered();
  ImportOptions o;
  o.input_shapes["x"] = {2, 4};
  Graph g = import_onnx_bytes(swish_model(DType::kF32).bytes(), ".", "m.onnx", o);
  run_passes(g);
  Engine e = engine_from_bytes(engine_to_bytes(g, EngineTarget{}), "engine");
  ASSERT_EQ(e.plugin_ops.size(), 1u);
  EXPECT_EQ(e.plugin_ops[0].domain, "kiln");
  EXPECT_EQ(e.plugin_ops[0].name, "Swish");
  EXPECT_EQ(e.plugin_ops[0].version, 1u);
}

}  // namespace
}  // namespace kiln
