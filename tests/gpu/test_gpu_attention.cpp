// kiln.Attention on the GPU against the CPU reference (double math): the fp16 tensor-core
// kernel (head dims padded to 32/64/128, vector and element-wise tile loads) and the CUDA-core
// kernel (fp32, and fp16 heads wider than 128), over awkward and SegFormer-sized shapes; the
// 32-rows-per-warp kernel (attention_f16_wide.cuh) and the warpgroup-MMA one (attention_wgmma.cu)
// on launches large enough to take them. Masks:
// test_gpu_attention_mask.cpp.
#include <cmath>
#include <cstdio>

#include "gpu_compare.h"
#include "ops/attention/attention_launch.h"
#include "ops/attention/attention_split.h"
#include "runtime/cuda/gpu_arch.h"

namespace kiln::gpu_test {
namespace {

struct A {
  Dims batch;
  int64_t nq, nk, d, dv;
};

Dims cat(const Dims& batch, int64_t a, int64_t b) {
  Dims d = batch;
  d.push_back(a);
  d.push_back(b);
  return d;
}

GpuCase attention_case(DType dt, const A& a, uint64_t seed, double lo = -2, double hi = 2) {
  GpuCase c{"Attention",
            {random_tensor(dt, cat(a.batch, a.nq, a.d), seed, lo, hi), random_tensor(dt, cat(a.batch, a.nk, a.d), seed + 1, lo, hi),
             random_tensor(dt, cat(a.batch, a.nk, a.dv), seed + 2)}};
  c.domain = "kiln";
  c.opset = 1;
  c.attrs.set("scale", float(1.0 / std::sqrt(double(a.d))));
  c.seed = seed;
  // fp16: P rounded to fp16 before P·V (≤ 2^-11 of max|V| = 1) plus the output's rounding on
  // both sides (≤ 2^-11 each for |O| ≤ 1): ~1e-3 at worst. fp32: sums of ≤ 1024·128 products
  // and exps in fp32 against double.
  if (dt == DType::kF16) f16_tolerance(c);
  else c.atol = 1e-5, c.rtol = 1e-4;
  return c;
}

const std::vector<A>& awkward_shapes() {
  static const std::vector<A> shapes = {
      {{}, 1, 1, 32, 32},        {{}, 3, 17, 64, 64},         {{}, 17, 33, 128, 128},   {{}, 1025, 1024, 64, 64},
      {{2}, 17, 1024, 32, 32},   {{2}, 1025, 17, 128, 128},   {{2}, 3, 33, 32, 32},    {{2, 3}, 1, 33, 64, 64},
      {{2, 3}, 17, 17, 128, 128}, {{2, 3}, 3, 1024, 32, 32},  {{2}, 65, 129, 64, 64},  // just past tile edges
      {{}, 64, 64, 64, 64},      {{2}, 17, 33, 64, 40},        // dv != d
      {{}, 33, 65, 16, 16},      {{2}, 33, 65, 20, 20},        // segformer_tiny's heads (padded to 32)
      {{2}, 17, 33, 17, 9},      {{}, 5, 70, 100, 100}};       // odd widths: element-wise tile loads
  return shapes;
}

TEST(GpuAttention, MatchesCpuOnAwkwardShapes) {
  uint64_t seed = 7000;
  for (DType dt : {DType::kF32, DType::kF16})
    for (const A& a : awkward_shapes()) {
      expect_gpu_matches_cpu(attention_case(dt, a, seed));
      seed += 3;
      if (::testing::Test::HasFatalFailure()) return;
    }
}

// SegFormer stage 0 at 512² with a ragged query count: 1 head, Nq 4096 + 17, Nk 1024, d 64.
TEST(GpuAttention, SegFormerSized) {
  for (DType dt : {DType::kF32, DType::kF16}) {
    expect_gpu_matches_cpu(attention_case(dt, {{1, 1}, 4096 + 17, 1024, 64, 64}, 7500));
    if (::testing::Test::HasFatalFailure()) return;
  }
}

// Large scores (tens, scale 1) move the running maximum across tiles: the online rescaling
// must keep every tile's contribution right.
TEST(GpuAttention, PeakedScoresAcrossTiles) {
  for (DType dt : {DType::kF32, DType::kF16}) {
    GpuCase c = attention_case(dt, {{2}, 70, 300, 64, 64}, 7600, -3, 3);
    c.attrs.set("scale", 1.f);
    expect_gpu_matches_cpu(c);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

// fp16 heads wider than the tensor-core kernel's 128 run on the CUDA-core kernel.
TEST(GpuAttention, WideHeadsFp16) {
  expect_gpu_matches_cpu(attention_case(DType::kF16, {{2}, 33, 47, 160, 96}, 7700));
}

// seq_first: Q, K, V, O read and written as [B, S, H, D] through row strides (fold_attention_
// transposes). Every flag combination on the fp16 tensor-core kernel (vector loads at d 64;
// element loads at d 20), the fp32 cuBLASLt path (B 2: one strided-batched call per batch item)
// and the CUDA-core kernel (fp16, d 160).
GpuCase seq_first_case(DType dt, int64_t b, int64_t h, int64_t nq, int64_t nk, int64_t d, int64_t dv, int flags,
                       uint64_t seed) {
  std::vector<int64_t> seq_first(4);
  for (int i = 0; i < 4; ++i) seq_first[size_t(i)] = (flags >> i) & 1;
  const auto dims = [&](bool sf, int64_t n, int64_t w) { return sf ? Dims{b, n, h, w} : Dims{b, h, n, w}; };
  GpuCase c = attention_case(dt, {{b, h}, nq, nk, d, dv}, seed);
  c.inputs = {random_tensor(dt, dims(seq_first[0], nq, d), seed, -2, 2), random_tensor(dt, dims(seq_first[1], nk, d), seed + 1, -2, 2),
              random_tensor(dt, dims(seq_first[2], nk, dv), seed + 2)};
  c.attrs.set("seq_first", seq_first);
  c.gpu_runs = 3;
  return c;
}

TEST(GpuAttention, SeqFirstLayouts) {
  uint64_t seed = 7900;
  for (int flags = 0; flags < 16; ++flags) {
    SCOPED_TRACE("flags " + std::to_string(flags));
    expect_gpu_matches_cpu(seq_first_case(DType::kF16, 2, 3, 77, 130, 64, 64, flags, seed += 3));
    expect_gpu_matches_cpu(seq_first_case(DType::kF16, 1, 5, 33, 65, 20, 20, flags, seed += 3));
    expect_gpu_matches_cpu(seq_first_case(DType::kF32, 2, 3, 77, 130, 64, 40, flags, seed += 3));
    expect_gpu_matches_cpu(seq_first_case(DType::kF32, 1, 2, 17, 33, 32, 32, flags, seed += 3));
    expect_gpu_matches_cpu(seq_first_case(DType::kF16, 2, 2, 33, 47, 160, 96, flags, seed += 3));
    if (::testing::Test::HasFatalFailure()) return;
  }
}


// The large-launch kernels run where their 128-row grids fill the GPU: batches sized to give at
// least two blocks per multiprocessor, and an assertion that the dispatch takes the kernel a
// case is meant for (else it would silently test another one). On an H100 the warpgroup-MMA
// kernel (attention_wgmma.cu) takes max(d, dv) in (32, 64] with 16-byte aligned rows; the
// 32-rows-per-warp kernel (attention_f16_wide.cuh) the rest up to 64.
int64_t batch_filling_gpu(int64_t nq) {
  const int64_t sms = cuda_sm_count();
  const int64_t tiles = (nq + 127) / 128;
  return (2 * sms + tiles - 1) / tiles;
}

enum class Kernel { kWide, kWgmma };

void expect_kernel(const A& a, int64_t batch, Kernel k) {
  attention::AttentionParams p;
  p.batch = batch;
  p.nq = int(a.nq), p.nk = int(a.nk), p.d = int(a.d), p.dv = int(a.dv);
  const bool wgmma = attention::attention_f16_uses_wgmma(p);
  if (k == Kernel::kWgmma) {
    ASSERT_TRUE(wgmma) << "nq " << a.nq << " batch " << batch << " d " << a.d << " dv " << a.dv;
  } else {
    ASSERT_FALSE(wgmma) << "d " << a.d << " dv " << a.dv;
    ASSERT_TRUE(attention::attention_f16_uses_wide(p)) << "nq " << a.nq << " batch " << batch;
  }
}

void expect_large_launches_match(const std::vector<A>& shapes, Kernel k, uint64_t seed) {
  for (const A& shape : shapes) {
    A a = shape;
    a.batch = {batch_filling_gpu(a.nq)};
    expect_kernel(a, a.batch[0], k);
    SCOPED_TRACE("nq " + std::to_string(a.nq) + " nk " + std::to_string(a.nk) + " d " + std::to_string(a.d) +
                 " dv " + std::to_string(a.dv));
    expect_gpu_matches_cpu(attention_case(DType::kF16, a, seed += 3));
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(GpuAttention, WideKernelMatchesCpu) {
  // Head dims ≤ 32, and element-wise loads (widths not a multiple of 8) padded to 32 or 64;
  // ragged query and key tiles, a single ragged key tile, d < dv and d > dv.
  expect_large_launches_match({{{}, 200, 70, 60, 60},
                               {{}, 130, 129, 36, 24},
                               {{}, 129, 300, 24, 52},
                               {{}, 128, 65, 17, 9},
                               {{}, 300, 33, 32, 32},
                               {{}, 256, 5, 62, 62},
                               {{}, 256, 128, 32, 32}},
                              Kernel::kWide, 8100);
}

// Scores in the tens (scale 1) move the running maximum across key tiles in both row tiles of a
// warp; seq_first strides ([B, S, H, D]) on every operand; a CUDA Graph replay of the launch.
TEST(GpuAttention, WideKernelPeakedScoresAndSeqFirst) {
  const int64_t nq = 256, b = batch_filling_gpu(nq);
  expect_kernel({{}, nq, 300, 32, 32}, b, Kernel::kWide);
  GpuCase c = attention_case(DType::kF16, {{b}, nq, 300, 32, 32}, 8200, -3, 3);
  c.attrs.set("scale", 1.f);
  expect_gpu_matches_cpu(c);
  const int64_t heads = 3, outer = (b + heads - 1) / heads;
  expect_kernel({{}, 200, 130, 20, 20}, outer * heads, Kernel::kWide);
  for (int flags : {0xF, 0x5}) {
    SCOPED_TRACE("flags " + std::to_string(flags));
    expect_gpu_matches_cpu(seq_first_case(DType::kF16, outer, heads, 200, 130, 20, 20, flags, 8300 + flags));
  }
}

// Grids of fewer 128-row blocks than multiprocessors split their keys on the wgmma kernel and
// merge the splits after (SegFormer-B2's stage 3 at batch 1: 8 heads of 1024 queries over 1024
// keys, 64 blocks): ragged last splits and key tiles, a single query, d < dv and d > dv, and a
// CUDA Graph replay (gpu_runs) of the two launches.
TEST(GpuAttention, WgmmaKernelSplitKeys) {
  const std::vector<A> shapes = {{{1, 8}, 1024, 1024, 64, 64}, {{2}, 200, 300, 64, 64}, {{1}, 130, 1100, 48, 64},
                                 {{3}, 64, 129, 64, 40},       {{}, 1, 700, 64, 64},    {{2, 5}, 256, 1024, 64, 64}};
  uint64_t seed = 8600;
  for (const A& a : shapes) {
    SCOPED_TRACE("nq " + std::to_string(a.nq) + " nk " + std::to_string(a.nk) + " d " + std::to_string(a.d) +
                 " dv " + std::to_string(a.dv));
    attention::AttentionParams p;
    p.batch = numel_of(a.batch);
    p.nq = int(a.nq), p.nk = int(a.nk), p.d = int(a.d), p.dv = int(a.dv);
    ASSERT_TRUE(attention::attention_f16_wgmma_fits(p));
    const int64_t blocks = (a.nq + attention::kWgmmaBlockRows - 1) / attention::kWgmmaBlockRows * p.batch;
    const attention::KeySplit split = attention::choose_key_split(blocks, a.nk, cuda_sm_count());
    ASSERT_GT(split.splits, 1) << "blocks " << blocks;
    p.splits = split.splits, p.split_keys = split.split_keys;
    ASSERT_TRUE(attention::attention_f16_uses_wgmma(p));
    expect_gpu_matches_cpu(attention_case(DType::kF16, a, seed += 3));
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(GpuAttention, WgmmaKernelMatchesCpu) {
  // Ragged query blocks (and warpgroups with no valid row), ragged key tiles, a single key,
  // exactly full tiles, d < dv and d > dv zero-padded to 64, SegFormer's Nk 1024.
  expect_large_launches_match({{{}, 200, 70, 64, 64},
                               {{}, 130, 129, 40, 24},
                               {{}, 129, 300, 24, 56},
                               {{}, 256, 1, 64, 64},
                               {{}, 256, 5, 64, 64},
                               {{}, 256, 128, 64, 64},
                               {{}, 70, 1024, 48, 64},
                               {{}, 1000, 1024, 64, 64}},
                              Kernel::kWgmma, 8400);
}

// As for the wide kernel: the running maximum moving across key tiles, and [B, S, H, D] strides.
TEST(GpuAttention, WgmmaKernelPeakedScoresAndSeqFirst) {
  const int64_t nq = 256, b = batch_filling_gpu(nq);
  expect_kernel({{}, nq, 300, 64, 64}, b, Kernel::kWgmma);
  GpuCase c = attention_case(DType::kF16, {{b}, nq, 300, 64, 64}, 8500, -3, 3);
  c.attrs.set("scale", 1.f);
  expect_gpu_matches_cpu(c);
  const int64_t heads = 3, outer = (b + heads - 1) / heads;
  expect_kernel({{}, 200, 130, 64, 64}, outer * heads, Kernel::kWgmma);
  for (int flags : {0xF, 0x5, 0x0}) {
    SCOPED_TRACE("flags " + std::to_string(flags));
    expect_gpu_matches_cpu(seq_first_case(DType::kF16, outer, heads, 200, 130, 64, 64, flags, 8600 + flags));
  }
}

// The lazy rescale (attention_wgmma_loop.cuh): keys whose scores climb about 3 log2 units a
// 64-key tile, so a row's maximum passes the stale one by less than the slack for a tile or two,
// then by more, then again by less — and the first tiles' keys still count. At the kernels' slack
// (8) and at 0 (a rescale at every increase).
TEST(GpuAttention, WgmmaLazyRescale) {
  const int64_t nq = 256, nk = 1000, d = 64, b = batch_filling_gpu(nq);
  expect_kernel({{}, nq, nk, d, d}, b, Kernel::kWgmma);
  GpuCase c = attention_case(DType::kF16, {{b}, nq, nk, d, d}, 8700, 0.5, 1.0);
  std::vector<double> k(size_t(b * nk * d));
  const Tensor keys = random_tensor(DType::kF16, {b, nk, d}, 8701, 0.0, 1.0);
  for (int64_t i = 0; i < b * nk * d; ++i) {
    const int64_t key = i / d % nk;
    k[size_t(i)] = keys.at_double(i) * (0.1 + 1.4 * double(key) / double(nk));  // ~34.6 log2 units a unit
  }
  c.inputs[1] = Tensor::from_doubles(DType::kF16, {b, nk, d}, k);
  c.attrs.set("scale", 1.f);
  const float kept = attention::attention_rescale_slack();
  for (float slack : {kept, 0.f}) {
    SCOPED_TRACE("slack " + std::to_string(slack));
    attention::set_attention_rescale_slack(slack);
    expect_gpu_matches_cpu(c);
    if (::testing::Test::HasFatalFailure()) break;
  }
  attention::set_attention_rescale_slack(kept);
}

// SegFormer-B2's stages 2 and 3 at 1024², batch 8 (5 and 8 heads of 64, 1024 keys; stage 2 at
// 256 and 64 keys too, the fixed part of the time: c214), for the lead's benchmark runs
// (--gtest_also_run_disabled_tests --gtest_filter=*AttentionWgmmaBench*): the median of 40
// node-by-node runs at the kernel's lazy-rescale slack and at 0.
TEST(GpuAttention, DISABLED_AttentionWgmmaBench) {
  const float kept = attention::attention_rescale_slack();
  for (const A& a : {A{{8, 5}, 4096, 1024, 64, 64}, A{{8, 5}, 4096, 256, 64, 64}, A{{8, 5}, 4096, 64, 64, 64},
                     A{{8, 8}, 1024, 1024, 64, 64}}) {
    expect_kernel(a, numel_of(a.batch), Kernel::kWgmma);
    for (float slack : {kept, 0.f}) {
      attention::set_attention_rescale_slack(slack);
      const std::string t = timing_summary(profile_one_node(attention_case(DType::kF16, a, 1)));
      std::printf("Attention batch %lld Nq %lld Nk %lld d %lld slack %g  %s\n",
                  static_cast<long long>(numel_of(a.batch)), static_cast<long long>(a.nq),
                  static_cast<long long>(a.nk), static_cast<long long>(a.d), double(slack), t.c_str());
    }
  }
  attention::set_attention_rescale_slack(kept);
}

}  // namespace
}  // namespace kiln::gpu_test
