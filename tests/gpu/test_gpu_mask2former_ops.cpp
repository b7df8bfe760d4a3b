// The ops Mask2Former adds on the GPU: Einsum, GridSample, InstanceNormalization, Pad and the
// Reduce* family, against the CPU reference.
#include <limits>

#include "gpu_compare.h"

namespace kiln::gpu_test {
namespace {

TEST(GpuLinear, Einsum) {
  struct E {
    std::string eq;
    Dims a, b;
  };
  const std::vector<E> cases = {{"bqc,bchw->bqhw", {2, 5, 17}, {2, 17, 3, 7}},
                                {"ij,jk->ik", {17, 33}, {33, 5}},
                                {"bij,bkj->bik", {3, 4, 5}, {3, 6, 5}},
                                {"ij,kj->ki", {7, 9}, {4, 9}},
                                {"bhqd,bhkd->bhqk", {1, 2, 17, 8}, {1, 2, 9, 8}},
                                {"...ij,...jk->...ik", {2, 3, 4}, {2, 4, 5}}};
  uint64_t seed = 2100;
  for (DType dt : {DType::kF32, DType::kF16})
    for (const E& e : cases) {
      GpuCase c{"Einsum", {random_tensor(dt, e.a, seed), random_tensor(dt, e.b, seed + 1)}};
      c.attrs.set("equation", e.eq);
      c.opset = 12;
      c.seed = seed;
      seed += 2;
      if (dt == DType::kF16) f16_tolerance(c, 1e-2, 5e-3);
      expect_gpu_matches_cpu(c);
      if (::testing::Test::HasFatalFailure()) return;
    }
}

TEST(GpuSpatial, GridSample) {
  uint64_t seed = 2200;
  for (DType dt : {DType::kF32, DType::kF16})
    for (const char* mode : {"bilinear", "nearest"})
      for (const char* pad : {"zeros", "border", "reflection"})
        for (int64_t align : {0, 1}) {
          // Grid points beyond [-1, 1] exercise the padding modes.
          GpuCase c{"GridSample", {random_tensor(dt, {2, 3, 7, 9}, seed), random_tensor(dt, {2, 5, 11, 2}, seed + 1, -1.3, 1.3)}};
          c.attrs.set("mode", std::string(mode));
          c.attrs.set("padding_mode", std::string(pad));
          c.attrs.set("align_corners", align);
          c.opset = 16;
          c.seed = seed;
          seed += 2;
          if (dt == DType::kF16) f16_tolerance(c);
          else c.atol = 1e-6, c.rtol = 1e-5;
          expect_gpu_matches_cpu(c);
          if (::testing::Test::HasFatalFailure()) return;
        }
}

TEST(GpuNorm, InstanceNorm) {
  uint64_t seed = 2300;
  for (DType dt : {DType::kF32, DType::kF16})
    for (Dims x : {Dims{2, 3, 17, 5}, Dims{1, 16, 1025}, Dims{3, 1, 1}, Dims{1, 4, 304, 200}, Dims{2, 5, 6001}}) {
      GpuCase c{"InstanceNormalization", {random_tensor(dt, x, seed, 4, 6), random_tensor(dt, {x[1]}, seed + 1),
                                          random_tensor(dt, {x[1]}, seed + 2)}, {1, 2}};
      c.attrs.set("epsilon", 1e-5f);
      c.seed = seed;
      seed += 3;
      if (dt == DType::kF16) f16_tolerance(c, 1e-2, 1e-2);
      else c.atol = 1e-4, c.rtol = 1e-4;
      expect_gpu_matches_cpu(c);
      if (::testing::Test::HasFatalFailure()) return;
    }
}

TEST(GpuTensor, Pad) {
  struct P {
    std::string mode;
    std::vector<int64_t> pads;
  };
  const std::vector<P> cases = {{"constant", {0, 1, 2, 0, 3, 1}}, {"constant", {0, -1, 1, 0, 2, -2}},
                                {"edge", {1, 2, 0, 2, 1, 3}},      {"reflect", {0, 2, 3, 0, 2, 4}}};
  uint64_t seed = 2400;
  for (DType dt : {DType::kF32, DType::kF16, DType::kI64})
    for (const P& p : cases) {
      GpuCase c{"Pad", {random_tensor(dt, {2, 5, 7}, seed, -9, 9), int64_tensor(p.pads)}, {1, 2}};
      if (p.mode == "constant") {
        Tensor v(dt, {});
        if (dt == DType::kF32) v.data<float>()[0] = 1.5f;
        else if (dt == DType::kF16) v.data<f16>()[0] = from_double<f16>(1.5);
        else v.data<int64_t>()[0] = 7;
        c.inputs.push_back(v);
      }
      c.attrs.set("mode", p.mode);
      c.opset = 13;
      c.seed = seed++;
      c.atol = c.rtol = 0;
      expect_gpu_matches_cpu(c);
      if (::testing::Test::HasFatalFailure()) return;
    }
}

TEST(GpuReduce, ReduceOps) {
  struct R {
    std::vector<int64_t> axes;
    int64_t keepdims;
  };
  const std::vector<R> cases = {{{1}, 1}, {{0, 2}, 0}, {{}, 1}, {{-1}, 0}, {{0, 1, 2}, 1}};
  uint64_t seed = 2500;
  for (const char* op : {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin"})
    for (DType dt : {DType::kF32, DType::kF16, DType::kI64})  // int64: Mask2Former sums masks as int64
      for (const R& r : cases) {
        GpuCase c{op, {random_tensor(dt, {3, 17, 1025}, seed, dt == DType::kI64 ? -100 : -1, dt == DType::kI64 ? 100 : 1)}};
        const bool axes_input = std::string(op) == "ReduceSum";  // opset 13: ReduceSum takes axes as an input
        if (axes_input && !r.axes.empty()) {
          c.inputs.push_back(int64_tensor(r.axes));
          c.constant_inputs = {1};
        } else if (!r.axes.empty()) {
          c.attrs.set("axes", r.axes);
        }
        c.attrs.set("keepdims", r.keepdims);
        c.opset = 13;
        c.seed = seed++;
        if (dt == DType::kF16) f16_tolerance(c, 1e-2, 2e-3);
        else if (dt == DType::kI64) c.atol = c.rtol = 0;
        else c.atol = 1e-5, c.rtol = 1e-6;
        expect_gpu_matches_cpu(c);
        if (::testing::Test::HasFatalFailure()) return;
      }
}

// Reduced axes forming one run (reduce_runs.cu): AnchorDETR's key means over rows / columns of
// [B, h, w, C], runs around size-1 axes, inner extents not a multiple of 32, and NaN propagation.
TEST(GpuReduce, ReduceOneRun) {
  struct R {
    std::vector<int64_t> dims, axes;
  };
  const std::vector<R> cases = {{{2, 13, 19, 40}, {1}}, {{2, 13, 19, 40}, {2}}, {{2, 1, 5, 1, 33}, {1, 2, 3}},
                                {{3, 7, 9}, {1, 2}},    {{70000, 3}, {1}},     {{5, 300, 1}, {1}}};
  uint64_t seed = 2600;
  for (const char* op : {"ReduceMean", "ReduceMax", "ReduceMin", "ReduceSum"})
    for (DType dt : {DType::kF32, DType::kF16, DType::kI32})
      for (const R& r : cases) {
        Tensor x = random_tensor(dt, r.dims, seed, dt == DType::kI32 ? -100 : -1, dt == DType::kI32 ? 100 : 1);
        if (dt == DType::kF32 && std::string(op) != "ReduceSum") x.data<float>()[7] = std::numeric_limits<float>::quiet_NaN();
        GpuCase c{op, {x}};
        if (std::string(op) == "ReduceSum") {
          c.inputs.push_back(int64_tensor(r.axes));
          c.constant_inputs = {1};
        } else {
          c.attrs.set("axes", r.axes);
        }
        c.opset = 13;
        c.seed = seed++;
        if (dt == DType::kF16) f16_tolerance(c, 1e-2, 2e-3);
        else if (dt == DType::kI32) c.atol = c.rtol = 0;
        else c.atol = 1e-5, c.rtol = 1e-6;
        expect_gpu_matches_cpu(c);
        if (::testing::Test::HasFatalFailure()) return;
      }
}

}  // namespace
}  // namespace kiln::gpu_test
