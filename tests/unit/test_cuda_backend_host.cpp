// Host-side checks of the CUDA backend that need no GPU (they run in CI): strided layouts,
// CUDA kernel coverage of the reference models, and the no-GPU error.
#ifdef KILN_WITH_CUDA
#include <gtest/gtest.h>

#include <filesystem>

#include "io/npy.h"
#include "onnx/importer.h"
#include "passes/pipeline.h"
#include "runtime/cuda/cuda_executor.h"
#include "runtime/cuda/cuda_session.h"
#include "runtime/cuda/strided_layout.h"

namespace kiln {
namespace {
namespace fs = std::filesystem;

TEST(CudaStridedLayout, MergesContiguousRunsAndDropsUnitDims) {
  // A contiguous 2x3x4 copy is one run of 24.
  cuda::StridedLayout l = cuda::make_layout({2, 3, 4}, {{12, 4, 1}, {12, 4, 1}});
  EXPECT_EQ(l.rank, 1);
  EXPECT_EQ(l.dims[0], 24);
  EXPECT_TRUE(cuda::layout_is_contiguous(l, 2));
  // Transposing the last two axes of [2,3,4]: the leading dim cannot merge with a permuted one.
  l = cuda::make_layout({2, 4, 3}, {{12, 3, 1}, {12, 1, 4}});
  EXPECT_EQ(l.rank, 3);
  EXPECT_FALSE(cuda::layout_is_contiguous(l, 2));
  // Broadcasting [3,1] against [3,5] and a unit dim in front.
  l = cuda::make_layout({1, 3, 5}, {{15, 5, 1}, {0, 1, 0}});
  EXPECT_EQ(l.rank, 2);
  EXPECT_EQ(l.strides[1][0], 1);
  EXPECT_EQ(l.strides[1][1], 0);
  // A scalar.
  l = cuda::make_layout({}, {{}, {}});
  EXPECT_EQ(l.rank, 1);
  EXPECT_EQ(l.dims[0], 1);
}

TEST(CudaStridedLayout, WidensContiguousInnerRuns) {
  // SegFormer's row gather [1, 4, 8, 4, 8, 64] -> (0,1,3,2,4,5) in fp16: runs of 8 x 64 halves.
  const std::vector<int64_t> in_strides = {4 * 8 * 4 * 8 * 64, 8 * 4 * 8 * 64, 4 * 8 * 64, 8 * 64, 64, 1};
  std::vector<int64_t> dims = {1, 4, 4, 8, 8, 64}, out(6), in(6);
  const int perm[6] = {0, 1, 3, 2, 4, 5};
  int64_t run = 1;
  for (int d = 5; d >= 0; --d) out[size_t(d)] = run, run *= dims[size_t(d)], in[size_t(d)] = in_strides[size_t(perm[d])];
  cuda::StridedLayout l = cuda::make_layout(dims, {out, in});
  ASSERT_EQ(l.rank, 4);  // [4, 4, 8, 8*64]: the kernel column and channels merge
  const uintptr_t aligned[2] = {4096, 8192};
  cuda::StridedLayout w = l;
  EXPECT_EQ(cuda::widen_layout(w, 2, 2, aligned), 16u);
  EXPECT_EQ(w.dims[3], 8 * 64 / 8);
  for (int k = 0; k < 2; ++k)
    for (int d = 0; d < 3; ++d) EXPECT_EQ(w.strides[k][d] * 8, l.strides[k][d]);
  // An input only 4-byte aligned: 4-byte elements.
  const uintptr_t four[2] = {4096, 8196};
  w = l;
  EXPECT_EQ(cuda::widen_layout(w, 2, 2, four), 4u);
  EXPECT_EQ(w.dims[3], 8 * 64 / 2);
  // A run of 3 halves cannot widen; nor can a transpose (inner stride not 1 on the input).
  w = cuda::make_layout({5, 3}, {{3, 1}, {4, 1}});
  EXPECT_EQ(cuda::widen_layout(w, 2, 2, aligned), 2u);
  EXPECT_EQ(w.dims[1], 3);
  w = cuda::make_layout({4, 8}, {{8, 1}, {1, 4}});
  EXPECT_EQ(cuda::widen_layout(w, 2, 4, aligned), 4u);
  // An outer stride of 6 floats (24 bytes) allows 8-byte elements, not 16.
  w = cuda::make_layout({5, 4}, {{4, 1}, {6, 1}});
  EXPECT_EQ(cuda::widen_layout(w, 2, 4, aligned), 8u);
  EXPECT_EQ(w.strides[1][0], 3);
}

TEST(CudaStridedLayout, TooManyIrregularDimsIsAnError) {
  std::vector<int64_t> dims(9, 2), a(9), b(9);
  for (int i = 0; i < 9; ++i) a[size_t(i)] = int64_t(1) << (8 - i), b[size_t(i)] = int64_t(1) << i;  // reversed
  EXPECT_THROW(cuda::make_layout(dims, {a, b}), Error);
}

TEST(CudaCoverage, EveryReferenceModelHasCudaKernels) {
  fs::path root = fs::path(KILN_TEST_DIR) / "models";
  int models = 0;
  for (const auto& e : fs::directory_iterator(root)) {
    if (!fs::exists(e.path() / "model.onnx")) continue;
    ImportOptions import;
    for (const auto& in : fs::directory_iterator(e.path() / "inputs"))
      import.input_shapes[in.path().stem().string()] = read_npy(in.path().string()).dims();
    Graph g = import_onnx_file((e.path() / "model.onnx").string(), import);
    run_passes(g);
    std::vector<std::string> missing = ops_without_cuda_kernel(g);
    std::string list;
    for (const auto& op : missing) list += " " + op;
    EXPECT_TRUE(missing.empty()) << e.path().filename() << " lacks CUDA kernels for:" << list;
    ++models;
  }
  EXPECT_GT(models, 0);
}

TEST(CudaExecutorHost, NoGpuIsAClearUserError) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "a GPU is present";
  Graph g;
  g.opsets[""] = 17;
  try {
    CudaExecutor exec(g);
    ADD_FAILURE() << "expected an error without a GPU";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("no CUDA GPU"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kiln
#endif  // KILN_WITH_CUDA
