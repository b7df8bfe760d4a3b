// kiln.Int8MatMul on the GPU against the CPU reference. With activation none or relu every float
// step is the reference's (int8_math.h), so the outputs must agree bit for bit — which holds
// only if the int32 sums do: any wrong product moves a result by at least one
// x_scale · w_scale step. K and N off multiples of 16 take the zero-padded copy of W; K = 1, M = 1
// and N = 1 are covered; K past 1040 makes float(acc) round (the same way on both). The int8
// GEMM itself is also checked directly: cuBLASLt's tensor-core path and the dp4a fallback against
// an int64 sum on the host.
#include <algorithm>
#include <array>
#include <cstring>

#include "gpu_compare.h"
#include "ops/quantize/quantize_cuda.h"
#include "ops/quantize/quantize_kernels.h"
#include "runtime/cuda/cuda_session.h"

namespace kiln::gpu_test {
namespace {

GpuCase int8_case(DType dt, const Dims& xd, int64_t n, const char* act, int extras, bool per_channel,
                  uint64_t seed) {
  const int64_t k = xd.back();
  Dims yd = xd;
  yd.back() = n;
  GpuCase c{"Int8MatMul",
            {random_tensor(dt, xd, seed, -4, 4), Tensor::scalar<float>(4.0f / 127),
             random_tensor(DType::kI8, {n, k}, seed + 1, -128, 127),
             per_channel ? random_tensor(DType::kF32, {n}, seed + 2, 1e-3, 3e-2) : Tensor::scalar<float>(0.01f)},
            {1, 2, 3}};
  if (extras >= 1) {
    c.inputs.push_back(random_tensor(dt, {n}, seed + 3, -1, 1));
    c.constant_inputs.push_back(4);
  }
  if (extras >= 2) c.inputs.push_back(random_tensor(dt, yd, seed + 4, -1, 1));
  c.domain = "kiln";
  c.opset = 1;
  c.attrs.set("activation", std::string(act));
  c.seed = seed;
  c.gpu_runs = 3;
  if (std::string(act) == "none" || std::string(act) == "relu") c.atol = 0, c.rtol = 0;
  else if (dt == DType::kF32) c.atol = 1e-5, c.rtol = 1e-5;  // the GPU's erf: a few float32 ulps
  else f16_tolerance(c, 1e-3, 1e-3);  // ... which may move the float16 result by one ulp (< 2^-10 of it)
  return c;
}

TEST(GpuInt8MatMul, MatchesReferenceBitForBit) {
  struct S {
    Dims x;
    int64_t n;
  };
  // Aligned (K, N multiples of 16: W used in place) and padded shapes; batch dims; one row.
  const std::vector<S> shapes = {{{64, 64}, 128},  {{2, 3, 17, 33}, 5}, {{1, 1}, 1},    {{1025, 64}, 48},
                                 {{7, 1000}, 257}, {{3, 4099}, 16},     {{16, 17}, 33}, {{1, 320}, 1280}};
  uint64_t seed = 44000;
  for (DType dt : {DType::kF32, DType::kF16})
    for (const S& s : shapes)
      for (const char* act : {"none", "relu", "gelu"})
        for (int extras : {0, 1, 2}) {
          GpuCase c = int8_case(dt, s.x, s.n, act, extras, (seed / 5) % 2 == 0, seed);
          seed += 5;
          SCOPED_TRACE(std::string(act) + " extras " + std::to_string(extras));
          expect_gpu_matches_cpu(c);
          if (::testing::Test::HasFatalFailure()) return;
        }
}

// fp16 engines' mixed form: float16 X, float32 bias, residual and Y — bit for bit too.
TEST(GpuInt8MatMul, MixedFloat16InFloat32Out) {
  uint64_t seed = 44900;
  for (const auto& [xd, n] : std::vector<std::pair<Dims, int64_t>>{{{2, 65, 64}, 256}, {{7, 33}, 19}})
    for (int extras : {1, 2}) {
      GpuCase c = int8_case(DType::kF16, xd, n, "relu", 0, true, seed);
      c.inputs.push_back(random_tensor(DType::kF32, {n}, seed + 3));
      c.constant_inputs.push_back(4);
      Dims yd = xd;
      yd.back() = n;
      if (extras == 2) c.inputs.push_back(random_tensor(DType::kF32, yd, seed + 4));
      seed += 5;
      expect_gpu_matches_cpu(c);
      if (::testing::Test::HasFatalFailure()) return;
    }
}

// xq [m, kp] · wt [np, kp]ᵀ in int64 on the host.
std::vector<int32_t> host_product(const std::vector<int8_t>& xq, const std::vector<int8_t>& wt, int64_t m,
                                  int64_t np, int64_t kp) {
  std::vector<int32_t> acc(size_t(m * np));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < np; ++j) {
      int64_t s = 0;
      for (int64_t t = 0; t < kp; ++t) s += int64_t(xq[size_t(i * kp + t)]) * wt[size_t(j * kp + t)];
      acc[size_t(i * np + j)] = int32_t(s);
    }
  return acc;
}

TEST(GpuInt8MatMul, TensorCoreAndDp4aGemmsAreExact) {
  CudaSession session;
  for (const auto& [m, np, kp] : std::vector<std::array<int64_t, 3>>{{1, 16, 16}, {33, 48, 80}, {1000, 64, 1024},
                                                                     {257, 144, 4096}}) {
    SCOPED_TRACE(std::to_string(m) + "x" + std::to_string(np) + "x" + std::to_string(kp));
    // Extreme operands (−128 · −128 summed) check the int32 range too.
    Tensor x = random_tensor(DType::kI8, {m, kp}, uint64_t(m + kp), -128, 127);
    Tensor w = random_tensor(DType::kI8, {np, kp}, uint64_t(np + kp), -128, 127);
    for (int64_t i = 0; i < std::min<int64_t>(kp, 64); ++i) x.data<int8_t>()[i] = w.data<int8_t>()[i] = -128;
    const std::vector<int8_t> xv(x.data<int8_t>(), x.data<int8_t>() + x.numel());
    const std::vector<int8_t> wv(w.data<int8_t>(), w.data<int8_t>() + w.numel());
    const std::vector<int32_t> want = host_product(xv, wv, m, np, kp);
    const DeviceTensor dx = to_device(x, session.stream()), dw = to_device(w, session.stream());
    for (bool tensor_cores : {true, false}) {
      SCOPED_TRACE(tensor_cores ? "cuBLASLt" : "dp4a");
      DeviceTensor acc = device_empty(DType::kI32, {m, np}, session.stream());
      if (tensor_cores)
        ASSERT_TRUE(quant::int8_gemm_lt(session, dx.ptr<int8_t>(), dw.ptr<int8_t>(), acc.ptr<int32_t>(), m, np, kp))
            << "cuBLASLt has no int8 algorithm for a padded problem";
      else
        quant::launch_int8_gemm_dp4a(dx.ptr<int8_t>(), dw.ptr<int8_t>(), acc.ptr<int32_t>(), m, np, kp,
                                     session.stream());
      const Tensor got = to_host(acc, session.stream());
      ASSERT_EQ(std::memcmp(got.data<int32_t>(), want.data(), want.size() * sizeof(int32_t)), 0);
    }
  }
}

TEST(GpuInt8MatMul, NonConstantWeightIsRefused) {
  GpuCase c = int8_case(DType::kF32, {4, 32}, 16, "none", 0, true, 45000);
  c.constant_inputs = {1, 3};
  expect_gpu_unsupported(c, "W to be a constant");
}

}  // namespace
}  // namespace kiln::gpu_test
