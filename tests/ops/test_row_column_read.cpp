// kiln.RowColumnRead's CPU reference against the unfused formula in long double — per_col =
// a_col @ V, then a_row @ per_col, the order AnchorDETR's export computes it in — over awkward
// shapes, fp32 and fp16 storage; and its shape inference: symbolic dims, what does not fit.
#include <cstring>

#include "harness.h"
#include "kiln/status.h"

namespace kiln::test {
namespace {

OpCall call(std::vector<Tensor> inputs) {
  OpCall c;
  c.op = "RowColumnRead";
  c.domain = "kiln";
  c.opset = 1;
  c.inputs = std::move(inputs);
  return c;
}

Dims cat(Dims batch, int64_t a, int64_t b) {
  batch.push_back(a);
  batch.push_back(b);
  return batch;
}

// per_col[n, l, x, d] = Σ_y a_col[n, l, y] V[n, y, x, d]; out[n, l, d] = Σ_x a_row[n, l, x] per_col[n, l, x, d].
std::vector<double> unfused(const Tensor& a_col, const Tensor& a_row, const Tensor& v, int64_t w) {
  const int r = a_col.rank();
  const int64_t L = a_col.dim(r - 2), H = a_col.dim(r - 1), D = v.dim(r - 1) / w;
  const int64_t batch = a_col.numel() / (L * H);
  const std::vector<double> c = to_doubles(a_col), ar = to_doubles(a_row), vd = to_doubles(v);
  std::vector<double> out(size_t(batch * L * D));
  std::vector<long double> per_col(size_t(w * D));
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t l = 0; l < L; ++l) {
      std::fill(per_col.begin(), per_col.end(), 0.0L);
      for (int64_t y = 0; y < H; ++y)
        for (int64_t j = 0; j < w * D; ++j)
          per_col[size_t(j)] += (long double)c[size_t((n * L + l) * H + y)] * vd[size_t((n * H + y) * w * D + j)];
      for (int64_t d = 0; d < D; ++d) {
        long double acc = 0;
        for (int64_t x = 0; x < w; ++x) acc += (long double)ar[size_t((n * L + l) * w + x)] * per_col[size_t(x * D + d)];
        out[size_t((n * L + l) * D + d)] = double(acc);
      }
    }
  return out;
}

struct Case {
  Dims batch;
  int64_t L, H, W, D;
};

TEST(RowColumnRead, MatchesTheUnfusedFormula) {
  const std::vector<Case> cases = {
      {{}, 1, 1, 1, 1},       {{}, 7, 3, 5, 16},      {{2}, 17, 5, 9, 32},   {{2, 3}, 33, 7, 13, 24},
      {{1, 8}, 20, 5, 8, 32}, {{2, 2}, 9, 17, 1, 64}, {{3}, 1, 1, 19, 8},    {{1, 2}, 12, 4, 6, 5}};
  uint64_t seed = 7100;
  for (DType dt : {DType::kF32, DType::kF16})
    for (const Case& k : cases) {
      // Softmax-like weights in [0, 1), values of either sign.
      Tensor c = random_tensor(dt, cat(k.batch, k.L, k.H), seed++, 0, 1);
      Tensor r = random_tensor(dt, cat(k.batch, k.L, k.W), seed++, 0, 1);
      Tensor v = random_tensor(dt, cat(k.batch, k.H, k.W * k.D), seed++, -2, 2);
      SCOPED_TRACE(std::string(dtype_name(dt)) + " a_col " + dims_to_string(c.dims()) + " a_row " +
                   dims_to_string(r.dims()) + " V " + dims_to_string(v.dims()) + " seed " + std::to_string(seed - 3));
      const std::vector<Tensor> out = run_op(call({c, r, v}));
      ASSERT_EQ(out.size(), 1u);
      expect_dims(out[0], cat(k.batch, k.L, k.D));
      EXPECT_EQ(out[0].dtype(), dt);
      // Double sums rounded once: fp32 within an ulp or two, fp16 within half an ulp (2^-11).
      if (dt == DType::kF32) expect_close(out[0], unfused(c, r, v, k.W), 1e-7, 1e-6);
      else expect_close(out[0], unfused(c, r, v, k.W), 1e-6, 1e-3);
      if (::testing::Test::HasFailure()) return;
    }
}

// t [a0, a1, ..., ] with its axes in `perm` order (a plain copy, as Transpose computes it).
Tensor permuted(const Tensor& t, const std::vector<int>& perm) {
  Dims out_dims;
  for (int p : perm) out_dims.push_back(t.dim(p));
  Tensor out(t.dtype(), out_dims);
  const Dims in_strides = [&] {
    Dims st(t.dims().size(), 1);
    for (int i = t.rank() - 2; i >= 0; --i) st[size_t(i)] = st[size_t(i + 1)] * t.dim(i + 1);
    return st;
  }();
  const size_t es = dtype_size(t.dtype());
  for (int64_t i = 0; i < out.numel(); ++i) {
    int64_t rem = i, src = 0;
    for (int d = out.rank() - 1; d >= 0; --d) {
      src += rem % out_dims[size_t(d)] * in_strides[size_t(perm[size_t(d)])];
      rem /= out_dims[size_t(d)];
    }
    std::memcpy(static_cast<char*>(out.raw()) + i * int64_t(es), static_cast<const char*>(t.raw()) + src * int64_t(es), es);
  }
  return out;
}

// The token layouts read V [B, H, W, N, D] and write [B, L, N, D]: the same sums, bit for bit, as
// the plain layout on the head-split copies.
TEST(RowColumnRead, TokenLayoutsAreThePlainOnesPermuted) {
  struct Case {
    int64_t B, N, L, H, W, D;
  };
  uint64_t seed = 7300;
  for (DType dt : {DType::kF32, DType::kF16})
    for (const Case& k : {Case{1, 4, 80, 8, 10, 16}, Case{2, 3, 7, 5, 9, 5}, Case{1, 1, 1, 1, 1, 1}, Case{3, 2, 13, 1, 6, 8}})
      for (int v_tokens : {0, 1})
        for (int out_tokens : {0, 1}) {
          SCOPED_TRACE(std::string(dtype_name(dt)) + " v_tokens " + std::to_string(v_tokens) + " out_tokens " +
                       std::to_string(out_tokens) + " B" + std::to_string(k.B) + " N" + std::to_string(k.N));
          const Tensor c = random_tensor(dt, {k.B, k.N, k.L, k.H}, seed++, 0, 1);
          const Tensor r = random_tensor(dt, {k.B, k.N, k.L, k.W}, seed++, 0, 1);
          const Tensor v5 = random_tensor(dt, {k.B, k.H, k.W, k.N, k.D}, seed++, -2, 2);
          Tensor v2 = permuted(v5, {0, 3, 1, 2, 4});
          v2 = v2.reshaped({k.B, k.N, k.H, k.W * k.D});
          const Tensor plain = run_op(call({c, r, v2}))[0];
          OpCall tok = call({c, r, v_tokens ? v5 : v2});
          tok.attrs.set("v_tokens", int64_t(v_tokens));
          tok.attrs.set("out_tokens", int64_t(out_tokens));
          const Tensor got = run_op(tok)[0];
          const Tensor want = out_tokens ? permuted(plain, {0, 2, 1, 3}) : plain;
          expect_dims(got, want.dims());
          EXPECT_TRUE(got.same_bytes(want));
        }
}

TEST(RowColumnRead, TokenLayoutsRejectWhatDoesNotFit) {
  const DType f = DType::kF32;
  auto code = [&](Dims c, Dims r, Dims v, int v_tokens, int out_tokens) {
    OpCall k = call({Tensor(f, std::move(c)), Tensor(f, std::move(r)), Tensor(f, std::move(v))});
    k.attrs.set("v_tokens", int64_t(v_tokens));
    k.attrs.set("out_tokens", int64_t(out_tokens));
    return error_code_of(k);
  };
  EXPECT_EQ(code({2, 3, 5, 4}, {2, 3, 5, 6}, {2, 4, 6, 3, 8}, 1, 1), ErrorCode::kInternal);  // fits: no error
  EXPECT_EQ(code({2, 3, 5, 4}, {2, 3, 5, 6}, {2, 4, 6, 2, 8}, 1, 0), ErrorCode::kInvalidModel);  // V's heads differ
  EXPECT_EQ(code({2, 3, 5, 4}, {2, 3, 5, 6}, {2, 6, 4, 3, 8}, 1, 0), ErrorCode::kInvalidModel);  // H and W swapped
  EXPECT_EQ(code({2, 3, 5, 4}, {2, 3, 5, 6}, {2, 4, 48}, 1, 0), ErrorCode::kInvalidModel);       // V not rank 5
  EXPECT_EQ(code({6, 5, 4}, {6, 5, 6}, {6, 4, 48}, 0, 1), ErrorCode::kInvalidModel);             // out_tokens on rank 3
  EXPECT_EQ(code({2, 3, 5, 4}, {2, 3, 5, 6}, {2, 3, 4, 48}, 2, 0), ErrorCode::kInvalidModel);    // flag not 0/1
}

// No rows to weigh (H = 0): every output is the empty sum, 0.
TEST(RowColumnRead, EmptyColumnSumIsZero) {
  const Tensor c(DType::kF32, {2, 3, 0}), r = random_tensor(DType::kF32, {2, 3, 4}, 1), v(DType::kF32, {2, 0, 8});
  const Tensor out = run_op(call({c, r, v}))[0];
  expect_dims(out, {2, 3, 2});
  expect_close(out, std::vector<double>(12, 0.0), 0, 0);
}

TEST(RowColumnRead, InfersSymbolicShapes) {
  OpCall c = call({Tensor(DType::kF16, {2, 8, 5, 3}), Tensor(DType::kF16, {2, 8, 5, 4}),
                   Tensor(DType::kF16, {2, 8, 3, 4 * 32})});
  std::vector<ValueType> t = infer_op(c);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].dtype, DType::kF16);
  EXPECT_EQ(shape_to_string(*t[0].shape), "2x8x5x32");
}

