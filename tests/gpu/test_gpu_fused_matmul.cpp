// kiln.FusedMatMul (cuBLASLt epilogues + the epilogue pass) and Gelu against the CPU reference.
// fp32 runs without TF32, so the GEMM differs only in summation order; fp16 rounds inputs and,
// where the epilogue runs after the GEMM, Y once more before the activation.
#include "gpu_compare.h"

namespace kiln::gpu_test {
namespace {

TEST(GpuFusedMatMul, EveryActivationWithAndWithoutResidual) {
  struct S {
    Dims a;
    int64_t n;
  };
  // Vectorized and scalar epilogue passes (N a multiple of 8 or not), M 1 and odd, batch dims,
  // K 1 and 1025.
  const std::vector<S> shapes = {{{17, 33}, 5},    {{2, 3, 17, 33}, 64}, {{1, 1}, 1025},
                                 {{3, 1025}, 3},   {{1025, 33}, 8},      {{4, 5, 64}, 40}};
  uint64_t seed = 7000;
  for (DType dt : {DType::kF32, DType::kF16})
    for (const char* act : {"none", "relu", "gelu", "gelu_tanh"})
      for (bool residual : {false, true})
        for (const S& s : shapes) {
          const int64_t k = s.a.back();
          Dims od = s.a;
          od.back() = s.n;
          GpuCase c{"FusedMatMul",
                    {random_tensor(dt, s.a, seed), random_tensor(dt, {k, s.n}, seed + 1),
                     random_tensor(dt, {s.n}, seed + 2, -2, 2)},
                    {1, 2}};
          if (residual) c.inputs.push_back(random_tensor(dt, od, seed + 3));
          c.domain = "kiln";
          c.opset = 1;
          c.attrs.set("activation", std::string(act));
          c.seed = seed;
          seed += 4;
          if (dt == DType::kF16) {
            f16_tolerance(c, 2e-2, 5e-3);  // as MatMul: sums of up to 1025 products
          } else if (std::string(act) == "gelu_tanh" && !residual) {
            // cuBLASLt's own GELU epilogue: its tanh need not be libm's (a hardware tanh is good to
            // about 5e-4 of |tanh|, times 0.5·|x|). A wrong formula such as x·sigmoid(1.702x) is off
            // by up to 2e-2 and fails; erf vs tanh GELU (1e-3 apart) is beyond what this can tell.
            c.atol = 5e-3, c.rtol = 1e-3;
          } else {
            c.atol = 1e-5, c.rtol = 1e-5;
          }
          SCOPED_TRACE(std::string(act) + (residual ? " + residual" : ""));
          expect_gpu_matches_cpu(c);
          if (::testing::Test::HasFatalFailure()) return;
        }
}

TEST(GpuGelu, BothModes) {
  uint64_t seed = 7500;
  for (DType dt : {DType::kF32, DType::kF16})
    for (const char* mode : {"none", "tanh"})
      for (Dims d : {Dims{1}, Dims{1025}, Dims{3, 17, 5}, Dims{2, 64, 40}}) {
        GpuCase c{"Gelu", {random_tensor(dt, d, seed, -6, 6)}};
        c.opset = 20;
        c.attrs.set("approximate", std::string(mode));
        c.seed = seed++;
        if (dt == DType::kF16) f16_tolerance(c);
        else c.rtol = 2e-6, c.atol = 1e-6;
        expect_gpu_matches_cpu(c);
        if (::testing::Test::HasFatalFailure()) return;
      }
}

}  // namespace
}  // namespace kiln::gpu_test
