// kiln.Pointwise on the GPU — the NVRTC-compiled kernel generated from its program — against the
// CPU reference: every instruction on fp32, fp16 and bool; broadcasting over odd shapes (1,
// 1025, a 6-D alternating broadcast that does not merge, grid-stride sizes); one-element
// constants written into the source and larger constants read; several outputs of mixed types;
// NaN and infinities; an empty output; planned runs and CUDA Graph replay. Then the test models
// with the pass against the pipeline without it, and the build path: cubins compiled into the
// tuning cache, through the engine file, and run from there without compiling again.
//
// Tolerances: the reference rounds each float result to float32 from the exact (double) value;
// the kernel computes in float32 with CUDA's math library (expf, tanhf, erff, ... within 2 ulp),
// so fp32 agrees to a few float32 ulps (1e-5); fp16 outputs round that same float32 value once,
// so at most one fp16 ulp apart where the float32 values straddle a rounding boundary (2e-3).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <set>

#include "../ops/pointwise_test_program.h"
#include "../model/model_compare.h"
#include "fused_model_check.h"
#include "gpu_compare.h"
#include "onnx/importer.h"
#include "ops/elementwise/pointwise_program.h"
#include "passes/pipeline.h"
#include "runtime/cpu_executor.h"
#include "runtime/cuda/cuda_executor.h"
#include "runtime/cuda/cuda_model.h"
#include "runtime/cuda/gpu_arch.h"
#include "runtime/engine/engine_file.h"
#include "runtime/specialize.h"

