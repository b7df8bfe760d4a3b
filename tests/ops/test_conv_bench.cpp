// Throughput of Conv on SegFormer-B0 (512x512) shapes, next to a bare sgemm of the largest
// one. Disabled by default (timing, not correctness); run with
//   kiln_tests --gtest_also_run_disabled_tests --gtest_filter='ConvBench.*'
#include <cblas.h>

#include <chrono>
#include <cstdio>

#include "test_conv_ref.h"

namespace kiln::test {
namespace {

using convref::attrs_of;

template <class Fn>
double best_seconds(Fn&& fn, int reps = 20) {
  fn();  // warm-up: page faults, OpenBLAS thread start
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

struct Shape {
  const char* what;
  Dims x, w;
  int64_t group, stride, pad;
};

TEST(ConvBench, DISABLED_SegFormerShapes) {
  const Shape shapes[] = {
      {"patch embed 7x7/4 3->32", {1, 3, 512, 512}, {32, 3, 7, 7}, 1, 4, 3},
      {"patch embed 3x3/2 32->64", {1, 32, 128, 128}, {64, 32, 3, 3}, 1, 2, 1},
      {"patch embed 3x3/2 64->160", {1, 64, 64, 64}, {160, 64, 3, 3}, 1, 2, 1},
      {"patch embed 3x3/2 160->256", {1, 160, 32, 32}, {256, 160, 3, 3}, 1, 2, 1},
      {"spatial reduction 8x8/8 32", {1, 32, 128, 128}, {32, 32, 8, 8}, 1, 8, 0},
      {"spatial reduction 4x4/4 64", {1, 64, 64, 64}, {64, 64, 4, 4}, 1, 4, 0},
      {"spatial reduction 2x2/2 160", {1, 160, 32, 32}, {160, 160, 2, 2}, 1, 2, 0},
      {"depthwise 3x3 128 @128^2", {1, 128, 128, 128}, {128, 1, 3, 3}, 128, 1, 1},
      {"depthwise 3x3 256 @64^2", {1, 256, 64, 64}, {256, 1, 3, 3}, 256, 1, 1},
      {"depthwise 3x3 640 @32^2", {1, 640, 32, 32}, {640, 1, 3, 3}, 640, 1, 1},
      {"depthwise 3x3 1024 @16^2", {1, 1024, 16, 16}, {1024, 1, 3, 3}, 1024, 1, 1},
      {"pointwise 1x1 1024->256 @128^2", {1, 1024, 128, 128}, {256, 1024, 1, 1}, 1, 1, 0},
  };
  double total = 0;
  for (const Shape& s : shapes) {
    Tensor X = random_tensor(DType::kF32, s.x, 1);
    Tensor W = random_tensor(DType::kF32, s.w, 2);
    Tensor B = random_tensor(DType::kF32, {s.w[0]}, 3);
    Attributes a = attrs_of({{"group", s.group}, {"strides", Dims{s.stride, s.stride}},
                             {"pads", Dims{s.pad, s.pad, s.pad, s.pad}}});
    Tensor Y;
    double t = best_seconds([&] { Y = convref::run("Conv", {X, W, B}, a)[0]; });
    const double flops = 2.0 * double(Y.numel()) * double(s.w[1] * s.w[2] * s.w[3]);
    std::printf("%-34s %8.2f ms %8.1f GFLOP/s\n", s.what, t * 1e3, flops / t * 1e-9);
    total += t;
  }
  std::printf("%-34s %8.2f ms\n", "sum (one of each)", total * 1e3);
  // Bare sgemm of the pointwise shape, the ceiling for the GEMM paths.
  const int m = 256, n = 128 * 128, k = 1024;
  std::vector<float> A(size_t(m) * k, 0.5f), Bm(size_t(k) * n, 0.25f), C(size_t(m) * n);
  double t = best_seconds([&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, A.data(), k, Bm.data(),
                n, 0.0f, C.data(), n);
  });
  std::printf("%-34s %8.2f ms %8.1f GFLOP/s\n", "bare sgemm 256x16384x1024", t * 1e3,
              2.0 * m * n * k / t * 1e-9);
}

TEST(ConvBench, DISABLED_ConvTranspose) {
  struct T { const char* what; Dims x, w; int64_t k, pad, op; };
  for (const T& c : {T{"convT 2x2/2 256->128 @64^2", {1, 256, 64, 64}, {256, 128, 2, 2}, 2, 0, 0},
                     T{"convT 3x3/2 64->32 @128^2", {1, 64, 128, 128}, {64, 32, 3, 3}, 3, 1, 1}}) {
    Tensor X = random_tensor(DType::kF32, c.x, 1);
    Tensor W = random_tensor(DType::kF32, c.w, 2);
    Attributes a = attrs_of({{"strides", Dims{2, 2}}, {"pads", Dims{c.pad, c.pad, c.pad, c.pad}},
                             {"output_padding", Dims{c.op, c.op}}});
    double t = best_seconds([&] { convref::run("ConvTranspose", {X, W}, a); }, 5);
    const double flops = 2.0 * double(c.x[1] * c.x[2] * c.x[3]) * double(c.w[1] * c.k * c.k);
    std::printf("%-34s %8.2f ms %8.1f GFLOP/s\n", c.what, t * 1e3, flops / t * 1e-9);
  }
}

// ResNet-stem pooling (DETR / Mask2Former backbones) and SegFormer's global pooling sizes.
TEST(ConvBench, DISABLED_Pools) {
  Tensor X = random_tensor(DType::kF32, {1, 64, 400, 608}, 1);
  Attributes a = attrs_of({{"kernel_shape", Dims{3, 3}}, {"strides", Dims{2, 2}},
                           {"pads", Dims{1, 1, 1, 1}}});
  for (const char* op : {"MaxPool", "AveragePool"}) {
    Tensor Y;
    double t = best_seconds([&] { Y = convref::run(op, {X}, a)[0]; }, 5);
    std::printf("%-34s %8.2f ms %8.1f Mout/s\n", op, t * 1e3, double(Y.numel()) / t * 1e-6);
  }
  Tensor G = random_tensor(DType::kF32, {1, 256, 128, 128}, 2);
  double t = best_seconds([&] { convref::run("GlobalAveragePool", {G}); }, 5);
  std::printf("%-34s %8.2f ms\n", "GlobalAveragePool 256x128x128", t * 1e3);
}

}  // namespace
}  // namespace kiln::test
