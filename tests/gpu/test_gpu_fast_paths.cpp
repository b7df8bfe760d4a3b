// The specialized CUDA paths against the CPU reference: the tiled batched transpose (shapes that
// collapse to [batch, rows, cols], edges not multiples of the tile), the vectorized and periodic
// elementwise kernels (scalar and trailing-axis broadcasts, lengths that are and are not multiples
// of the 16-byte vector, either operand repeating) and 1x1 convolutions as GEMMs.
#include "gpu_compare.h"

namespace kiln::gpu_test {
namespace {

TEST(GpuFastPaths, TiledTranspose) {
  struct C {
    Dims dims;
    std::vector<int64_t> perm;
  };
  const std::vector<C> cases = {
      {{65, 33}, {1, 0}},                 // one plane, ragged tiles
      {{3, 37, 1025}, {0, 2, 1}},         // batched
      {{2, 64, 33, 17}, {0, 2, 3, 1}},    // collapses to [2, 33*17, 64]
      {{1, 4096, 64}, {0, 2, 1}},         // SegFormer token <-> channel layout
      {{2, 5, 1, 7}, {0, 3, 2, 1}},       // size-1 axis dropped
  };
  uint64_t seed = 900;
  for (DType dt : {DType::kF32, DType::kF16, DType::kI64, DType::kBool})
    for (const C& k : cases) {
      GpuCase c{"Transpose", {random_tensor(dt, k.dims, seed, -9, 9)}};
      c.attrs.set("perm", k.perm);
      c.seed = seed++;
      c.atol = c.rtol = 0;
      expect_gpu_matches_cpu(c);
      if (::testing::Test::HasFatalFailure()) return;
    }
}

TEST(GpuFastPaths, VectorizedAndPeriodicBinary) {
  struct C {
    const char* op;
    Dims a, b;
  };
  const std::vector<C> cases = {
      {"Mul", {4, 1024}, {}},          // scalar, vectorized
      {"Div", {}, {3, 40}},            // scalar first operand
      {"Add", {7, 64}, {64}},          // bias over the last axis
      {"Sub", {64}, {7, 64}},          // the repeating operand first
      {"Add", {5, 13}, {13}},          // period not a multiple of the vector
      {"Mul", {3, 1023}, {1}},         // length not a multiple of the vector
      {"Add", {2, 3, 256}, {3, 256}},  // period spanning two axes
      {"Mul", {4, 8, 16}, {4, 1, 16}}, // a middle broadcast: the generic path
  };
  uint64_t seed = 950;
  for (DType dt : {DType::kF32, DType::kF16})
    for (const C& k : cases) {
      GpuCase c{k.op, {random_tensor(dt, k.a, seed, 1, 3), random_tensor(dt, k.b, seed + 1, 1, 3)}};
      c.seed = seed;
      seed += 2;
      if (dt == DType::kF16) f16_tolerance(c);
      expect_gpu_matches_cpu(c);
      if (::testing::Test::HasFatalFailure()) return;
    }
  for (DType dt : {DType::kF32, DType::kF16})
    for (Dims d : {Dims{4096}, Dims{4097}, Dims{3, 8}}) {
      GpuCase c{"Erf", {random_tensor(dt, d, seed++)}};
      if (dt == DType::kF16) f16_tolerance(c);
      expect_gpu_matches_cpu(c);
    }
}

}  // namespace
}  // namespace kiln::gpu_test
