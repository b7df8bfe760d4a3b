// A model in the explicit Q/DQ form quantizers write: x -> QuantizeLinear -> DequantizeLinear ->
// MatMul with DequantizeLinear(int8 weights, per-column scales). Run on the CPU reference and
// checked against the same math written out; the weights' DequantizeLinear folds to a constant.
#include <gtest/gtest.h>

#include <cmath>

#include "../ops/harness.h"
#include "onnx/importer.h"
#include "onnx_builder.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"

namespace kiln {
namespace {

TEST(QdqModel, QuantizedMatMulMatchesWrittenOutMath) {
  const float sx = 0.05f;
  const int8_t zx = 3;
  const std::vector<float> sw = {0.01f, 0.02f, 0.04f, 0.5f};
  Tensor w = test::random_tensor(DType::kI8, {3, 4}, 5, -128, 127);

  test::ModelBuilder b(13);
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
  Graph g = import_onnx_bytes(b.bytes(), ".", "qdq.onnx");
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

}  // namespace
}  // namespace kiln
