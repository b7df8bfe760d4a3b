// kiln.MixFFN's output LayerNorm (inputs S2, Bn2; fuse_mix_ffn_norm's): the CPU reference is the
// plain node's followed by LayerNormalization's (the same bits, float32 and float16 streams; Y
// float16 either way), and the one-line refusals of a lone S2, S2 of another type or length, and a
// non-positive norm_epsilon.
#include <gtest/gtest.h>

#include "harness.h"
#include "ops/conv/mix_ffn.h"

namespace kiln::test {
namespace {

// A MixFFN of a 3 x 5 image, C channels, 64 hidden, X of type x; with S2 and Bn2 where `normed`.
OpCall make_call(DType x, int64_t c, bool normed) {
  constexpr int64_t kH = 3, kW = 5, kHd = 64;
  OpCall call{conv::kMixFfnOp};
  call.domain = kKilnDomain;
  const DType h = DType::kF16;
  call.inputs = {random_tensor(x, {2, kH * kW, c}, 1),
                 random_tensor(h, {c}, 2, 0.5, 1.5),
                 random_tensor(h, {c}, 3, -0.2, 0.2),
                 random_tensor(h, {c, kHd}, 4, -0.3, 0.3),
                 random_tensor(h, {kHd}, 5, -0.1, 0.1),
                 random_tensor(h, {kHd, 1, 3, 3}, 6, -0.4, 0.4),
                 random_tensor(h, {kHd}, 7, -0.1, 0.1),
                 random_tensor(h, {kHd, c}, 8, -0.2, 0.2),
                 random_tensor(x, {c}, 9, -0.1, 0.1)};
  if (normed) {
    call.inputs.push_back(random_tensor(h, {c}, 10, 0.5, 1.5));
    call.inputs.push_back(random_tensor(h, {c}, 11, -0.2, 0.2));
    call.attrs.set("norm_epsilon", 1e-6f);
  }
  call.attrs.set("height", kH);
  call.attrs.set("width", kW);
  call.attrs.set("activation", std::string("gelu"));
  return call;
}

TEST(MixFfnOp, OutputNormIsTheLayerNormAfterThePlainNode) {
  for (DType x : {DType::kF32, DType::kF16}) {
    SCOPED_TRACE(dtype_name(x));
    const OpCall normed = make_call(x, 64, true);
    OpCall plain = normed;
    plain.inputs.resize(conv::kMixInputs);
    OpCall ln{"LayerNormalization"};
    ln.inputs = {run_op(plain).at(0), normed.inputs[conv::kMixNormScale], normed.inputs[conv::kMixNormShift]};
    ln.attrs.set("axis", int64_t(-1));
    ln.attrs.set("epsilon", 1e-6f);
    const Tensor want = run_op(ln).at(0), got = run_op(normed).at(0);
    EXPECT_EQ(got.dtype(), DType::kF16);
    expect_dims(got, want.dims());
    expect_close(got, to_doubles(want), 0.0, 0.0);
  }
}

TEST(MixFfnOp, RefusesABadOutputNormInOneLine) {
  auto invalid = [&](const char* why, const char* says, auto edit) {
    SCOPED_TRACE(why);
    OpCall call = make_call(DType::kF32, 64, true);
    edit(call);
    expect_refused(call, ErrorCode::kInvalidModel, says, "MixFFN 'test_MixFFN': ");
  };
  invalid("S2 alone", "or 11 (and S2, Bn2), got 10", [](OpCall& c) { c.inputs.pop_back(); });
  invalid("S2 float32", "S2 is float32, not float16", [](OpCall& c) { c.inputs[9] = random_tensor(DType::kF32, {64}, 9); });
  invalid("Bn2's length", "Bn2 must be 64, got 32", [](OpCall& c) { c.inputs[10] = random_tensor(DType::kF16, {32}, 9); });
  invalid("norm_epsilon 0", "norm_epsilon must be positive", [](OpCall& c) { c.attrs.set("norm_epsilon", 0.f); });
}

}  // namespace
}  // namespace kiln::test
