// kiln.RowColumnRead's CUDA paths against the CPU reference: the fp16 tensor-core kernel (D
// 8/16/24/32/40/64 padded to 16/32/64; 128-row tiles of 8 warps, 64-row tiles of 2 and 4 warp
// groups; W beyond one 128-column chunk; H beyond one 64-row a_col tile and ending mid-stage; L
// not a multiple of the row tile), the CUDA-core kernel (fp16 with D 1, 5, 33 or 72; fp32
// wherever it has two blocks per multiprocessor) and the fp32 pair of cuBLASLt GEMMs (fp32 with
// fewer blocks), with batch·heads > 1 and no batch dims at all, NaN rows as a fully masked
// softmax gives them; each on the plan's first run, in the planned arena and as a CUDA Graph
// replay. Which shape of tile or fp32 path a case takes depends on the multiprocessor count;
// the comments give it for a 132-SM H100/H200. Then anchor_detr_tiny with its reads fused
// against the CPU and the unfused graph on the GPU, and a disabled benchmark of AnchorDETR's
// encoder and decoder reads at 800x1216.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "../model/model_compare.h"
#include "../unit/row_column_layer.h"
#include "fused_model_check.h"
#include "gpu_compare.h"
#include "onnx/importer.h"
#include "ops/op.h"
#include "passes/convert_precision.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"
#include "runtime/cuda/cuda_executor.h"
#include "runtime/cuda/cuda_session.h"