namespace kiln::gpu_test {
namespace {

using test::Ins;
using test::program;

GpuCase pw_case(std::vector<Tensor> inputs, Attributes attrs, int outputs, uint64_t seed, bool f16) {
  GpuCase c;
  c.op = "Pointwise";
  c.domain = "kiln";
  c.opset = 1;
  c.inputs = std::move(inputs);
  c.attrs = std::move(attrs);
  c.num_outputs = outputs;
  c.seed = seed;
  c.gpu_runs = 3;
  if (f16) f16_tolerance(c);
  return c;
}

// Every float instruction on each float type, operands broadcast [3,1,1025] x [5,1]; positive
// inputs where the op needs them (Log, Sqrt, Pow's base).
TEST(GpuPointwise, EveryFloatInstruction) {
  uint64_t seed = 9100;
  const char* binary[] = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min"};
  const char* unary[] = {"Relu", "Sigmoid", "Tanh", "Erf", "Exp", "Log", "Sqrt", "Reciprocal",
                         "Neg", "Abs", "Floor", "Ceil", "Sin", "Cos"};
  for (DType dt : {DType::kF32, DType::kF16}) {
    for (const char* op : binary) {
      SCOPED_TRACE(std::string(op) + " " + dtype_name(dt));
      const bool pow = std::string(op) == "Pow";
      Tensor a = random_tensor(dt, {3, 1, 1025}, seed, pow ? 0.1 : -3, 3), b = random_tensor(dt, {5, 1}, seed + 1, -2, 2);
      // Sigmoid of the result too, so the binary op is an intermediate.
      expect_gpu_matches_cpu(pw_case({a, b}, program({{op, {0, 1}}, {"Sigmoid", {2}}}, {0, 1}), 2, seed, dt == DType::kF16));
      seed += 2;
    }
    for (const char* op : unary) {
      SCOPED_TRACE(std::string(op) + " " + dtype_name(dt));
      const std::string o = op;
      const bool positive = o == "Log" || o == "Sqrt";
      Tensor a = random_tensor(dt, {17, 1025}, seed, positive ? 0.05 : -4, 4);
      expect_gpu_matches_cpu(pw_case({a}, program({{op, {0}}}, {0}), 1, seed, dt == DType::kF16));
      seed += 1;
    }
    for (int64_t tanh = 0; tanh <= 1; ++tanh) {
      Tensor a = random_tensor(dt, {1025}, seed++, -5, 5);
      expect_gpu_matches_cpu(pw_case({a}, program({{"Gelu", {0}, tanh}}, {0}), 1, seed, dt == DType::kF16));
    }
  }
}

// Integers in [-3, 3] stored as dt: equality is common.
Tensor small_ints_as(DType dt, const Dims& dims, uint64_t seed) {
  const Tensor ints = random_tensor(DType::kI32, dims, seed, -3, 3);
  std::vector<double> v;
  for (int64_t i = 0; i < ints.numel(); ++i) v.push_back(ints.at_double(i));
  return Tensor::from_doubles(dt, dims, v);
}

// Comparisons (on small integers so equality happens), bool logic, IsNaN, Where and every Cast
// among float32, float16 and bool: exact.
TEST(GpuPointwise, ComparisonsLogicWhereAndCastsExactly) {
  uint64_t seed = 9300;
  for (DType dt : {DType::kF32, DType::kF16}) {
    const Tensor fa = small_ints_as(dt, {3, 1, 17}, seed), fb = small_ints_as(dt, {5, 1}, seed + 1);
    // values: 0 a, 1 b, 2 Equal, 3 Less, 4 Greater, 5 LessOrEqual, 6 GreaterOrEqual, 7 And(3,6),
    // 8 Or(2,4), 9 Xor(7,8), 10 Not(9), 11 Where(10, a, b), 12 IsNaN(a)
    // Every instruction's value as an output, in two cases (a node writes at most 8).
    for (const std::vector<int64_t>& results : {std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7}, {8, 9, 10}}) {
      GpuCase c = pw_case({fa, fb},
                          program({{"Equal", {0, 1}}, {"Less", {0, 1}}, {"Greater", {0, 1}}, {"LessOrEqual", {0, 1}},
                                   {"GreaterOrEqual", {0, 1}}, {"And", {3, 6}}, {"Or", {2, 4}}, {"Xor", {7, 8}},
                                   {"Not", {9}}, {"Where", {10, 0, 1}}, {"IsNaN", {0}}},
                                  results),
                          int(results.size()), seed, false);
      c.atol = c.rtol = 0;
      expect_gpu_matches_cpu(c);
    }
    seed += 2;
  }
  for (DType from : {DType::kF32, DType::kF16, DType::kBool})
    for (DType to : {DType::kF32, DType::kF16, DType::kBool}) {
      SCOPED_TRACE(std::string(dtype_name(from)) + " to " + dtype_name(to));
      // Floats beyond float16's range too (they become infinities); bools about half true.
      const double lo = from == DType::kBool ? 0 : -70000, hi = from == DType::kBool ? 1 : 70000;
      GpuCase c = pw_case({random_tensor(from, {1025}, seed, lo, hi)},
                          program({{"Cast", {0}, dtype_to_onnx(to)}}, {0}), 1, seed, false);
      c.atol = c.rtol = 0;
      expect_gpu_matches_cpu(c);
      ++seed;
    }
}

TEST(GpuPointwise, NaNAndInfinities) {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = INFINITY;
  for (DType dt : {DType::kF32, DType::kF16}) {
    Tensor x = Tensor::from_doubles(dt, {7}, {nan, -inf, inf, -0.0, 0.0, -2.5, 3.0});
    Tensor y = Tensor::from_doubles(dt, {7, 1}, {nan, 1.0, -1.0, 0.0, inf, -inf, 2.0});
    // Relu, Max, Min, Less, Cast to bool, IsNaN, Sigmoid, Div, Where(IsNaN, y, x), Pow.
    for (const std::vector<int64_t>& results : {std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7}, {8, 9}}) {
      GpuCase c = pw_case({x, y},
                          program({{"Relu", {0}}, {"Max", {0, 1}}, {"Min", {0, 1}}, {"Less", {0, 1}}, {"Cast", {0}, 9},
                                   {"IsNaN", {0}}, {"Sigmoid", {0}}, {"Div", {0, 1}}, {"Where", {7, 1, 0}},
                                   {"Pow", {0, 1}}},
                                  results),
                          int(results.size()), 9400, dt == DType::kF16);
      expect_gpu_matches_cpu(c);
    }
  }
}