TEST(RowColumnRead, InferRejectsWhatDoesNotFit) {
  const DType f = DType::kF32;
  auto code = [&](Dims c, Dims r, Dims v, DType vt = DType::kF32) {
    return error_code_of(call({Tensor(f, std::move(c)), Tensor(f, std::move(r)), Tensor(vt, std::move(v))}));
  };
  EXPECT_NO_THROW(run_op(call({Tensor(f, {2, 5, 3}), Tensor(f, {2, 5, 4}), Tensor(f, {2, 3, 8})})));  // fits
  EXPECT_EQ(code({2, 5, 3}, {3, 5, 4}, {2, 3, 8}), ErrorCode::kInvalidModel);        // batch differs
  EXPECT_EQ(code({2, 5, 3}, {1, 5, 4}, {2, 3, 8}), ErrorCode::kInvalidModel);        // no broadcasting
  EXPECT_EQ(code({2, 5, 3}, {2, 6, 4}, {2, 3, 8}), ErrorCode::kInvalidModel);        // L differs
  EXPECT_EQ(code({2, 5, 3}, {2, 5, 4}, {2, 4, 8}), ErrorCode::kInvalidModel);        // H differs
  EXPECT_EQ(code({2, 5, 3}, {2, 5, 4}, {2, 3, 10}), ErrorCode::kInvalidModel);       // W does not divide
  EXPECT_EQ(code({2, 5, 3}, {2, 5, 0}, {2, 3, 0}), ErrorCode::kInvalidModel);        // W = 0
  EXPECT_EQ(code({5, 3}, {2, 5, 4}, {2, 3, 8}), ErrorCode::kInvalidModel);           // ranks differ
  EXPECT_EQ(code({3}, {4}, {8}), ErrorCode::kInvalidModel);                          // rank 1
  EXPECT_EQ(code({5, 3}, {5, 4}, {3, 8}, DType::kF16), ErrorCode::kInvalidModel);    // dtypes differ
  EXPECT_EQ(error_code_of(call({Tensor(DType::kI32, {5, 3}), Tensor(DType::kI32, {5, 4}), Tensor(DType::kI32, {3, 8})})),
            ErrorCode::kUnsupported);
  try {
    run_op(call({Tensor(f, {2, 5, 3}), Tensor(f, {2, 5, 4}), Tensor(f, {2, 3, 10})}));
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("V's last dim 10 is not W·D for a_row's W = 4"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kiln::test