namespace kiln::gpu_test {
namespace {

struct Read {
  Dims batch;
  int64_t l, h, w, d;
  bool nan_rows = false;  // a_row row 3 and a_col row 5 (of every batch item) all NaN
};

Dims cat(Dims batch, int64_t a, int64_t b) {
  batch.push_back(a);
  batch.push_back(b);
  return batch;
}

// Random weights in [0, 1), each row divided by its sum as a softmax leaves it (every output
// then averages V's entries: |out| <= 1, so absolute tolerances mean what they say).
Tensor weights(DType dt, const Dims& dims, uint64_t seed) {
  const Tensor raw = random_tensor(DType::kF32, dims, seed, 0.0, 1.0);
  const int64_t n = dims.back(), rows = raw.numel() / n;
  Tensor t(dt, dims);
  for (int64_t r = 0; r < rows; ++r) {
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += raw.data<float>()[r * n + i];
    for (int64_t i = 0; i < n; ++i) {
      const float v = float(raw.data<float>()[r * n + i] / sum);
      if (dt == DType::kF16) t.data<f16>()[r * n + i].bits = float_to_f16(v);
      else t.data<float>()[r * n + i] = v;
    }
  }
  return t;
}

void set_row_nan(Tensor& t, int64_t rows, int64_t row) {
  const int64_t n = t.dims().back();
  for (int64_t i = row * n; i < t.numel(); i += rows * n)
    for (int64_t k = 0; k < n; ++k) {
      if (t.dtype() == DType::kF16) t.data<f16>()[i + k].bits = float_to_f16(NAN);
      else t.data<float>()[i + k] = NAN;
    }
}

GpuCase make_case(const Read& k, DType dt, uint64_t seed) {
  GpuCase g{"RowColumnRead", {}, {}};
  g.domain = kKilnDomain;
  g.opset = 1;
  Tensor a_col = weights(dt, cat(k.batch, k.l, k.h), seed), a_row = weights(dt, cat(k.batch, k.l, k.w), seed + 1);
  if (k.nan_rows) {
    set_row_nan(a_row, k.l, 3);
    set_row_nan(a_col, k.l, 5);
  }
  g.inputs = {a_col, a_row, random_tensor(dt, cat(k.batch, k.h, k.w * k.d), seed + 2)};
  g.seed = seed;
  g.gpu_runs = 3;
  return g;
}

void run_cases(const std::vector<Read>& cases, uint64_t seed) {
  for (DType dt : {DType::kF32, DType::kF16})
    for (const Read& k : cases) {
      GpuCase c = make_case(k, dt, seed);
      seed += 10;
      // fp16: the A operand a_col·a_row is rounded to fp16 (2^-11 relative per term, random in
      // sign), the fp32 sum once to fp16 at the end: within 2e-3 of the double reference.
      if (dt == DType::kF16) f16_tolerance(c);
      else c.atol = 1e-5, c.rtol = 1e-5;  // fp32 math against the double reference
      expect_gpu_matches_cpu(c);
      if (::testing::Test::HasFatalFailure()) return;
    }
}

// fp16 here runs on tensor cores; fp32 takes the GEMM pair, or CUDA cores where marked (cc).
TEST(GpuRowColumnRead, TensorCoreShapes) {
  const std::vector<Read> cases = {
      {{2, 3}, 37, 7, 13, 32},    // AnchorDETR's D, odd H and W, L under one row tile (4 groups)
      {{1, 8}, 200, 17, 19, 16},  // D 16, L across four 64-row tiles, the last partial (4 groups)
      {{2}, 129, 5, 76, 64},      // D 64, AnchorDETR's W (5 k-steps of 16, 4 columns of padding) (2 groups)
      {{1, 2}, 70, 9, 140, 32},   // W 140: a second x chunk of 12 columns
      {{3}, 33, 90, 21, 24},      // D 24 padded to 32; H 90: a second a_col tile, ending mid-stage
      {{2}, 50, 6, 10, 8},        // D 8 padded to 16
      {{1}, 1, 1, 1, 40},         // one of everything; D 40 padded to 64
      {{}, 45, 6, 7, 32},         // no batch dims
      {{1, 8}, 1100, 7, 13, 32},  // 144 64-row tiles, 72 of 128 rows: 2 groups
      {{2, 4}, 1100, 3, 5, 16},   // the same for D 16
      {{1, 8}, 2100, 5, 11, 32},  // 136 128-row tiles: 8 warps, one group (cc)
      {{2, 70}, 130, 3, 7, 16},   // the same for D 16, 140 batch items (cc)
      {{4, 70}, 60, 5, 9, 64},    // the same for D 64 (cc)
  };
  run_cases(cases, 9100);
}

// fp16 here runs on CUDA cores (D not a multiple of 8, or above 64); fp32 on CUDA cores in the
// first two (≥ 264 blocks), through the GEMM pair in the rest.
TEST(GpuRowColumnRead, CudaCoreShapes) {
  const std::vector<Read> cases = {
      {{4, 70}, 65, 9, 33, 5},    // D 5, two row tiles (the second of one row), W 33: a second x chunk
      {{2, 70}, 20, 21, 3, 72},   // D 72 > 64: three column tiles of 32, H 21: three y stages of 8
      {{1, 2}, 17, 3, 5, 5},      // D 5: element accesses
      {{1, 2}, 300, 11, 9, 72},   // D 72
      {{2}, 65, 9, 33, 1},        // D 1, W 33
      {{3}, 7, 20, 3, 33},        // H 20, the last y stage partial
  };
  run_cases(cases, 9500);
}

TEST(GpuRowColumnRead, NanRowsStayInTheirRows) {
  run_cases({{{2, 3}, 37, 7, 13, 32, true}, {{1, 2}, 17, 3, 5, 5, true}}, 9700);
}

// The token layouts (fold_row_column_transposes): V read as [B, H, W, N, D] and the output written
// as [B, L, N, D], each alone and both, on every path — fp16 tensor cores (D 32, 16), fp16 CUDA
// cores (D 5), fp32 CUDA cores (many blocks) and the fp32 GEMM pair (few blocks: V copied to and
// the output from the contiguous form) — with a NaN row.
TEST(GpuRowColumnRead, TokenLayouts) {
  struct Tok {
    int64_t B, N, L, H, W, D;
  };
  const std::vector<Tok> cases = {
      {1, 8, 200, 7, 13, 32},   // fp16 tensor cores, 64-row tiles; fp32 GEMM pair
      {2, 4, 2100, 5, 11, 16},  // fp16 128-row tiles; fp32 CUDA cores
      {2, 3, 37, 9, 21, 5},     // fp16 CUDA cores; fp32 GEMM pair
      {1, 1, 17, 3, 5, 8},      // one head
  };
  uint64_t seed = 9750;
  for (DType dt : {DType::kF32, DType::kF16})
    for (const Tok& k : cases)
      for (auto [v_tokens, out_tokens] : {std::pair<int64_t, int64_t>{1, 0}, {0, 1}, {1, 1}}) {
        GpuCase c{"RowColumnRead", {}, {}};
        c.domain = kKilnDomain;
        c.opset = 1;
        Tensor a_row = weights(dt, {k.B, k.N, k.L, k.W}, seed + 1);
        set_row_nan(a_row, k.L, 3 % k.L);
        const Dims v = v_tokens ? Dims{k.B, k.H, k.W, k.N, k.D} : Dims{k.B, k.N, k.H, k.W * k.D};
        c.inputs = {weights(dt, {k.B, k.N, k.L, k.H}, seed), a_row, random_tensor(dt, v, seed + 2)};
        c.attrs.set("v_tokens", v_tokens);
        c.attrs.set("out_tokens", out_tokens);
        c.seed = seed;
        c.gpu_runs = 3;
        seed += 10;
        if (dt == DType::kF16) f16_tolerance(c);
        else c.atol = 1e-5, c.rtol = 1e-5;
        SCOPED_TRACE(std::string(dtype_name(dt)) + " v_tokens " + std::to_string(v_tokens) + " out_tokens " +
                     std::to_string(out_tokens) + " N " + std::to_string(k.N) + " L " + std::to_string(k.L) + " D " +
                     std::to_string(k.D));
        expect_gpu_matches_cpu(c);
        if (::testing::Test::HasFatalFailure()) return;
      }
}

// anchor_detr_tiny with V's head split and the output's merge folded into its 4 reads.
TEST(GpuRowColumnRead, AnchorDetrTinyTokenLayouts) {
  expect_fusion_on_gpu("anchor_detr_tiny", "fold_row_column_transposes", 8, {"pred_logits", "pred_boxes"});
}

// anchor_detr_tiny with its 4 reads fused: the GPU against the CPU reference on the same graph
// (the model tests' fp32 bound) and against the unfused graph on the GPU; then fp16 engines.
TEST(GpuRowColumnRead, AnchorDetrTiny) {
  expect_fusion_on_gpu("anchor_detr_tiny", "fuse_row_column_read", 4, {"pred_logits", "pred_boxes"});
}

// Best of 20 node-by-node runs of the nodes that compute the read: the fused node, or the two
// MatMuls (the Reshapes, Unsqueeze and Squeeze are aliases).
float read_ms(CudaExecutor& exec, const DeviceTensorMap& in) {
  float best = 1e30f;
  for (int rep = 0; rep < 20; ++rep) {
    float ms = 0;
    for (const NodeTiming& t : exec.profile(in))
      if (t.node->op_type == "MatMul" || t.node->op_type == "RowColumnRead") ms += t.ms;
    best = std::min(best, ms);
  }
  return best;
}

// AnchorDETR's RCDA reads at 800x1216 (stride 16: H 50, W 76; 8 heads of 32): the encoder's
// (L = H·W = 3800 queries) and the decoder's (900), fused against the exported MatMul_2 +
// MatMul_3: `--gtest_also_run_disabled_tests --gtest_filter=*RowColumnReadBench*`. Checks fused
// = unfused on the same inputs (fp32 within 1e-5 relative L2 and elementwise; fp16 both within
// 2e-3 relative L2 of fp32), then prints the best of 20 node-by-node runs of each.
TEST(GpuRowColumnRead, DISABLED_RowColumnReadBench) {
  for (int64_t queries : {int64_t(3800), int64_t(900)}) {
    test::RowColumnLayer s;
    s.B = 1, s.N = 8, s.L = queries, s.H = 50, s.W = 76, s.D = 32;
    const std::string bytes = test::build(s);
    Graph fused = import_onnx_bytes(bytes, ".", "layer.onnx");
    Graph plain = import_onnx_bytes(bytes, ".", "layer.onnx");
    ASSERT_EQ(run_passes(fused).fused.at("fuse_row_column_read"), 1);
    run_passes(plain, {"fuse_row_column_read"});
    TensorMap feeds;
    uint64_t seed = 5151;
    for (const std::string& name : plain.inputs) {
      const ValueType& t = plain.value(name).type;
      const double lo = name == "v" ? -1.0 : -3.0, hi = name == "v" ? 1.0 : 3.0;  // scores: spread softmaxes
      feeds[name] = random_tensor(t.dtype, shape_dims(*t.shape), seed++, lo, hi);
    }
    Tensor want;
    for (DType dt : {DType::kF32, DType::kF16}) {
      if (dt == DType::kF16) {
        convert_to_fp16(fused);
        convert_to_fp16(plain);
      }
      CudaExecutor gf(fused), gp(plain);
      const Tensor yf = gf.run(feeds).at("out"), yp = gp.run(feeds).at("out");
      if (dt == DType::kF32) {
        EXPECT_LE(rel_l2(yf, yp), 1e-5) << "fused vs unfused, fp32";
        test::expect_close(yf, test::to_doubles(yp), 1e-5, 1e-5);
        want = yp;
      } else {
        EXPECT_LE(rel_l2(yf, want), 2e-3) << "fused fp16 vs fp32";
        EXPECT_LE(rel_l2(yp, want), 2e-3) << "unfused fp16 vs fp32";
      }
      DeviceTensorMap in_f, in_p;
      for (const auto& [name, t] : feeds) {
        in_f[name] = to_device(t, gf.session().stream());
        in_p[name] = to_device(t, gp.session().stream());
      }
      const float f = read_ms(gf, in_f), p = read_ms(gp, in_p);
      std::printf("RowColumnRead %s %s L %lld H 50 W 76 D 32 x8 heads: fused %8.4f ms, MatMul_2 + MatMul_3 %8.4f ms: %.1fx\n",
                  dtype_name(dt), queries == 3800 ? "encoder" : "decoder", static_cast<long long>(queries), f, p, p / f);
    }
  }
}

}  // namespace
}  // namespace kiln::gpu_test
