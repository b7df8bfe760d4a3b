// TokenConv (kiln domain) against a direct convolution over the NHWC tokens written out here in
// double: SegFormer's 3×3 stride 2 pad 1 embeddings, odd pictures, C = 3 and 40, kernel 7 stride 4
// pad 3, dilation 2, asymmetric pads, auto_pad, no bias; float32, float16, float16 with a float32
// bias (an fp16 engine's island) and float64; the same bits as the Im2ColTokens → FusedMatMul
// pair it replaces; the LayerNorm epilogue the LayerNormalization reference's bits; type, shape
// and attribute errors as model errors.
#include <cstring>

#include "harness.h"
#include "ops/op.h"

namespace kiln::test {
namespace {

struct Window {
  int64_t kh = 3, kw = 3;
  Dims strides = {2, 2}, dilations = {1, 1}, pads = {1, 1, 1, 1};  // pads: top, left, bottom, right
};

struct Case {
  int64_t B = 2, H = 9, W = 11, C = 5, Co = 7;
  Window win;
  bool bias = true;
  DType dt = DType::kF32, bias_dt = DType::kF32;  // bias_dt only read with dt float16
};

Attributes attrs_of(int64_t H, int64_t W, const Window& w) {
  Attributes a;
  a.set("height", H);
  a.set("width", W);
  a.set("kernel_shape", Dims{w.kh, w.kw});
  a.set("strides", w.strides);
  a.set("dilations", w.dilations);
  a.set("pads", w.pads);
  return a;
}

// The attributes less one.
Attributes without(const Attributes& a, const std::string& name) {
  Attributes r;
  for (const auto& [n, v] : a.all())
    if (n != name) r.set(n, v);
  return r;
}

OpCall call_of(std::vector<Tensor> inputs, int64_t H, int64_t W, const Window& w) {
  OpCall c{.op = "TokenConv", .inputs = std::move(inputs), .attrs = attrs_of(H, W, w)};
  c.domain = kKilnDomain;
  return c;
}

// Y[b, oy·OW + ox, o] = B[o] + Σ W[(i·kw + j)·C + c, o] · X[b, ih·W + iw, c], 0 outside.
std::vector<double> reference(const Tensor& x, const Tensor& w, const Tensor* b, int64_t H, int64_t W,
                              const Window& win, Dims& out_dims) {
  const int64_t B = x.dim(0), C = x.dim(2), Co = w.dim(1);
  const int64_t OH = (H + win.pads[0] + win.pads[2] - (win.kh - 1) * win.dilations[0] - 1) / win.strides[0] + 1;
  const int64_t OW = (W + win.pads[1] + win.pads[3] - (win.kw - 1) * win.dilations[1] - 1) / win.strides[1] + 1;
  out_dims = {B, OH * OW, Co};
  std::vector<double> y(size_t(B * OH * OW * Co));
  for (int64_t n = 0; n < B; ++n)
    for (int64_t oy = 0; oy < OH; ++oy)
      for (int64_t ox = 0; ox < OW; ++ox)
        for (int64_t o = 0; o < Co; ++o) {
          double s = b ? b->at_double(o) : 0.0;
          for (int64_t i = 0; i < win.kh; ++i)
            for (int64_t j = 0; j < win.kw; ++j) {
              const int64_t ih = oy * win.strides[0] - win.pads[0] + i * win.dilations[0];
              const int64_t iw = ox * win.strides[1] - win.pads[1] + j * win.dilations[1];
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
              for (int64_t c = 0; c < C; ++c)
                s += w.at_double(((i * win.kw + j) * C + c) * Co + o) * x.at_double((n * H * W + ih * W + iw) * C + c);
            }
          y[size_t(((n * OH + oy) * OW + ox) * Co + o)] = s;
        }
  return y;
}

std::string describe(const Case& e) {
  return "B " + std::to_string(e.B) + " H " + std::to_string(e.H) + " W " + std::to_string(e.W) + " C " +
         std::to_string(e.C) + " Co " + std::to_string(e.Co) + " k " + std::to_string(e.win.kh) + "x" +
         std::to_string(e.win.kw) + " " + dtype_name(e.dt) + (e.bias ? "" : " no bias");
}

void check(const Case& e, uint64_t seed) {
  SCOPED_TRACE(describe(e));
  const Tensor x = random_tensor(e.dt, {e.B, e.H * e.W, e.C}, seed);
  const Tensor w = random_tensor(e.dt, {e.win.kh * e.win.kw * e.C, e.Co}, seed + 1);
  const DType bt = e.dt == DType::kF16 ? e.bias_dt : e.dt;
  const Tensor b = e.bias ? random_tensor(bt, {e.Co}, seed + 2) : Tensor();
  Dims want_dims;
  const std::vector<double> want = reference(x, w, e.bias ? &b : nullptr, e.H, e.W, e.win, want_dims);
  const std::vector<Tensor> got = run_op(call_of({x, w, b}, e.H, e.W, e.win));
  expect_dims(got.at(0), want_dims);
  ASSERT_EQ(got[0].dtype(), e.bias ? bt : e.dt);
  // Float sums of up to 9·40 products of numbers in [-1, 1] (fp16: one rounding of the result).
  if (got[0].dtype() == DType::kF16) expect_close(got[0], want, 2e-3, 2e-3);
  else if (got[0].dtype() == DType::kF64) expect_close(got[0], want, 1e-12, 1e-12);
  else expect_close(got[0], want, 1e-4, 1e-5);
}

TEST(TokenConvOp, PatchEmbeddings) {
  uint64_t seed = 1;
  check({}, seed += 3);                                              // 3×3 stride 2 pad 1, odd H and W
  check({.B = 1, .H = 8, .W = 8, .C = 40, .Co = 24}, seed += 3);     // C 40
  check({.H = 7, .W = 13, .C = 3, .Co = 8}, seed += 3);              // C 3
  check({.B = 1, .H = 17, .W = 23, .C = 3, .Co = 16,
         .win = {.kh = 7, .kw = 7, .strides = {4, 4}, .pads = {3, 3, 3, 3}}},
        seed += 3);                                                  // kernel 7 stride 4 pad 3
  check({.H = 10, .W = 9, .win = {.dilations = {2, 2}, .pads = {2, 2, 2, 2}}}, seed += 3);  // dilation 2
  check({.H = 9, .W = 12, .C = 4, .win = {.kh = 5, .kw = 3, .strides = {1, 3}, .pads = {0, 2, 3, 1}}},
        seed += 3);                                                  // asymmetric
  check({.C = 40, .bias = false}, seed += 3);                        // no bias
  check({.B = 1, .H = 1, .W = 9, .C = 2, .Co = 3, .win = {.kh = 1, .kw = 3, .strides = {1, 1}, .pads = {0, 1, 0, 1}}},
        seed += 3);                                                  // one row
}

TEST(TokenConvOp, OtherTypes) {
  uint64_t seed = 50;
  check({.dt = DType::kF16, .bias_dt = DType::kF16}, seed += 3);
  check({.C = 40, .dt = DType::kF16, .bias_dt = DType::kF32}, seed += 3);  // float32 bias: float32 Y
  check({.bias = false, .dt = DType::kF16}, seed += 3);
  check({.H = 6, .W = 5, .C = 3, .dt = DType::kF64}, seed += 3);
}

TEST(TokenConvOp, AutoPad) {
  // SAME_UPPER at stride 2: 10 rows → 5 (pads 0, 1), 9 columns → 5 (pads 1, 1).
  const Tensor x = random_tensor(DType::kF32, {1, 10 * 9, 4}, 7);
  const Tensor w = random_tensor(DType::kF32, {36, 6}, 8), b = random_tensor(DType::kF32, {6}, 9);
  OpCall c = call_of({x, w, b}, 10, 9, {});
  c.attrs = Attributes{};
  c.attrs.set("height", int64_t(10));
  c.attrs.set("width", int64_t(9));
  c.attrs.set("kernel_shape", Dims{3, 3});
  c.attrs.set("strides", Dims{2, 2});
  c.attrs.set("auto_pad", std::string("SAME_UPPER"));
  Dims want_dims;
  const auto want = reference(x, w, &b, 10, 9, {.pads = {0, 1, 1, 1}}, want_dims);
  const std::vector<Tensor> got = run_op(c);
  expect_dims(got.at(0), want_dims);
  expect_close(got[0], want, 1e-4, 1e-5);
}

// The fused node computes the pair it replaces: the gather's rows, then FusedMatMul (MatMul
// without a bias).
TEST(TokenConvOp, SameBitsAsTheGatherAndTheGemm) {
  for (const Case& e : {Case{}, Case{.C = 40, .dt = DType::kF16, .bias_dt = DType::kF32},
                        Case{.C = 3, .dt = DType::kF16, .bias_dt = DType::kF16}, Case{.bias = false}}) {
    SCOPED_TRACE(describe(e));
    const Tensor x = random_tensor(e.dt, {e.B, e.H * e.W, e.C}, 21);
    const Tensor w = random_tensor(e.dt, {9 * e.C, e.Co}, 22);
    const Tensor b = random_tensor(e.dt == DType::kF16 ? e.bias_dt : e.dt, {e.Co}, 23);
    OpCall gather{.op = "Im2ColTokens", .inputs = {x}, .attrs = attrs_of(e.H, e.W, e.win)};
    gather.domain = kKilnDomain;
    const Tensor rows = run_op(gather).at(0);
    OpCall gemm{.op = e.bias ? "FusedMatMul" : "MatMul", .inputs = {rows, w}};
    if (e.bias) {
      gemm.inputs.push_back(b);
      gemm.domain = kKilnDomain;
    }
    const Tensor want = run_op(gemm).at(0);
    const Tensor got = run_op(call_of({x, w, e.bias ? b : Tensor()}, e.H, e.W, e.win)).at(0);
    ASSERT_EQ(got.dtype(), want.dtype());
    ASSERT_EQ(got.dims(), want.dims());
    EXPECT_EQ(std::memcmp(got.raw(), want.raw(), want.nbytes()), 0);
  }
}

// The LayerNorm epilogue (inputs 3 and 4, epsilon) is the LayerNormalization reference on the
// node's Y: float32, float16 with a float32 bias (the fp16 engine's stage embeddings), without LB.
TEST(TokenConvOp, LayerNormEpilogueIsTheLayerNorms) {
  for (const Case& e : {Case{}, Case{.C = 40, .Co = 64, .dt = DType::kF16, .bias_dt = DType::kF32},
                        Case{.bias = false}}) {
    SCOPED_TRACE(describe(e));
    const Tensor x = random_tensor(e.dt, {e.B, e.H * e.W, e.C}, 31);
    const Tensor w = random_tensor(e.dt, {9 * e.C, e.Co}, 32);
    const Tensor b = e.bias ? random_tensor(e.dt == DType::kF16 ? e.bias_dt : e.dt, {e.Co}, 33) : Tensor();
    const Tensor y = run_op(call_of({x, w, b}, e.H, e.W, e.win)).at(0);
    const Tensor scale = random_tensor(y.dtype(), {e.Co}, 34, 0.5, 1.5), lb = random_tensor(y.dtype(), {e.Co}, 35);
    for (bool with_lb : {true, false}) {
      OpCall ln{.op = "LayerNormalization", .inputs = {y, scale}};
      if (with_lb) ln.inputs.push_back(lb);
      ln.attrs.set("axis", int64_t(-1));
      ln.attrs.set("epsilon", 1e-3f);
      const Tensor want = run_op(ln).at(0);
      OpCall fused = call_of({x, w, b, scale, with_lb ? lb : Tensor()}, e.H, e.W, e.win);
      fused.attrs.set("epsilon", 1e-3f);
      const Tensor got = run_op(fused).at(0);
      ASSERT_EQ(got.dtype(), want.dtype());
      ASSERT_EQ(got.dims(), want.dims());
      EXPECT_EQ(std::memcmp(got.raw(), want.raw(), want.nbytes()), 0) << "with LB " << with_lb;
    }
  }
  // Scale of another type than Y, of another length, LB without Scale: model errors.
  const Tensor x = random_tensor(DType::kF32, {1, 12, 4}, 1), w = random_tensor(DType::kF32, {36, 5}, 2);
  const Tensor b = random_tensor(DType::kF32, {5}, 3);
  EXPECT_EQ(error_code_of(call_of({x, w, b, random_tensor(DType::kF16, {5}, 4)}, 3, 4, {})), ErrorCode::kInvalidModel);
  EXPECT_EQ(error_code_of(call_of({x, w, b, random_tensor(DType::kF32, {6}, 4)}, 3, 4, {})), ErrorCode::kInvalidModel);
  EXPECT_EQ(error_code_of(call_of({x, w, b, Tensor(), random_tensor(DType::kF32, {5}, 4)}, 3, 4, {})),
            ErrorCode::kInvalidModel);
}

TEST(TokenConvOp, ModelErrors) {
  const Tensor x = random_tensor(DType::kF32, {1, 12, 4}, 1);
  const Tensor w = random_tensor(DType::kF32, {36, 5}, 2), b = random_tensor(DType::kF32, {5}, 3);
  const auto code = [](OpCall c) { return error_code_of(c); };
  EXPECT_EQ(code(call_of({x, w, b}, 3, 4, {})), ErrorCode::kInternal);  // the valid call: no error at all
  EXPECT_EQ(code(call_of({x, w, b}, 3, 5, {})), ErrorCode::kInvalidModel);  // 12 tokens, 3x5 image
  EXPECT_EQ(code(call_of({x, w, b}, 0, 12, {})), ErrorCode::kInvalidModel);  // empty image
  // The NCHW image form (Im2ColTokens and PatchEmbedTokens take it; TokenConv does not).
  OpCall nchw = call_of({random_tensor(DType::kF32, {1, 4, 3, 4}, 4), w, b}, 3, 4, {});
  EXPECT_EQ(code(nchw), ErrorCode::kInvalidModel);
  nchw.attrs = without(without(nchw.attrs, "height"), "width");
  EXPECT_EQ(code(nchw), ErrorCode::kInvalidModel);
  OpCall no_size = call_of({x, w, b}, 3, 4, {});
  no_size.attrs = without(no_size.attrs, "width");
  EXPECT_EQ(code(no_size), ErrorCode::kInvalidModel);  // height and width are required
  OpCall no_kernel = call_of({x, w, b}, 3, 4, {});
  no_kernel.attrs = without(no_kernel.attrs, "kernel_shape");
  EXPECT_EQ(code(no_kernel), ErrorCode::kInvalidModel);
  EXPECT_EQ(code(call_of({x, random_tensor(DType::kF32, {35, 5}, 5), b}, 3, 4, {})),
            ErrorCode::kInvalidModel);  // W rows not kh·kw·C
  EXPECT_EQ(code(call_of({x, random_tensor(DType::kF32, {36, 5, 1}, 5), b}, 3, 4, {})),
            ErrorCode::kInvalidModel);  // W not 2-D
  EXPECT_EQ(code(call_of({x, w, random_tensor(DType::kF32, {6}, 6)}, 3, 4, {})),
            ErrorCode::kInvalidModel);  // B not [Co]
  EXPECT_EQ(code(call_of({x, random_tensor(DType::kF16, {36, 5}, 7), b}, 3, 4, {})),
            ErrorCode::kInvalidModel);  // W of another type
  EXPECT_EQ(code(call_of({x, w, random_tensor(DType::kF64, {5}, 8)}, 3, 4, {})),
            ErrorCode::kInvalidModel);  // B of another type
  const Tensor xh = random_tensor(DType::kF16, {1, 12, 4}, 9), wh = random_tensor(DType::kF16, {36, 5}, 10);
  EXPECT_EQ(code(call_of({xh, wh, b}, 3, 4, {})), ErrorCode::kInternal);  // float32 B with float16 X: valid
  EXPECT_EQ(code(call_of({x, w, random_tensor(DType::kF16, {5}, 11)}, 3, 4, {})),
            ErrorCode::kInvalidModel);  // float16 B with float32 X
  const Tensor xi = random_tensor(DType::kI32, {1, 12, 4}, 12), wi = random_tensor(DType::kI32, {36, 5}, 13);
  EXPECT_EQ(code(call_of({xi, wi}, 3, 4, {})), ErrorCode::kInvalidModel);  // integers
}

}  // namespace
}  // namespace kiln::test
