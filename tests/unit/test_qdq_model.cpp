// A model in the explicit Q/DQ form quantizers write: x -> QuantizeLinear -> DequantizeLinear ->
// MatMul with DequantizeLinear(int8 weights, per-column scales). Run on the CPU reference and
// checked against the same math written out; the weights' DequantizeLinear folds to a constant.
#include <gtest/gtest.h>

#include <cmath>

#include "../ops/harness.h"
#include "onnx/importer.h"
#include "onnx_builder.h"
#include "passes/convert_precision.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"

namespace kiln {
namespace {

constexpr float sx = 0.05f;
constexpr int8_t zx = 3;
const std::vector<float> sw = {0.01f, 0.02f, 0.04f, 0.5f};

test::ModelBuilder qdq_model(int opset, const Tensor& w) {
  test::ModelBuilder b(opset);
  b.input("x", DType::kF32, {2, 3}).output("y", DType::kF32);
  b.initializer("sx", Tensor::scalar<float>(sx));
  b.initializer("zx", Tensor::scalar<int8_t>(zx));
  b.initializer("w", w);
  b.initializer("sw", Tensor::from_vector<float>({4}, sw));
  b.node("QuantizeLinear", {"x", "sx", "zx"}, {"xq"});
  b.node("DequantizeLinear", {"xq", "sx", "zx"}, {"xd"});
  auto& dw = b.node("DequantizeLinear", {"w", "sw"}, {"wd"});
  test::set_int_attr(dw, "axis", 1);
  b.node("MatMul", {"xd", "wd"}, {"y"});
  return b;
}

TEST(QdqModel, QuantizedMatMulMatchesWrittenOutMath) {
  Tensor w = test::random_tensor(DType::kI8, {3, 4}, 5, -128, 127);
  Graph g = import_onnx_bytes(qdq_model(13, w).bytes(), ".", "qdq.onnx");
  run_passes(g);
  EXPECT_EQ(g.op_histogram(), (std::map<std::string, int>{{"DequantizeLinear", 1}, {"MatMul", 1}, {"QuantizeLinear", 1}}));

  Tensor x = test::random_tensor(DType::kF32, {2, 3}, 6, -7, 7);
  Tensor y = CpuExecutor(g).run({{"x", x}}).at("y");
  const float* xv = x.data<float>();
  const int8_t* wv = w.data<int8_t>();
  std::vector<double> want;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j) {
      float s = 0;
      for (int k = 0; k < 3; ++k) {
        const double q = std::fmin(127, std::fmax(-128, std::nearbyint(double(xv[i * 3 + k] / sx)) + zx));
        const float xd = float((q - zx) * sx);
        const float wd = float(double(wv[k * 4 + j]) * sw[size_t(j)]);
        s += xd * wd;
      }
      want.push_back(s);
    }
  // float32 sums in another order than the GEMM's: a few ulps.
  test::expect_close(y, want, 1e-6, 1e-6);
}

// Opset 19 lets Q/DQ take float16 scales (and QuantizeLinear a float16 x), so the fp16 engine
// conversion could round them; it must keep them float32, with a Cast back to fp16 after the
// activation's DequantizeLinear for the fp16 MatMul.
TEST(QdqModel, Fp16ConversionKeepsQuantizationFloat32) {
  Tensor w = test::random_tensor(DType::kI8, {3, 4}, 5, -128, 127);
  Graph g = import_onnx_bytes(qdq_model(19, w).bytes(), ".", "qdq.onnx");
  run_passes(g);
  Tensor x = test::random_tensor(DType::kF32, {2, 3}, 6, -7, 7);
  Tensor y32 = CpuExecutor(g).run({{"x", x}}).at("y");
  convert_to_fp16(g);
  int checked = 0;
  for (const Node& n : g.nodes) {
    if (n.op_type != "QuantizeLinear" && n.op_type != "DequantizeLinear") continue;
    for (size_t s = n.op_type == "QuantizeLinear" ? 0 : 1; s < 2; ++s, ++checked)
      EXPECT_EQ(g.value(n.inputs[s]).type.dtype, DType::kF32) << n.op_type << " input " << s;
  }
  EXPECT_EQ(checked, 3);
  EXPECT_EQ(g.op_histogram().at("MatMul"), 1);
  Tensor y16 = CpuExecutor(g).run({{"x", x}}).at("y");
  // Only the MatMul runs in fp16: its operands' and result's rounding, 2^-11 relative each.
  test::expect_close(y16, test::to_doubles(y32), 1e-2, 2e-3);
}

// kiln has no float8 types: a float8 zero point (opset 19) is refused on import as unsupported.
TEST(QdqModel, Float8ZeroPointIsUnsupported) {
  test::ModelBuilder b(19);
  b.input("x", DType::kF32, {2}).output("y", DType::kF32);
  b.initializer("s", Tensor::scalar<float>(1.0f));
  onnx::TensorProto* z = b.proto().mutable_graph()->add_initializer();
  z->set_name("z");
  z->set_data_type(17);  // FLOAT8E4M3FN (newer than the onnx.proto kiln builds against)
  z->add_int32_data(0);
  b.node("QuantizeLinear", {"x", "s", "z"}, {"q"});
  b.node("DequantizeLinear", {"q", "s", "z"}, {"y"});
  try {
    import_onnx_bytes(b.bytes(), ".", "f8.onnx");
    ADD_FAILURE() << "a float8 zero point was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported) << e.what();
  }
}

}  // namespace
}  // namespace kiln
