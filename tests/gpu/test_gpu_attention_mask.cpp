// kiln.Attention with a mask on the GPU against the CPU reference: bool and additive masks,
// broadcast along every axis the kernels stride over, on the fp16 tensor-core kernel (64-key
// tiles), the CUDA-core kernel (fp32, and fp16 heads wider than 128; 32-key tiles) and
// Mask2Former's layout. The masks hold every case the online softmax must survive: keys masked
// at random, whole key tiles masked for some rows (before and after their first visible key),
// and a fully masked row, NaN on both sides, next to normal ones. Grids smaller than the GPU
// split their keys (attention_split.h: every small case here, its splits' merge included; a
// split whose keys are all masked for a row weighs nothing); LongQueriesUnsplit covers grids
// that fill the GPU.
#include <cmath>
#include <random>

#include "gpu_compare.h"
#include "runtime/cpu_executor.h"

namespace kiln::gpu_test {
namespace {

enum class Kind { kBool, kAdditive };

struct M {
  Dims batch;  // leading dims of Q, K, V
  int64_t nq, nk, d, dv;
  Dims mask;  // broadcastable to [batch..., nq, nk]
};

Dims cat(const Dims& batch, int64_t a, int64_t b) {
  Dims d = batch;
  d.push_back(a);
  d.push_back(b);
  return d;
}

// Whether the mask hides key k from query row q: query rows by q % 5 — 0 random keys (~30%),
// 1 keys 128..255 (whole key tiles of either kernel after visible keys; a whole 128-key split),
// 2 every key (NaN), 3 keys 0..199 (the first tiles and split, before any visible key), 4
// random keys — only with a query dim (else every query would be masked alike).
bool hidden(int64_t q, int64_t k, bool has_rows, std::mt19937_64& rng) {
  const bool random = rng() % 10 < 3;
  if (!has_rows) return random;
  switch (q % 5) {
    case 1: return k >= 128 && k < 256;
    case 2: return true;
    case 3: return k < 200;
    default: return random;
  }
}

// The mask tensor: bool (true = attend) or additive of `dt` (a random bias in [-4, 2], -inf
// where hidden).
Tensor make_mask(Kind kind, DType dt, const Dims& dims, uint64_t seed) {
  Tensor t(kind == Kind::kBool ? DType::kBool : dt, dims);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> bias(-4, 2);
  const size_t r = dims.size();
  const int64_t nk = dims.back(), nq = r >= 2 ? dims[r - 2] : 1;
  for (int64_t i = 0; i < t.numel(); ++i) {
    const bool h = hidden(i / nk % nq, i % nk, nq > 1, rng);
    if (kind == Kind::kBool) t.data<bool>()[i] = !h;
    else {
      const double b = bias(rng);
      visit_dtype(dt, [&](auto tag) {
        using T = typename decltype(tag)::type;
        if constexpr (std::is_same_v<T, float> || std::is_same_v<T, f16>)
          t.data<T>()[i] = from_double<T>(h ? -INFINITY : b);
      });
    }
  }
  return t;
}

GpuCase mask_case(DType dt, Kind kind, const M& m, uint64_t seed) {
  GpuCase c{"Attention",
            {random_tensor(dt, cat(m.batch, m.nq, m.d), seed, -2, 2), random_tensor(dt, cat(m.batch, m.nk, m.d), seed + 1, -2, 2),
             random_tensor(dt, cat(m.batch, m.nk, m.dv), seed + 2), make_mask(kind, dt, m.mask, seed + 3)}};
  c.domain = "kiln";
  c.opset = 1;
  c.attrs.set("scale", float(1.0 / std::sqrt(double(m.d))));
  c.seed = seed;
  // As the unmasked cases (test_gpu_attention.cpp): fewer keys per row change nothing there.
  if (dt == DType::kF16) f16_tolerance(c);
  else c.atol = 1e-5, c.rtol = 1e-4;
  return c;
}

// NaN elements of the CPU reference's output: a fully masked row is there when expected.
int64_t cpu_nans(const GpuCase& c) {
  Graph g = one_node_graph(c);
  TensorMap feeds;
  for (size_t i = 0; i < c.inputs.size(); ++i) feeds["in" + std::to_string(i)] = c.inputs[i];
  const Tensor y = CpuExecutor(g).run(feeds).at("out0");
  int64_t n = 0;
  for (int64_t i = 0; i < y.numel(); ++i) n += std::isnan(y.at_double(i));
  return n;
}

// Shapes off every tile edge (Nq 37/100, Nk 300/950), with masks broadcast along each axis.
std::vector<M> awkward_masks(int64_t d) {
  return {{{2, 3}, 37, 300, d, d, {2, 1, 37, 300}}, {{2, 3}, 37, 300, d, d, {1, 1, 1, 300}},
          {{2, 3}, 100, 950, d, d, {2, 3, 100, 950}}, {{2, 3}, 100, 950, d, d, {100, 950}},
          {{2, 3}, 37, 300, d, d, {1, 3, 37, 1}},     // a whole row masked or not: key stride 0
          {{3}, 17, 129, d, d, {17, 129}},             // rank 3: the heads alone
          {{}, 65, 70, d, d, {65, 70}}};               // rank 2
}

TEST(GpuAttentionMask, BoolAndAdditiveOnAwkwardShapes) {
  uint64_t seed = 9000;
  for (DType dt : {DType::kF16, DType::kF32})
    for (Kind kind : {Kind::kBool, Kind::kAdditive})
      for (int64_t d : {32, 64})
        for (const M& m : awkward_masks(d)) {
          SCOPED_TRACE(std::string(kind == Kind::kBool ? "bool" : "additive") + " mask " + dims_to_string(m.mask));
          GpuCase c = mask_case(dt, kind, m, seed += 4);
          const bool rows = m.mask.size() >= 2 && m.mask[m.mask.size() - 2] > 1;
          if (rows) {
            EXPECT_GT(cpu_nans(c), 0) << "the case has no fully masked row";
          }
          expect_gpu_matches_cpu(c);
          if (::testing::Test::HasFatalFailure()) return;
        }
}

// Head dims the fp16 kernel pads (20 → 32, 40/100 → 64/128; element-wise tile loads) and fp16
// heads wider than 128 (the CUDA-core kernel in fp16).
TEST(GpuAttentionMask, PaddedAndWideHeads) {
  uint64_t seed = 9400;
  for (Kind kind : {Kind::kBool, Kind::kAdditive})
    for (const M& m : {M{{2}, 37, 300, 20, 20, {2, 37, 300}}, M{{2}, 37, 130, 64, 40, {37, 130}},
                       M{{2}, 33, 70, 100, 100, {1, 1, 70}}, M{{2}, 33, 150, 160, 96, {2, 33, 150}}}) {
      SCOPED_TRACE(dims_to_string(m.mask));
      expect_gpu_matches_cpu(mask_case(DType::kF16, kind, m, seed += 4));
      if (::testing::Test::HasFatalFailure()) return;
    }
}

// Mask2Former's masked cross-attention: [B·heads, queries, H·W] everywhere, a bool mask of that
// shape, 100 queries over a 32×32 level, head dim 32; replayed through the CUDA Graph.
TEST(GpuAttentionMask, Mask2FormerCrossAttention) {
  for (DType dt : {DType::kF16, DType::kF32}) {
    GpuCase c = mask_case(dt, Kind::kBool, {{8}, 100, 1024, 32, 32, {8, 100, 1024}}, 9600);
    c.gpu_runs = 3;
    expect_gpu_matches_cpu(c);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

// Enough query tiles to fill the GPU: one block walks every key of its rows (no split).
TEST(GpuAttentionMask, LongQueriesUnsplit) {
  uint64_t seed = 9650;
  for (DType dt : {DType::kF16, DType::kF32})
    for (Kind kind : {Kind::kBool, Kind::kAdditive}) {
      GpuCase c = mask_case(dt, kind, {{2, 3}, 4100, 300, 32, 32, {2, 1, 4100, 300}}, seed += 4);
      EXPECT_GT(cpu_nans(c), 0);
      expect_gpu_matches_cpu(c);
      if (::testing::Test::HasFatalFailure()) return;
    }
}

// seq_first Q, K, V, O ([B, S, H, D]); the mask still indexes [B, H, Nq, Nk].
TEST(GpuAttentionMask, SeqFirstLayouts) {
  uint64_t seed = 9700;
  for (DType dt : {DType::kF16, DType::kF32})
    for (Kind kind : {Kind::kBool, Kind::kAdditive}) {
      const int64_t b = 2, h = 3, nq = 37, nk = 300, d = 64;
      GpuCase c = mask_case(dt, kind, {{b, h}, nq, nk, d, d, {b, 1, nq, nk}}, seed += 4);
      c.inputs[0] = random_tensor(dt, {b, nq, h, d}, seed, -2, 2);
      c.inputs[1] = random_tensor(dt, {b, nk, h, d}, seed + 1, -2, 2);
      c.inputs[2] = random_tensor(dt, {b, nk, h, d}, seed + 2);
      c.attrs.set("seq_first", std::vector<int64_t>{1, 1, 1, 1});
      c.gpu_runs = 3;
      expect_gpu_matches_cpu(c);
      if (::testing::Test::HasFatalFailure()) return;
    }
}

// A mask broadcast along one of two dims before the heads has no single outer stride: refused,
// naming the mask, rather than read wrongly.
TEST(GpuAttentionMask, PartlyBroadcastOuterDimsAreUnsupported) {
  GpuCase c = mask_case(DType::kF16, Kind::kBool, {{2, 3, 2}, 5, 7, 32, 32, {2, 1, 2, 5, 7}}, 9800);
  expect_gpu_unsupported(c, "mask");
}

}  // namespace
}  // namespace kiln::gpu_test
