// LayerNormalization, Softmax and kiln.MaskedSoftmax on the GPU against the CPU reference
// (double statistics).
#include <cmath>

#include "gpu_compare.h"
#include "ops/op_util.h"
#include "ops/reduce/masked_softmax.h"

namespace kiln::gpu_test {
namespace {

TEST(GpuNorm, LayerNorm) {
  struct L {
    Dims x;
    int64_t axis;
    bool bias;
    int outputs;
  };
  const std::vector<L> cases = {{{2, 17, 33}, -1, true, 1},   {{3, 5, 7}, 1, true, 1},
                                {{1, 1025, 64}, -1, false, 1}, {{4, 3}, -1, true, 3},
                                {{2, 3, 1023}, 2, true, 3},    {{1}, 0, true, 1},
                                // each register-row width (<= 32 ... 1024) and the block kernel past it
                                {{5, 129}, -1, true, 1},       {{3, 300}, -1, true, 3},
                                {{9, 512}, -1, true, 1},       {{3, 1024}, -1, false, 1},
                                {{2, 1025}, -1, true, 3},      {{1, 3, 4097}, -1, true, 1},
                                // vector accesses: widths a multiple of 4 (fp32) or 8 (fp16), ragged lane groups
                                // (more in test_gpu_layer_norm.cpp)
                                {{7, 4}, -1, true, 1},         {{3, 160}, -1, true, 3},
                                {{2, 5, 320}, -1, false, 1},   {{33, 256}, -1, true, 1},
                                {{2, 1020}, -1, true, 1}};
  uint64_t seed = 900;
  for (DType dt : {DType::kF32, DType::kF16})
    for (const L& l : cases) {
      const int axis = int(l.axis < 0 ? l.axis + int64_t(l.x.size()) : l.axis);
      Dims inner(l.x.begin() + axis, l.x.end());
      // A large mean over a small spread: catches E[x^2] - mean^2 variance.
      GpuCase c{"LayerNormalization", {random_tensor(dt, l.x, seed, 30, 31), random_tensor(dt, inner, seed + 1, 0.5, 1.5)},
                {1, 2}};
      if (l.bias) c.inputs.push_back(random_tensor(dt, inner, seed + 2));
      c.attrs.set("axis", l.axis);
      c.attrs.set("epsilon", 1e-5f);
      c.num_outputs = l.outputs;
      c.seed = seed;
      seed += 3;
      if (dt == DType::kF16) f16_tolerance(c, 1e-2, 1e-2);  // inputs near 30 keep ~0.03 resolution
      else c.atol = 2e-4, c.rtol = 1e-4;
      expect_gpu_matches_cpu(c);
      if (::testing::Test::HasFatalFailure()) return;
    }
}

TEST(GpuReduce, Softmax) {
  struct S {
    Dims x;
    int64_t axis;
    int opset;
  };
  const std::vector<S> cases = {{{3, 1023}, -1, 13}, {{2, 17, 5}, 1, 13}, {{2, 3, 4}, 1, 11},
                                {{5, 1}, -1, 13},    {{1, 2, 1025}, -1, 17}, {{7, 3, 2}, 0, 13},
                                // warp-per-row widths: 1..32 values per lane, ragged rows, many rows
                                {{9, 31}, -1, 13},   {{11, 100}, -1, 13},  {{3, 256}, -1, 13},
                                {{2, 511}, -1, 13},  {{37, 1024}, -1, 13}, {{4099, 64}, -1, 13}};
  uint64_t seed = 1000;
  for (const char* op : {"Softmax", "LogSoftmax"})
    for (DType dt : {DType::kF32, DType::kF16})
      for (const S& s : cases) {
        GpuCase c{op, {random_tensor(dt, s.x, seed, -8, 8)}};
        c.attrs.set("axis", s.axis);
        c.opset = s.opset;
        c.seed = seed++;
        if (dt == DType::kF16) f16_tolerance(c);
        else c.atol = 1e-6, c.rtol = 1e-5;
        expect_gpu_matches_cpu(c);
        if (::testing::Test::HasFatalFailure()) return;
      }
}

// Masks broadcast along every kind of axis (RCDA's [B, 1, 1, W]; one flag per row, so whole rows
// masked: NaN on both sides), about a third True, on each row kernel (warp widths and the block
// kernel past 1024), fp32 and fp16; masked elements hold NaN and +inf in X, which must not leak.
TEST(GpuReduce, MaskedSoftmax) {
  struct S {
    Dims x, mask;
  };
  const std::vector<S> cases = {{{2, 8, 37, 76}, {2, 1, 1, 76}}, {{1, 8, 300, 50}, {1, 1, 1, 50}},
                                {{9, 31}, {31}},                 {{4, 129}, {4, 1}},
                                {{3, 5, 300}, {3, 5, 300}},      {{2, 1100}, {2, 1100}},
                                {{33}, {33}},                    {{3, 2, 7, 1025}, {1, 2, 1, 1025}},
                                {{5, 1}, {5, 1}}};
  uint64_t seed = 1100;
  for (DType dt : {DType::kF32, DType::kF16})
    for (const S& s : cases) {
      Tensor x = random_tensor(dt, s.x, seed, -8, 8), m(DType::kBool, s.mask);
      for (int64_t i = 0; i < m.numel(); ++i) m.data<bool>()[i] = ((uint64_t(i) + seed) * 2654435761u >> 9) % 3 == 0;
      // Masked positions hold NaN or +inf (what the mask must hide); unmasked ones stay random.
      const Dims st = broadcast_strides(s.mask, s.x);
      for (int64_t i = 0; i < x.numel(); ++i) {
        int64_t off = 0, rem = i;
        for (int d = int(s.x.size()) - 1; d >= 0; --d) off += (rem % s.x[size_t(d)]) * st[size_t(d)], rem /= s.x[size_t(d)];
        if (!m.data<bool>()[off] || i % 5 > 1) continue;
        const float v = i % 5 ? INFINITY : NAN;
        if (dt == DType::kF16) x.data<f16>()[i].bits = float_to_f16(v);
        else x.data<float>()[i] = v;
      }
      GpuCase c{reduce::kMaskedSoftmaxOp, {x, m}};
      c.domain = kKilnDomain;
      c.seed = seed++;
      c.gpu_runs = 3;
      if (dt == DType::kF16) f16_tolerance(c);
      else c.atol = 1e-6, c.rtol = 1e-5;
      SCOPED_TRACE(dims_to_string(s.x) + " mask " + dims_to_string(s.mask));
      expect_gpu_matches_cpu(c);
      if (::testing::Test::HasFatalFailure()) return;
    }
}

}  // namespace
}  // namespace kiln::gpu_test
