// The mixed forms fp16 engines use (precision_islands.h): Conv and kiln.FusedMatMul with
// float16 operands writing float32 (Y takes the float32 bias's type), and LayerNormalization
// reading one of float32/float16 and writing the other (Y takes Scale's type). Each must equal
// the all-float32 op on the float16-rounded operands, and other mixes must stay invalid.
#include "harness.h"
#include "ir/dtype.h"

namespace kiln::test {
namespace {

Tensor cast_to(const Tensor& t, DType dt) {
  Tensor out(dt, t.dims());
  std::vector<double> v = to_doubles(t);
  visit_dtype(dt, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_void_v<T> && !std::is_same_v<T, bool>) {
      T* p = out.data<T>();
      for (size_t i = 0; i < v.size(); ++i) p[i] = from_double<T>(v[i]);
    }
  });
  return out;
}

// Runs `mixed` and the same call with every input widened to float32; Y must be float32 and equal.
void expect_mixed_equals_f32(const OpCall& mixed, double tol) {
  OpCall wide = mixed;
  for (Tensor& t : wide.inputs)
    if (t.defined() && t.dtype() == DType::kF16) t = cast_to(t, DType::kF32);
  Tensor got = run_op(mixed)[0], want = run_op(wide)[0];
  EXPECT_EQ(got.dtype(), DType::kF32);
  expect_close(got, to_doubles(want), tol, tol);
}

TEST(MixedPrecisionOps, FusedMatMulWritesFloat32FromFloat16Operands) {
  for (bool residual : {false, true}) {
    OpCall c{"FusedMatMul",
             {random_tensor(DType::kF16, {2, 17, 33}, 1), random_tensor(DType::kF16, {33, 9}, 2),
              random_tensor(DType::kF32, {9}, 3)}};
    c.domain = "kiln";
    c.opset = 1;
    c.attrs.set("activation", std::string("gelu"));
    if (residual) c.inputs.push_back(random_tensor(DType::kF32, {2, 17, 9}, 4));
    SCOPED_TRACE(residual ? "residual" : "no residual");
    expect_mixed_equals_f32(c, 0);  // the same float GEMM and epilogue: bit-identical
  }
}

TEST(MixedPrecisionOps, ConvWritesFloat32FromFloat16Operands) {
  OpCall c{"Conv",
           {random_tensor(DType::kF16, {2, 3, 17, 15}, 5), random_tensor(DType::kF16, {4, 3, 3, 3}, 6),
            random_tensor(DType::kF32, {4}, 7)}};
  c.attrs.set("strides", std::vector<int64_t>{2, 2});
  c.attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  expect_mixed_equals_f32(c, 0);
}

TEST(MixedPrecisionOps, LayerNormOutputTakesScalesType) {
  for (DType x : {DType::kF32, DType::kF16}) {
    const DType y = x == DType::kF32 ? DType::kF16 : DType::kF32;
    OpCall c{"LayerNormalization",
             {random_tensor(x, {3, 5, 64}, 8, -4, 4), random_tensor(y, {64}, 9), random_tensor(y, {64}, 10)}};
    OpCall wide = c;
    for (Tensor& t : wide.inputs) t = cast_to(t, DType::kF32);
    Tensor got = run_op(c)[0], want = run_op(wide)[0];
    EXPECT_EQ(got.dtype(), y);
    // float32 out: the same double math; float16 out: one rounding of the same value.
    expect_close(got, to_doubles(want), y == DType::kF32 ? 1e-6 : 1e-3, y == DType::kF32 ? 1e-6 : 1e-3);
  }
}

TEST(MixedPrecisionOps, OtherMixesStayInvalid) {
  OpCall mm{"FusedMatMul",
            {random_tensor(DType::kF32, {4, 8}, 1), random_tensor(DType::kF32, {8, 2}, 2),
             random_tensor(DType::kF16, {2}, 3)}};  // f16 bias with f32 operands
  mm.domain = "kiln";
  mm.opset = 1;
  EXPECT_EQ(error_code_of(mm), ErrorCode::kInvalidModel);
  mm.inputs = {random_tensor(DType::kF16, {4, 8}, 1), random_tensor(DType::kF16, {8, 2}, 2),
               random_tensor(DType::kF32, {2}, 3), random_tensor(DType::kF16, {4, 2}, 4)};  // residual ≠ bias type
  EXPECT_EQ(error_code_of(mm), ErrorCode::kInvalidModel);

  OpCall conv{"Conv",
              {random_tensor(DType::kF16, {1, 2, 5, 5}, 5), random_tensor(DType::kF32, {3, 2, 1, 1}, 6)}};  // W ≠ X
  EXPECT_EQ(error_code_of(conv), ErrorCode::kInvalidModel);
  OpCall convt{"ConvTranspose",
               {random_tensor(DType::kF16, {1, 2, 5, 5}, 5), random_tensor(DType::kF16, {2, 3, 1, 1}, 6),
                random_tensor(DType::kF32, {3}, 7)}};  // mixed only for Conv
  EXPECT_EQ(error_code_of(convt), ErrorCode::kInvalidModel);

  OpCall ln{"LayerNormalization",
            {random_tensor(DType::kF64, {2, 8}, 8), random_tensor(DType::kF16, {8}, 9), random_tensor(DType::kF16, {8}, 10)}};
  EXPECT_EQ(error_code_of(ln), ErrorCode::kInvalidModel);
  ln.inputs = {random_tensor(DType::kF32, {2, 8}, 8), random_tensor(DType::kF16, {8}, 9),
               random_tensor(DType::kF32, {8}, 10)};  // Scale and B differ
  EXPECT_EQ(error_code_of(ln), ErrorCode::kInvalidModel);
}

}  // namespace
}  // namespace kiln::test
