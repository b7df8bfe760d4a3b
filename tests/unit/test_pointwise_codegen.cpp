// The generated Pointwise kernels without a GPU: the source for every instruction (each operand
// type it takes, constants written in, every output type) compiles with NVRTC for Hopper and
// another architecture; a compile error is an internal error carrying NVRTC's log; the cubin
// travels in the engine file's tuning cache; dims merge as the launcher expects.
#include <gtest/gtest.h>

#include <filesystem>

#include "../model/model_compare.h"
#include "onnx/importer.h"
#include "ops/elementwise/pointwise_codegen.h"
#include "ops/elementwise/pointwise_program.h"
#include "passes/pipeline.h"
#include "runtime/engine/engine_file.h"
#ifdef KILN_WITH_CUDA
#include "ops/elementwise/pointwise_nvrtc.h"
#endif

namespace kiln::ew {
namespace {

// A program of one instruction `op` on fresh inputs of type `t` (Where: bool, t, t), its result
// written, and also written through a Cast to each value type so every store path is compiled.
PwProgram one_op(PwOp op, DType t, int64_t param = 0) {
  PwProgram p;
  const int arity = pw_arity(op);
  for (int k = 0; k < arity; ++k) p.input_dtypes.push_back(op == PwOp::kWhere && k == 0 ? DType::kBool : t);
  p.num_inputs = arity;
  PwInstr in{};
  in.op = op;
  in.param = param;
  for (int k = 0; k < arity; ++k) in.args[k] = k;
  std::string why;
  in.dtype = pw_result_dtype(in, p.input_dtypes.data(), &why);
  EXPECT_NE(in.dtype, DType::kUndefined) << why;
  p.code.push_back(in);
  p.results.push_back(0);
  for (DType to : {DType::kF32, DType::kF16, DType::kBool}) {
    PwInstr c{};
    c.op = PwOp::kCast;
    c.args[0] = p.num_inputs;
    c.param = dtype_to_onnx(to);
    c.dtype = to;
    p.code.push_back(c);
    p.results.push_back(int32_t(p.code.size() - 1));
  }
  return p;
}

std::vector<std::pair<PwProgram, std::string>> every_instruction() {
  std::vector<std::pair<PwProgram, std::string>> out;
  const PwOp float_ops[] = {PwOp::kAdd, PwOp::kSub, PwOp::kMul, PwOp::kDiv, PwOp::kPow, PwOp::kMax, PwOp::kMin,
                            PwOp::kEqual, PwOp::kLess, PwOp::kGreater, PwOp::kLessOrEqual, PwOp::kGreaterOrEqual,
                            PwOp::kIsNaN, PwOp::kWhere, PwOp::kRelu, PwOp::kSigmoid, PwOp::kTanh, PwOp::kErf,
                            PwOp::kGelu, PwOp::kExp, PwOp::kLog, PwOp::kSqrt, PwOp::kReciprocal, PwOp::kNeg,
                            PwOp::kAbs, PwOp::kFloor, PwOp::kCeil, PwOp::kSin, PwOp::kCos};
  for (PwOp op : float_ops)
    for (DType t : {DType::kF32, DType::kF16}) out.push_back({one_op(op, t), std::string(pw_op_name(op)) + " " + dtype_name(t)});
  out.push_back({one_op(PwOp::kGelu, DType::kF32, 1), "Gelu tanh"});
  for (PwOp op : {PwOp::kAnd, PwOp::kOr, PwOp::kXor, PwOp::kNot, PwOp::kEqual, PwOp::kWhere})
    out.push_back({one_op(op, DType::kBool), std::string(pw_op_name(op)) + " bool"});
  for (DType from : {DType::kF32, DType::kF16, DType::kBool})
    for (DType to : {DType::kF32, DType::kF16, DType::kBool})
      out.push_back({one_op(PwOp::kCast, from, dtype_to_onnx(to)), std::string("Cast ") + dtype_name(from) + " to " + dtype_name(to)});
  return out;
}

TEST(PointwiseCodegen, SourceReadsConstantsAsLiterals) {
  PwProgram p = one_op(PwOp::kAdd, DType::kF32);
  const std::string read = pointwise_cuda_source(p, {std::nullopt, std::nullopt});
  const std::string lit = pointwise_cuda_source(p, {std::nullopt, 1.0});
  EXPECT_NE(read.find("p.in[1]"), std::string::npos);
  EXPECT_EQ(lit.find("p.in[1]"), std::string::npos);
  EXPECT_NE(lit.find("__int_as_float(0x3f800000)"), std::string::npos);
  EXPECT_NE(lit.find(kPointwiseKernel32), std::string::npos);
  EXPECT_NE(lit.find(kPointwiseKernel64), std::string::npos);
}

TEST(PointwiseCodegen, LayoutMergesDimsEveryInputWalksAsOne) {
  // [2,3,4,5] with a same-shape input and a [5] one: [24, 5]; size-1 dims dropped.
  PwLayout l = pointwise_layout({2, 3, 4, 5}, {{2, 3, 4, 5}, {5}});
  EXPECT_EQ(l.dims, (Dims{24, 5}));
  EXPECT_EQ(l.strides[0], (Dims{5, 1}));
  EXPECT_EQ(l.strides[1], (Dims{0, 1}));
  l = pointwise_layout({2, 1, 7}, {{2, 1, 7}, {2, 1, 1}, {1}});
  EXPECT_EQ(l.dims, (Dims{2, 7}));
  EXPECT_EQ(l.strides[1], (Dims{1, 0}));
  EXPECT_EQ(l.strides[2], (Dims{0, 0}));
  l = pointwise_layout({6}, {{6}});
  EXPECT_EQ(l.dims, (Dims{6}));
  l = pointwise_layout({}, {{}});  // a scalar: no dims, one element
  EXPECT_TRUE(l.dims.empty());
  // Nine dims that never merge (alternating broadcast) exceed the kernel's rank.
  Dims big(9, 2), alt;
  for (int i = 0; i < 9; ++i) alt.push_back(i % 2 ? 2 : 1);
  EXPECT_THROW(pointwise_layout(big, {big, alt}), Error);
}

TEST(PointwiseCodegen, ParamsBlockMatchesTheGeneratedStruct) {
  // The generated struct: n, rank, dims[8], strides[16][8], in[16], out[8], all 8-byte members.
  EXPECT_EQ(sizeof(PwParams), 8 * (2 + 8 + 16 * 8 + 16 + 8));
  EXPECT_EQ(offsetof(PwParams, strides), 8u * 10);
  EXPECT_EQ(offsetof(PwParams, in), 8u * (10 + 128));
  EXPECT_EQ(offsetof(PwParams, out), 8u * (10 + 128 + 16));
}

#ifdef KILN_WITH_CUDA
bool is_cubin(const std::string& bin) { return bin.size() > 64 && bin.compare(0, 4, "\x7f" "ELF") == 0; }

TEST(PointwiseNvrtc, EveryInstructionCompilesForHopper) {
  EXPECT_EQ(nvrtc_arch("sm_90"), "sm_90a");
  EXPECT_EQ(nvrtc_arch("sm_80"), "sm_80");
  for (const auto& [p, what] : every_instruction()) {
    SCOPED_TRACE(what);
    std::vector<std::optional<double>> none(size_t(p.num_inputs));
    const std::string cubin = nvrtc_compile_cubin(pointwise_cuda_source(p, none), "sm_90a", what);
    EXPECT_TRUE(is_cubin(cubin));
    EXPECT_NE(cubin.find(kPointwiseKernel32), std::string::npos);
    EXPECT_NE(cubin.find(kPointwiseKernel64), std::string::npos);
  }
}

TEST(PointwiseNvrtc, ConstantsAndAnotherArchitecture) {
  PwProgram p = one_op(PwOp::kWhere, DType::kF16);
  const std::string src = pointwise_cuda_source(p, {true, std::nullopt, -65504.0});
  EXPECT_TRUE(is_cubin(nvrtc_compile_cubin(src, "sm_80", "Where")));
  EXPECT_TRUE(is_cubin(nvrtc_compile_cubin(src, "sm_90a", "Where")));
}

TEST(PointwiseNvrtc, CompileErrorIsInternalWithTheLog) {
  try {
    nvrtc_compile_cubin("extern \"C\" __global__ void k() { undefined_thing(); }", "sm_90a", "Pointwise 'x'");
    ADD_FAILURE() << "compiled";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInternal);
    EXPECT_NE(std::string(e.what()).find("Pointwise 'x'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("undefined_thing"), std::string::npos) << e.what();
  }
}

// The programs the pass makes of the test models, with their one-element constants written in.
TEST(PointwiseNvrtc, TestModelsProgramsCompile) {
  namespace fs = std::filesystem;
  for (const char* name : {"mask2former_tiny", "anchor_detr_tiny"}) {
    SCOPED_TRACE(name);
    const fs::path dir = fs::path(KILN_TEST_DIR) / "models" / name;
    ImportOptions import;  // the reference input shapes: static, as an engine built for them
    test::reference_inputs(dir, &import);
    Graph g = import_onnx_file((dir / "model.onnx").string(), import);
    run_passes(g, {"fuse_mask_position_embedding"});  // which takes anchor_detr_tiny's every chain
    int compiled = 0;
    for (const Node& n : g.nodes) {
      if (n.op_type != kPointwiseOp) continue;
      std::vector<DType> types;
      std::vector<std::optional<double>> constants;
      for (const auto& v : n.inputs) {
        types.push_back(g.value(v).type.dtype);
        const auto& c = g.value(v).constant;
        constants.push_back(c && c->numel() == 1 ? std::optional<double>(c->at_double(0)) : std::nullopt);
      }
      const PwProgram p = parse_pw_program(n.attrs, types, n.describe());
      EXPECT_TRUE(is_cubin(nvrtc_compile_cubin(pointwise_cuda_source(p, constants), "sm_90a", n.describe())));
      ++compiled;
    }
    EXPECT_GT(compiled, 0);
  }
}

// What `kiln build --device cuda` stores: the cubin under its key in the build's tuning cache,
// written into the engine file and read back byte for byte.
TEST(PointwiseNvrtc, CubinTravelsInTheEngineFile) {
  PwProgram p = one_op(PwOp::kGelu, DType::kF16);
  const std::string cubin = nvrtc_compile_cubin(pointwise_cuda_source(p, {std::nullopt}), "sm_90a", "Gelu");
  EngineBuild eb;
  const std::string key = "sm_90/lt0/dnn0/pointwise/sm_90a/" + nvrtc_version_tag() + "/0123456789abcdef-100";
  eb.tuning.put(key, cubin);
  Graph g;
  g.name = "empty";
  Engine e = engine_from_bytes(engine_to_bytes(g, {"cuda", "sm_90"}, eb), "m.kiln");
  ASSERT_TRUE(e.build.tuning.find(key).has_value());
  EXPECT_EQ(*e.build.tuning.find(key), cubin);
}
#endif

}  // namespace
}  // namespace kiln::ew