// Constants: a one-element one (a literal in the source), a [5, 1] one (read), a bool scalar.
TEST(GpuPointwise, ConstantsAndSeveralOutputs) {
  for (DType dt : {DType::kF32, DType::kF16}) {
    Tensor bias = random_tensor(dt, {5, 1}, 9501), x = random_tensor(dt, {2, 5, 333}, 9502, -3, 3);
    Tensor scale = Tensor::from_doubles(dt, {}, {0.7071});
    Tensor flag = Tensor::from_doubles(DType::kBool, {1}, {1.0});
    // values: 0 x, 1 scale, 2 bias, 3 flag, 4 Mul, 5 Add, 6 Gelu, 7 Greater(x, bias), 8 And(7, flag),
    // 9 Where(8, Gelu, x), 10 Cast(9 → the other float type)
    const int64_t other = dtype_to_onnx(dt == DType::kF32 ? DType::kF16 : DType::kF32);
    GpuCase c = pw_case({x, scale, bias, flag},
                        program({{"Mul", {0, 1}}, {"Add", {4, 2}}, {"Gelu", {5}}, {"Greater", {0, 2}}, {"And", {7, 3}},
                                 {"Where", {8, 6, 0}}, {"Cast", {9}, other}},
                                {5, 4, 6}),
                        3, 9500, true);  // one output is fp16 either way
    c.constant_inputs = {1, 2, 3};
    expect_gpu_matches_cpu(c);
  }
}

TEST(GpuPointwise, AwkwardShapes) {
  uint64_t seed = 9600;
  const std::vector<std::pair<Dims, Dims>> shapes = {
      {{1}, {1}},
      {{}, {3, 1}},
      {{2, 1, 3, 1, 2, 1}, {1, 3, 1, 2, 1, 3}},  // six dims that never merge
      {{1000003}, {1}},                          // more than one grid-stride round on an H200
      {{0, 5}, {5}},                             // empty
      {{4, 1, 1}, {1, 7, 1025}}};
  for (DType dt : {DType::kF32, DType::kF16})
    for (const auto& [a, b] : shapes) {
      SCOPED_TRACE(dims_to_string(a) + " x " + dims_to_string(b) + " " + dtype_name(dt));
      GpuCase c = pw_case({random_tensor(dt, a, seed, -2, 2), random_tensor(dt, b, seed + 1, -2, 2)},
                          program({{"Sub", {0, 1}}, {"Tanh", {2}}, {"Mul", {3, 1}}}, {2}), 1, seed, dt == DType::kF16);
      expect_gpu_matches_cpu(c);
      seed += 2;
    }
}

// A test model with fuse_elementwise (which must fire `fires` times) against the pipeline
// without it: fp32 on the GPU within 1e-4 of the CPU reference and 1e-5 of the unfused graph on
// the GPU; then both optimized as `kiln build --fp16` does (the fusion after the conversion),
// within 1e-2 of the fp32 outputs (the fp16 model tests' bound). `skip`: passes left out of
// both graphs, so that elementwise chains they would take stay for fuse_elementwise.
void expect_model_on_gpu(const std::string& model, int fires, const std::vector<std::string>& outputs,
                         const std::set<std::string>& skip = {}) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(test_dir()) / "models" / model;
  ImportOptions import;
  const TensorMap feeds = test::reference_inputs(dir, &import);
  Graph g = import_onnx_file((dir / "model.onnx").string(), import);
  Graph plain = import_onnx_file((dir / "model.onnx").string(), import);
  ASSERT_EQ(run_passes(g, skip).fused.at("fuse_elementwise"), fires);
  std::set<std::string> plain_skip = skip;
  plain_skip.insert("fuse_elementwise");
  run_passes(plain, plain_skip);
  const TensorMap cpu = CpuExecutor(g).run(feeds);
  for (const std::string& out : outputs) {
    SCOPED_TRACE(out);
    const Tensor gpu = run_gpu_planned(g, feeds, out), gpu_unfused = run_gpu_planned(plain, feeds, out);
    EXPECT_LE(rel_l2(gpu, cpu.at(out)), 1e-4) << "fp32, GPU vs CPU";
    EXPECT_LE(rel_l2(gpu, gpu_unfused), 1e-5) << "fp32, fused vs unfused on the GPU";
  }
  Graph h = import_onnx_file((dir / "model.onnx").string(), import);
  Graph h_plain = import_onnx_file((dir / "model.onnx").string(), import);
  EngineBuild eb, eb_plain;
  eb.precision = eb_plain.precision = "fp16";
  eb.disabled_passes = skip;
  eb_plain.disabled_passes = plain_skip;
  EXPECT_GE(optimize_for_engine(h, eb).fused.at("fuse_elementwise"), 1);
  optimize_for_engine(h_plain, eb_plain);
  for (const std::string& out : outputs) {
    SCOPED_TRACE(out);
    EXPECT_LE(rel_l2(run_gpu_planned(h, feeds, out), cpu.at(out)), 1e-2) << "fp16 fused on the GPU vs fp32";
    EXPECT_LE(rel_l2(run_gpu_planned(h_plain, feeds, out), cpu.at(out)), 1e-2) << "fp16 unfused on the GPU vs fp32";
  }
}

