// kiln.Attention's packed K/V form on the GPU (packed_kv = 1: K and V as heads [0, H) and [H, 2H)
// of one [B, Nk, 2H, D] tensor, read in place: V's base H·D elements on, rows 2H·D apart) against
// the CPU reference: fp16 and fp32, unmasked and with bool and additive masks, d 32/64/80 (and
// fp16 d 160 on the CUDA-core kernel), Nk 1..1100, on every kernel — small grids (the 16-rows-per-
// warp fp16 kernel, masked launches splitting their keys, fp32's cuBLASLt path, the CUDA-core
// kernel) and grids that fill the GPU (the 32-rows-per-warp and warpgroup-MMA kernels, asserted
// with the packed strides so their 16-byte loads are shown to apply) — and fuse_kv_projection on
// segformer_b0, fp32 and fp16 engines.
#include <cmath>
#include <random>

#include "fused_model_check.h"
#include "gpu_compare.h"
#include "ops/attention/attention_launch.h"
#include "runtime/cuda/gpu_arch.h"

namespace kiln::gpu_test {
namespace {

enum class Mask { kNone, kBool, kAdditive };

struct P {
  int64_t b, h, nq, nk, d;
};

// A [B, H, Nq, Nk] mask hiding ~30% of the keys, all of them for every seventh query row (NaN
// rows on both sides): bool (true = attend) or additive (a bias in [-4, 2], -inf where hidden).
Tensor make_mask(Mask kind, DType dt, const P& p, uint64_t seed) {
  Tensor t(kind == Mask::kBool ? DType::kBool : dt, {p.b, p.h, p.nq, p.nk});
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> bias(-4, 2);
  for (int64_t i = 0; i < t.numel(); ++i) {
    const bool hidden = (i / p.nk) % p.nq % 7 == 3 || rng() % 10 < 3;
    if (kind == Mask::kBool) t.data<bool>()[i] = !hidden;
    else if (dt == DType::kF16) t.data<f16>()[i] = from_double<f16>(hidden ? -INFINITY : bias(rng));
    else t.data<float>()[i] = hidden ? -INFINITY : float(bias(rng));
  }
  return t;
}

// qo: Q's and the output's seq_first flags (bits 0 and 1); K and V are always seq_first.
GpuCase packed_case(DType dt, const P& p, Mask mask, int qo, uint64_t seed) {
  const std::vector<int64_t> flags = {qo & 1, 1, 1, qo >> 1};
  GpuCase c{"Attention",
            {random_tensor(dt, flags[0] ? Dims{p.b, p.nq, p.h, p.d} : Dims{p.b, p.h, p.nq, p.d}, seed, -2, 2),
             random_tensor(dt, {p.b, p.nk, 2 * p.h, p.d}, seed + 1, -2, 2), Tensor()}};
  if (mask != Mask::kNone) c.inputs.push_back(make_mask(mask, dt, p, seed + 2));
  c.domain = "kiln";
  c.opset = 1;
  c.attrs.set("scale", float(1.0 / std::sqrt(double(p.d))));
  c.attrs.set("seq_first", flags);
  c.attrs.set("packed_kv", int64_t(1));
  c.seed = seed;
  // test_gpu_attention.cpp's bounds: reading K and V through other strides changes no arithmetic.
  if (dt == DType::kF16) f16_tolerance(c);
  else c.atol = 1e-5, c.rtol = 1e-4;
  return c;
}

std::string describe(const P& p, Mask m, int qo) {
  return "b " + std::to_string(p.b) + " h " + std::to_string(p.h) + " nq " + std::to_string(p.nq) + " nk " +
         std::to_string(p.nk) + " d " + std::to_string(p.d) + " mask " + std::to_string(int(m)) + " qo " +
         std::to_string(qo);
}

// Small grids: fp16 on the 16-rows-per-warp kernel (d padded to 32/64/128, 16-byte loads at
// every d here), masked launches splitting their keys over blocks; fp32 unmasked through
// cuBLASLt (one strided-batched call per batch item), masked on the CUDA-core kernel.
TEST(GpuAttentionPackedKv, SmallGridsEveryPath) {
  uint64_t seed = 12000;
  for (DType dt : {DType::kF16, DType::kF32})
    for (int64_t d : {32, 64, 80})
      for (int64_t nk : {1, 17, 64, 65, 130, 1024, 1100})
        for (Mask m : {Mask::kNone, Mask::kBool, Mask::kAdditive}) {
          const P p{2, 3, nk > 1000 ? 37 : 70, nk, d};
          const int qo = int(seed % 4);
          SCOPED_TRACE(std::string(dtype_name(dt)) + " " + describe(p, m, qo));
          GpuCase c = packed_case(dt, p, m, qo, seed += 3);
          c.gpu_runs = nk == 1100 ? 3 : 1;  // arena and CUDA Graph replay on the widest
          expect_gpu_matches_cpu(c);
          if (::testing::Test::HasFatalFailure()) return;
        }
}

// fp16 heads wider than 128 take the CUDA-core kernel in fp16 storage.
TEST(GpuAttentionPackedKv, WideHeadsFp16) {
  uint64_t seed = 12500;
  for (Mask m : {Mask::kNone, Mask::kBool}) {
    SCOPED_TRACE(int(m));
    expect_gpu_matches_cpu(packed_case(DType::kF16, {2, 2, 33, 150, 160}, m, 3, seed += 3));
    if (::testing::Test::HasFatalFailure()) return;
  }
}

// The kernel launch_attention_f16 picks for a packed launch of p, from the same AttentionParams
// attention_cuda.cpp builds (16-byte aligned base, V H·D elements on, packed strides).
void expect_packed_kernel(const P& p, bool wgmma) {
  attention::AttentionParams a;
  static const char* const base = reinterpret_cast<const char*>(uintptr_t(1) << 20);
  const int64_t row = 2 * p.h * p.d;
  a.q = a.k = base;
  a.v = base + p.h * p.d * 2;
  a.o = const_cast<char*>(base);
  a.batch = p.b * p.h, a.heads = p.h;
  a.sq = {p.nq * p.h * p.d, p.d, p.h * p.d};
  a.sk = a.sv = {p.nk * row, p.d, row};
  a.so = a.sq;
  a.nq = int(p.nq), a.nk = int(p.nk), a.d = a.dv = int(p.d);
  a.scale = 0.125f;
  ASSERT_EQ(attention::attention_f16_uses_wgmma(a), wgmma) << describe(p, Mask::kNone, 3);
  if (!wgmma) ASSERT_TRUE(attention::attention_f16_uses_wide(a)) << describe(p, Mask::kNone, 3);
}

// Outer items (of 2 heads) enough for two 128-row blocks per multiprocessor.
int64_t outer_filling_gpu(int64_t nq, int64_t heads) {
  const int64_t tiles = (nq + 127) / 128;
  return ((2 * cuda_sm_count() + tiles - 1) / tiles + heads - 1) / heads;
}

// Grids that fill the GPU, unmasked: d 32 on the 32-rows-per-warp kernel, d 64 on the warpgroup-
// MMA kernel (Hopper; the lead's GPUs), d 80 on the 16-rows-per-warp kernel padded to 128;
// masked ones walk every key in one block (no split).
TEST(GpuAttentionPackedKv, LargeGridsEveryKernel) {
  uint64_t seed = 12700;
  for (int64_t d : {32, 64, 80})
    for (int64_t nk : {1, 130, 1100}) {
      const int64_t nq = 200, h = 2;
      const P p{outer_filling_gpu(nq, h), h, nq, nk, d};
      if (d <= 64) expect_packed_kernel(p, d == 64);
      if (::testing::Test::HasFatalFailure()) return;
      for (Mask m : {Mask::kNone, Mask::kBool}) {
        SCOPED_TRACE(describe(p, m, 2));
        expect_gpu_matches_cpu(packed_case(DType::kF16, p, m, 2, seed += 3));  // SegFormer's layout
        if (::testing::Test::HasFatalFailure()) return;
      }
    }
  const P p{outer_filling_gpu(256, 2), 2, 256, 300, 64};  // fp32 at that size: cuBLASLt and masked
  for (Mask m : {Mask::kNone, Mask::kAdditive}) {
    SCOPED_TRACE(describe(p, m, 3));
    expect_gpu_matches_cpu(packed_case(DType::kF32, p, m, 3, seed += 3));
    if (::testing::Test::HasFatalFailure()) return;
  }
}

// The pass on the reference model: 8 blocks' K and V projections merged, the packed attentions
// run on the GPU against the CPU reference and the unfused graph, fp32 and fp16 engines.
TEST(GpuAttentionPackedKv, FuseKvProjectionSegformerB0) {
  expect_fusion_on_gpu("segformer_b0", "fuse_kv_projection", 8, {"logits"});
}

}  // namespace
}  // namespace kiln::gpu_test
