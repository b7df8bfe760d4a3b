// kiln.Remap: the CPU reference on hand-built stage lists with hand-computed results, the
// composed index map (what the GPU runs) against the stage-by-stage reference on Swin's chains
// and on random stage lists (also widened to vector elements), what does not compose, and
// malformed attributes in a hand-written model: one model error naming the problem.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>

#include "onnx/importer.h"
#include "onnx_builder.h"
#include "remap_stage_lists.h"
#include "ops/tensor/remap.h"
#include "ops/tensor/remap_compile.h"
#include "runtime/cpu_executor.h"

namespace kiln {
namespace {

using tensor_ops::RemapKind;
using tensor_ops::RemapStage;

RemapStage st(const std::string& text) {
  RemapStage s;
  std::string error;
  EXPECT_TRUE(tensor_ops::parse_remap_stage(text, &s, &error)) << error;
  return s;
}

std::vector<RemapStage> stages(const std::vector<std::string>& text) {
  std::vector<RemapStage> out;
  for (const auto& t : text) out.push_back(st(t));
  return out;
}

// 0, 1, 2, ... as int32: every output element names its source.
Tensor iota(const Dims& d) {
  Tensor t(DType::kI32, d);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<int32_t>()[i] = int32_t(i);
  return t;
}

std::vector<int32_t> values(const Tensor& t) {
  return std::vector<int32_t>(t.data<int32_t>(), t.data<int32_t>() + t.numel());
}

std::vector<int32_t> reference(const Dims& x, const std::vector<RemapStage>& s, int32_t fill = -1) {
  return values(tensor_ops::apply_remap_stages(iota(x), s, reinterpret_cast<const unsigned char*>(&fill)));
}

// The program evaluated on the host: source index or -1 for the fill.
template <class I> std::vector<int32_t> run_program(const tensor_ops::RemapProgram& p) {
  std::vector<int32_t> out;
  for (int64_t i = 0; i < p.numel; ++i) {
    I src = 0;
    out.push_back(tensor_ops::remap_source<I>(p, I(i), &src) ? int32_t(src) : -1);
  }
  return out;
}

// Checks the composed map (int64 and, where it says it may, int32 index math) and every
// widening it allows against the reference. Returns false when the stages do not compose.
bool program_matches(const Dims& x, const std::vector<RemapStage>& s) {
  auto p = tensor_ops::compile_remap(s, x);
  if (!p) return false;
  const std::vector<int32_t> want = reference(x, s);
  EXPECT_EQ(run_program<int64_t>(*p), want);
  if (p->index32) {
    EXPECT_EQ(run_program<int32_t>(*p), want);
  }
  for (int64_t w : {2, 4, 8}) {
    tensor_ops::RemapProgram wide = *p;
    if (!tensor_ops::widen_remap(wide, w)) continue;
    std::vector<int32_t> got(size_t(wide.numel * w));
    for (int64_t i = 0; i < wide.numel; ++i) {
      int64_t src = 0;
      const bool inside = tensor_ops::remap_source<int64_t>(wide, i, &src);
      for (int64_t e = 0; e < w; ++e) got[size_t(i * w + e)] = inside ? int32_t(src * w + e) : -1;
    }
    EXPECT_EQ(got, want) << "widened by " << w;
  }
  return true;
}

TEST(Remap, ReferenceOnHandBuiltStages) {
  // torch.roll([0..4], -2): the pieces [2, 5) then [0, 2).
  EXPECT_EQ(reference({5}, stages({"pieces:0,2,3,0,2"})), (std::vector<int32_t>{2, 3, 4, 0, 1}));
  EXPECT_EQ(reference({2, 3}, stages({"pad:1,1,2"})),
            (std::vector<int32_t>{-1, 0, 1, 2, -1, -1, -1, 3, 4, 5, -1, -1}));
  EXPECT_EQ(reference({2, 3}, stages({"transpose:1,0"})), (std::vector<int32_t>{0, 3, 1, 4, 2, 5}));
  EXPECT_EQ(reference({7}, stages({"slice:0,1,3,2"})), (std::vector<int32_t>{1, 4}));
  EXPECT_EQ(reference({2, 3}, stages({"reshape:3,2", "transpose:1,0", "slice:0,1,1,1"})),
            (std::vector<int32_t>{1, 3, 5}));
  EXPECT_EQ(reference({3}, stages({"pad:0,1,0", "pieces:0,3,1,0,3"}), 9), (std::vector<int32_t>{2, 9, 0, 1}));
}

TEST(Remap, SwinWindowChainsCompose) {
  for (int64_t shift : {0, 2})
    for (int64_t C : {6, 8}) {
      SCOPED_TRACE("shift " + std::to_string(shift) + " C " + std::to_string(C));
      EXPECT_TRUE(program_matches({2, 13 * 11, C}, test::swin_in(2, 13, 11, C, 4, shift)));
      EXPECT_TRUE(program_matches({2 * 4 * 3, 16, C}, test::swin_out(2, 13, 11, C, 4, shift)));
    }
  EXPECT_TRUE(program_matches({1, 32 * 32, 16}, test::swin_in(1, 32, 32, 16, 7, 3)));
  EXPECT_TRUE(program_matches({25, 49, 16}, test::swin_out(1, 32, 32, 16, 7, 3)));
  // Patch merging: split 2×2, parts picked in torch.cat's order.
  EXPECT_TRUE(program_matches({2, 140, 8}, {RemapStage::reshape({2, 5, 2, 7, 2, 8}), RemapStage::transpose({0, 1, 3, 2, 4, 5}),
                                            RemapStage::reshape({2, 5, 7, 4, 8}), st("pieces:3,0,1,2,1,1,1,3,1"),
                                            RemapStage::reshape({2, 35, 32})}));
}

// Swin-T at 800×1216 (the profile): every stage's chains compose into one kernel with
// 32-bit indices and fp16 vectors of 8 (channels 96·2^k), and the last stage's agree element
// by element with the reference.
TEST(Remap, SwinTAt800x1216Composes) {
  const int64_t sizes[4][3] = {{200, 304, 96}, {100, 152, 192}, {50, 76, 384}, {25, 38, 768}};
  for (const auto& [H, W, C] : sizes)
    for (int64_t shift : {0, 3}) {
      SCOPED_TRACE(std::to_string(H) + "x" + std::to_string(W) + " shift " + std::to_string(shift));
      const int64_t windows = ((H + 6) / 7) * ((W + 6) / 7);
      for (auto [x, s] : {std::pair{Dims{1, H * W, C}, test::swin_in(1, H, W, C, 7, shift)},
                          std::pair{Dims{windows, 49, C}, test::swin_out(1, H, W, C, 7, shift)}}) {
        auto p = tensor_ops::compile_remap(s, x);
        ASSERT_TRUE(p);
        EXPECT_TRUE(p->index32);
        EXPECT_TRUE(tensor_ops::widen_remap(*p, 8));
      }
    }
  EXPECT_TRUE(program_matches({1, 25 * 38, 768}, test::swin_in(1, 25, 38, 768, 7, 3)));
  EXPECT_TRUE(program_matches({24, 49, 768}, test::swin_out(1, 25, 38, 768, 7, 3)));
}

// Random stage lists over small random dims: whatever composes agrees with the reference, and
// most of them compose.
TEST(Remap, RandomStageListsCompose) {
  std::mt19937_64 rng(12345);
  auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  int composed = 0, tried = 0;
  for (int round = 0; round < 400; ++round) {
    Dims d;
    for (int64_t r = pick(1, 4); r > 0; --r) d.push_back(pick(1, 6));
    const Dims x = d;
    const std::vector<RemapStage> s = test::random_remap_stages(rng, d);
    std::string text;
    for (const auto& t : tensor_ops::format_remap_stages(s)) text += t + " ";
    SCOPED_TRACE(dims_to_string(x) + ": " + text);
    ++tried;
    composed += program_matches(x, s);
  }
  EXPECT_GT(composed, tried * 3 / 4) << composed << " of " << tried;
  std::printf("%d of %d random stage lists composed\n", composed, tried);
}

TEST(Remap, RefusesWhatDoesNotCompose) {
  // A roll along a dim made by merging a padded dim with another: the pad's fill would have to
  // be found inside the merged coordinate.
  EXPECT_FALSE(tensor_ops::compile_remap(stages({"pad:0,1,0", "reshape:12", "pieces:0,5,7,0,5"}), {2, 4}));
  EXPECT_FALSE(tensor_ops::compile_remap(stages({"reshape:6"}), {2, 0, 3}));  // empty
}

// A hand-written model naming kiln.Remap with the given stages on x [2, 3] (float32).
std::string model(const std::vector<std::string>& text, bool with_attr = true, DType fill = DType::kUndefined) {
  test::ModelBuilder b(17);
  auto* o = b.proto().add_opset_import();
  o->set_domain("kiln");
  o->set_version(1);
  b.input("x", DType::kF32, {2, 3});
  std::vector<std::string> in = {"x"};
  if (fill != DType::kUndefined) {
    b.initializer("fill", Tensor(fill, {}));
    in.push_back("fill");
  }
  onnx::NodeProto& n = b.node("Remap", in, {"y"});
  n.set_domain("kiln");
  if (with_attr) {
    auto* a = n.add_attribute();
    a->set_name("stages");
    a->set_type(onnx::AttributeProto::STRINGS);
    for (const auto& t : text) a->add_strings(t);
  }
  b.output("y", DType::kF32);
  return b.bytes();
}

std::string model_error(const std::string& bytes) {
  try {
    Graph g = import_onnx_bytes(bytes, ".", "m.onnx");
    CpuExecutor(g).run({{"x", Tensor(DType::kF32, {2, 3})}});
  } catch (const Error& e) {
    EXPECT_EQ(int(e.code()), int(ErrorCode::kInvalidModel)) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

TEST(Remap, HandWrittenModelRuns) {
  Graph g = import_onnx_bytes(model({"transpose:1,0", "pad:0,1,0", "pieces:1,1,1,0,1"}, true, DType::kF32), ".", "m.onnx");
  Tensor x = Tensor::from_vector<float>({2, 3}, {0, 1, 2, 3, 4, 5});
  const Tensor y = CpuExecutor(g).run({{"x", x}}).at("y");
  EXPECT_EQ(y.dims(), (Dims{4, 2}));
  const std::vector<float> got(y.data<float>(), y.data<float>() + 8);
  EXPECT_EQ(got, (std::vector<float>{0, 0, 3, 0, 4, 1, 5, 2}));
}

TEST(Remap, MalformedStagesAreModelErrors) {
  const std::vector<std::pair<std::vector<std::string>, const char*>> cases = {
      {{}, "empty"},
      {{"reshape"}, "no ':'"},
      {{"frob:1"}, "unknown kind"},
      {{"reshape:3,,2"}, "malformed"},
      {{"reshape:3,2,"}, "ends in a comma"},
      {{"reshape:99999999999999999999"}, "malformed"},
      {{"reshape:5"}, "element counts differ"},
      {{"reshape:-6"}, "negative"},
      {{"transpose:0,0"}, "not a permutation"},
      {{"transpose:0"}, "ranks differ"},
      {{"slice:0,0,0,1"}, "step"},
      {{"slice:1,2,1,2"}, "runs past"},
      {{"slice:0,0,1099511627776,16777217"}, "runs past"},  // step·(count − 1) wraps to 0 in 64 bits
      {{"slice:0,9,1,1"}, "runs past"},                      // start beyond the axis
      {{"slice:2,0,1,1"}, "outside the input's rank"},
      {{"pad:0,-1,0"}, "≥ 0"},
      {{"pad:0,1"}, "axis,before,after"},
      {{"pieces:1,2,2"}, "outside the axis"},
      {{"pieces:1,0"}, "pairs"},
      {{"pad:0,1099511627776,0"}, "too many"},
      {{"pad:0,1000,0", "slice:0,0,1,2"}, "more than twice"},
  };
  for (const auto& [text, want] : cases) {
    const std::string msg = model_error(model(text));
    EXPECT_NE(msg.find(want), std::string::npos) << msg;
    EXPECT_NE(msg.find("Remap"), std::string::npos) << msg;
  }
  EXPECT_NE(model_error(model({}, false)).find("missing"), std::string::npos);
  EXPECT_NE(model_error(model({"pad:0,1,0"}, true, DType::kI64)).find("fill"), std::string::npos);
}

// What a fuzzer would feed: random kinds and numbers (negative, zero, huge, wrong counts). Every
// model either runs or fails with a kiln::Error; nothing else escapes.
TEST(Remap, RandomAttributesNeverCrash) {
  std::mt19937_64 rng(99);
  const char* kinds[] = {"reshape", "transpose", "slice", "pad", "pieces", "frob", ""};
  const int64_t numbers[] = {0, 1, 2, 3, 6, -1, -7, 1 << 20, int64_t(1) << 40, INT64_MAX};
  int ran = 0;
  for (int round = 0; round < 600; ++round) {
    std::vector<std::string> text;
    for (int k = int(rng() % 4); k >= 0; --k) {
      std::string t = std::string(kinds[rng() % 7]) + (rng() % 9 ? ":" : "");
      for (int n = int(rng() % 6); n > 0; --n) t += std::to_string(numbers[rng() % 10]) + (n > 1 ? "," : "");
      text.push_back(t);
    }
    try {
      Graph g = import_onnx_bytes(model(text, true, rng() % 2 ? DType::kF32 : DType::kUndefined), ".", "m.onnx");
      CpuExecutor(g).run({{"x", Tensor(DType::kF32, {2, 3})}});
      ++ran;
    } catch (const Error&) {
    }
  }
  EXPECT_GT(ran, 0);
}

}  // namespace
}  // namespace kiln