// fuse_attention_keep_mask takes the masked-attention masks' chains: left out here, they are
// three of the five Pointwise nodes of this test.
TEST(GpuPointwise, Mask2FormerTiny) {
  expect_model_on_gpu("mask2former_tiny", 5, {"class_queries_logits", "masks_queries_logits"}, {"fuse_attention_keep_mask"});
}
// fuse_mask_position_embedding takes every elementwise chain anchor_detr_tiny has (its mask →
// sine embedding): left out here, the chains are the five Pointwise nodes of this test.
TEST(GpuPointwise, AnchorDetrTiny) {
  expect_model_on_gpu("anchor_detr_tiny", 5, {"pred_logits", "pred_boxes"}, {"fuse_mask_position_embedding"});
}

// What `kiln build --device cuda` does: planning compiles each distinct program once into the
// tuning cache; the engine file carries the cubins; a model from the loaded engine runs them
// without compiling (its tuning cache gains nothing) and agrees with the CPU reference.
TEST(GpuPointwise, BuildStoresCubinsAndTheEngineRunsThem) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(test_dir()) / "models" / "anchor_detr_tiny";
  ImportOptions import;
  const TensorMap feeds = test::reference_inputs(dir, &import);
  Graph g = import_onnx_file((dir / "model.onnx").string(), import);
  run_passes(g, {"fuse_mask_position_embedding"});  // keeps the mask chains' Pointwise nodes
  std::map<std::string, Dims> dims;
  for (const auto& [name, t] : feeds) dims[name] = t.dims();
  auto built = std::make_shared<CudaModel>(g, EngineBuild{});
  CudaExecutor(built, CudaRunOptions{true, true}).prepare(dims);
  size_t cubins = 0;
  for (const auto& [key, value] : built->tuning().entries())
    if (key.find("/pointwise/") != std::string::npos) {
      ++cubins;
      EXPECT_EQ(value.compare(0, 4, "\x7f" "ELF"), 0) << key;
    }
  EXPECT_GE(cubins, 1u);
  EXPECT_LE(cubins, 6u);  // at most one per Pointwise node
  EngineBuild eb;
  eb.tuning = built->tuning();
  Engine e = engine_from_bytes(engine_to_bytes(g, {"cuda", cuda_gpu_arch()}, eb), "m.kiln");
  auto loaded = std::make_shared<CudaModel>(e.graph, e.build);
  const size_t before = loaded->tuning().size();
  CudaExecutor exec(loaded);
  exec.run(feeds);
  const TensorMap got = exec.run(feeds), want = CpuExecutor(g).run(feeds);
  EXPECT_EQ(loaded->tuning().size(), before);
  for (const char* out : {"pred_logits", "pred_boxes"}) EXPECT_LE(rel_l2(got.at(out), want.at(out)), 1e-4) << out;
}

}  // namespace
}  // namespace kiln::gpu_test
