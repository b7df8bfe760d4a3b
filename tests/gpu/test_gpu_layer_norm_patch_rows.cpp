// kiln.LayerNormPatchRows on the GPU (layer_norm.cu's row kernels with the second destination)
// against the CPU reference: SegFormer's widths (32, 64, 160, 320, 512) on the fast path, widths
// that take the element path (30, and 36 in fp16) and the block path (1030), patches 1–8 over
// pictures of 3 × 5 windows (and one of a single window), fp32, fp16 and both mixed forms, with
// B and without. Y and P are compared with the reference; P is also compared bit for bit with the
// GPU's own Y moved to the window rows (the kernel stores one value twice). Without Y (an unread
// output) only P is written; direct launches on raw memory with guard bytes check that neither
// destination is written outside its rows, and that an unaligned P takes the element path.
#include <cuda_runtime_api.h>

#include <cstring>
#include <string>

#include "gpu_compare.h"
#include "layer_norm_tolerance.h"
#include "guarded_device_buffer.h"
#include "ops/norm/layer_norm_launch.h"
#include "runtime/cpu_executor.h"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/cuda_executor.h"

namespace kiln::gpu_test {
namespace {

struct Picture {
  int64_t B = 2, wh = 3, ww = 5, p = 2, C = 64;
  int64_t H() const { return wh * p; }
  int64_t W() const { return ww * p; }
};

// Inputs and tolerances as GpuLayerNorm's: one type, X near 30 with a spread of 1 (E[x^2] -
// mean^2 would fail it); mixed, X in [-4, 4).
GpuCase make_case(DType x, DType y, const Picture& s, bool bias, uint64_t seed) {
  const bool mixed = x != y;
  GpuCase c{"LayerNormPatchRows",
            {random_tensor(x, {s.B, s.H() * s.W(), s.C}, seed, mixed ? -4 : 30, mixed ? 4 : 31),
             random_tensor(y, {s.C}, seed + 1, 0.5, 1.5)},
            {1, 2}};
  if (bias) c.inputs.push_back(random_tensor(y, {s.C}, seed + 2));
  c.domain = "kiln";
  c.opset = 1;
  c.attrs.set("height", s.H());
  c.attrs.set("width", s.W());
  c.attrs.set("patch", s.p);
  c.attrs.set("epsilon", 1e-5f);
  c.num_outputs = 2;
  c.seed = seed;
  layer_norm_tolerance(c, y, mixed);
  return c;
}

// Y [B, H·W, C] moved to the window rows, as the unfused Reshape → Transpose → Reshape does.
Tensor window_rows(const Tensor& y, const Picture& s) {
  Tensor out(y.dtype(), {s.B, s.wh * s.ww, s.p * s.p * s.C});
  const size_t row = size_t(s.C) * dtype_size(y.dtype());
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t ty = 0; ty < s.H(); ++ty)
      for (int64_t tx = 0; tx < s.W(); ++tx) {
        const int64_t from = (b * s.H() + ty) * s.W() + tx;
        const int64_t to = ((b * s.wh + ty / s.p) * s.ww + tx / s.p) * s.p * s.p + (ty % s.p) * s.p + tx % s.p;
        std::memcpy(static_cast<char*>(out.raw()) + size_t(to) * row,
                    static_cast<const char*>(y.raw()) + size_t(from) * row, row);
      }
  return out;
}

void expect_same_bits(const Tensor& got, const Tensor& want) {
  ASSERT_EQ(got.dtype(), want.dtype());
  ASSERT_EQ(got.dims(), want.dims());
  EXPECT_EQ(std::memcmp(got.raw(), want.raw(), got.nbytes()), 0) << "P differs from the GPU's Y moved to the windows";
}

const std::pair<DType, DType> kForms[] = {
    {DType::kF32, DType::kF32}, {DType::kF16, DType::kF16}, {DType::kF32, DType::kF16}, {DType::kF16, DType::kF32}};

std::string label(DType x, DType y, const Picture& s, bool bias) {
  return std::string(dtype_name(x)) + " -> " + dtype_name(y) + " B " + std::to_string(s.B) + " " +
         std::to_string(s.H()) + "x" + std::to_string(s.W()) + " patch " + std::to_string(s.p) + " C " +
         std::to_string(s.C) + (bias ? "" : " no B");
}

// Both outputs against the reference, and P against the GPU's Y.
void run_both(DType x, DType y, const Picture& s, bool bias, uint64_t seed, int gpu_runs = 1) {
  SCOPED_TRACE(label(x, y, s, bias));
  GpuCase c = make_case(x, y, s, bias, seed);
  c.gpu_runs = gpu_runs;
  expect_gpu_matches_cpu(c);
  if (::testing::Test::HasFatalFailure()) return;
  const Graph g = one_node_graph(c);
  const TensorMap got = CudaExecutor(g).run({{"in0", c.inputs[0]}});
  expect_same_bits(got.at("out1"), window_rows(got.at("out0"), s));
}

TEST(GpuLayerNormPatchRows, SegFormerWidthsAndPatches) {
  uint64_t seed = 21000;
  int n = 0;
  for (const auto& [x, y] : kForms)
    for (int64_t C : {32, 64, 160, 320, 512})
      for (int64_t p : {1, 2, 4, 8}) {
        run_both(x, y, {.B = 2, .wh = 3, .ww = 5, .p = p, .C = C}, ++n % 2 == 0, seed);
        seed += 3;
        if (::testing::Test::HasFatalFailure()) return;
      }
}

TEST(GpuLayerNormPatchRows, OddPatchesWidthsAndPaths) {
  uint64_t seed = 22000;
  int n = 0;
  for (const auto& [x, y] : kForms)
    for (int64_t C : {30, 36, 1030})  // element path (36: fp16 only), block path
      for (int64_t p : {3, 5, 7}) {
        run_both(x, y, {.B = 1, .wh = 3, .ww = 5, .p = p, .C = C}, ++n % 2 == 0, seed);
        seed += 3;
        if (::testing::Test::HasFatalFailure()) return;
      }
  // One window covering the picture; many rows (grid-stride rounds), arena and CUDA Graph replay.
  run_both(DType::kF32, DType::kF16, {.B = 3, .wh = 1, .ww = 1, .p = 6, .C = 64}, true, seed);
  run_both(DType::kF16, DType::kF16, {.B = 8, .wh = 16, .ww = 16, .p = 8, .C = 32}, true, seed + 3, 3);
  run_both(DType::kF32, DType::kF16, {.B = 2, .wh = 32, .ww = 32, .p = 4, .C = 64}, false, seed + 6, 3);
}

// Y unread: the node's first output is unnamed, only P is written (and still right).
TEST(GpuLayerNormPatchRows, WithoutY) {
  uint64_t seed = 23000;
  for (const auto& [x, y] : kForms)
    for (int64_t C : {32, 160, 30, 1030}) {
      const Picture s{.B = 2, .wh = 3, .ww = 5, .p = 4, .C = C};
      SCOPED_TRACE(label(x, y, s, true));
      GpuCase c = make_case(x, y, s, true, seed);
      seed += 3;
      Graph g = one_node_graph(c);
      g.nodes[0].outputs[0] = "";
      g.outputs = {"out1"};
      g.values.erase("out0");
      const TensorMap feeds = {{"in0", c.inputs[0]}};
      const Tensor want = CpuExecutor(g).run(feeds).at("out1");
      CudaExecutor gpu(g);
      for (int run = 0; run < 3; ++run) {  // first run, planned arena, CUDA Graph replay
        const TensorMap got = gpu.run(feeds);
        ASSERT_EQ(got.size(), 1u);
        test::expect_close(got.at("out1"), test::to_doubles(want), c.atol, c.rtol);
        if (::testing::Test::HasFailure()) return;
      }
    }
}

// launch_layer_norm on raw memory: P (and Y when given) guarded, P one element off 16-byte
// alignment where `shift_p` (the element path then), compared with the CPU reference.
void expect_direct_launch(DType x, DType y, const Picture& s, bool with_y, bool shift_p, uint64_t seed) {
  SCOPED_TRACE(label(x, y, s, true) + (with_y ? " with Y" : " without Y") + (shift_p ? ", P unaligned" : ""));
  const GpuCase c = make_case(x, y, s, true, seed);
  const TensorMap want = CpuExecutor(one_node_graph(c)).run({{"in0", c.inputs[0]}});
  const size_t xs = dtype_size(x), ys = dtype_size(y), n = size_t(s.B * s.H() * s.W() * s.C);
  Guarded dx(&c.inputs[0], n * xs, 0, xs), dy(nullptr, n * ys, 0, ys), dp(nullptr, n * ys, shift_p, ys);
  Guarded ds(&c.inputs[1], size_t(s.C) * ys, 0, ys), db(&c.inputs[2], size_t(s.C) * ys, 0, ys);
  norm::LayerNormArgs a;
  a.x = dx.data();
  a.scale = ds.data();
  a.bias = db.data();
  a.y = with_y ? dy.data() : nullptr;
  a.rows_out = dp.data();
  a.row_map = {uint32_t(s.H()), uint32_t(s.W()), uint32_t(s.p)};
  a.rows = s.B * s.H() * s.W();
  a.inner = s.C;
  a.eps = 1e-5f;
  norm::launch_layer_norm(x, y, a, nullptr);
  CUDA_CHECK(cudaDeviceSynchronize());
  const Tensor& want_p = want.at("out1");
  test::expect_close(dp.read(y, want_p.dims()), test::to_doubles(want_p), c.atol, c.rtol);
  const Tensor got_y = dy.read(y, {s.B, s.H() * s.W(), s.C});  // guards hold either way
  if (with_y) test::expect_close(got_y, test::to_doubles(want.at("out0")), c.atol, c.rtol);
  else
    for (size_t i = 0; i < got_y.nbytes(); ++i)
      ASSERT_EQ(static_cast<const unsigned char*>(got_y.raw())[i], kPattern) << "Y written at byte " << i;
}

TEST(GpuLayerNormPatchRows, GuardsHoldAndUnalignedRowsFallBack) {
  uint64_t seed = 24000;
  for (const auto& [x, y] : kForms)
    for (int64_t C : {64, 320, 1030})
      for (bool with_y : {true, false})
        for (bool shift : {false, true}) {
          expect_direct_launch(x, y, {.B = 2, .wh = 3, .ww = 5, .p = 2, .C = C}, with_y, shift, seed);
          seed += 3;
          if (::testing::Test::HasFailure()) return;
        }
}

}  // namespace
}  // namespace kiln::gpu_test
