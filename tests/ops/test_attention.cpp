// kiln.Attention's CPU reference against the textbook formula in long double: scores, max
// shift, exp, normalize, weighted sum of V — over awkward shapes, fp32 and fp16 storage, masks.
#include <cmath>

#include "harness.h"
#include "ops/tensor/tensor_util.h"

namespace kiln::test {
namespace {

struct Shape4 {
  Dims batch;
  int64_t nq, nk, d, dv;
};

Dims cat(const Dims& batch, int64_t a, int64_t b) {
  Dims d = batch;
  d.push_back(a);
  d.push_back(b);
  return d;
}

OpCall attention_call(std::vector<Tensor> inputs, std::optional<float> scale) {
  OpCall c;
  c.op = "Attention";
  c.domain = "kiln";
  c.opset = 1;
  c.inputs = std::move(inputs);
  if (scale) c.attrs.set("scale", *scale);
  return c;
}

// mask(b, i, j): additive term (-inf for a masked-out bool), 0 without a mask.
template <class MaskFn>
std::vector<double> ref_attention(const Tensor& q, const Tensor& k, const Tensor& v, double scale, MaskFn mask) {
  const int r = q.rank();
  const int64_t nq = q.dim(r - 2), d = q.dim(r - 1), nk = k.dim(r - 2), dv = v.dim(r - 1);
  const int64_t batch = q.numel() / (nq * d);
  const std::vector<double> qd = to_doubles(q), kd = to_doubles(k), vd = to_doubles(v);
  std::vector<double> out(size_t(batch * nq * dv));
  std::vector<long double> s(static_cast<size_t>(nk));
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < nq; ++i) {
      long double m = -INFINITY;
      for (int64_t j = 0; j < nk; ++j) {
        long double dot = 0;
        for (int64_t c = 0; c < d; ++c)
          dot += (long double)qd[size_t((b * nq + i) * d + c)] * kd[size_t((b * nk + j) * d + c)];
        s[size_t(j)] = dot * scale + mask(b, i, j);
        m = std::max(m, s[size_t(j)]);
      }
      long double sum = 0;
      for (int64_t j = 0; j < nk; ++j) sum += std::exp(s[size_t(j)] - m);
      for (int64_t c = 0; c < dv; ++c) {
        long double acc = 0;
        for (int64_t j = 0; j < nk; ++j) acc += std::exp(s[size_t(j)] - m) * vd[size_t((b * nk + j) * dv + c)];
        out[size_t((b * nq + i) * dv + c)] = double(acc / sum);
      }
    }
  return out;
}

std::vector<double> ref_attention(const Tensor& q, const Tensor& k, const Tensor& v, double scale) {
  return ref_attention(q, k, v, scale, [](int64_t, int64_t, int64_t) { return 0.0; });
}

TEST(Attention, MatchesReferenceOnAwkwardShapes) {
  const std::vector<Shape4> shapes = {
      {{}, 1, 1, 32, 32},       {{}, 3, 17, 64, 64},       {{}, 17, 33, 128, 128}, {{}, 1025, 1024, 64, 64},
      {{2}, 17, 1024, 32, 32},  {{2}, 1025, 17, 128, 128}, {{2}, 3, 33, 32, 17},  {{2, 3}, 1, 33, 64, 64},
      {{2, 3}, 17, 17, 128, 128}, {{2, 3}, 3, 1024, 32, 32}, {{2}, 17, 33, 20, 16}};
  uint64_t seed = 4000;
  for (DType dt : {DType::kF32, DType::kF16})
    for (const Shape4& s : shapes) {
      Tensor q = random_tensor(dt, cat(s.batch, s.nq, s.d), seed++, -2, 2);
      Tensor k = random_tensor(dt, cat(s.batch, s.nk, s.d), seed++, -2, 2);
      Tensor v = random_tensor(dt, cat(s.batch, s.nk, s.dv), seed++);
      const float scale = 1.f / std::sqrt(float(s.d));
      SCOPED_TRACE(std::string(dtype_name(dt)) + " Q " + dims_to_string(q.dims()) + " K " + dims_to_string(k.dims()) +
                   " V " + dims_to_string(v.dims()) + " seed " + std::to_string(seed - 3));
      std::vector<Tensor> out = run_op(attention_call({q, k, v}, scale));
      ASSERT_EQ(out.size(), 1u);
      expect_dims(out[0], cat(s.batch, s.nq, s.dv));
      // Double math rounded once: fp32 within a few ulp, fp16 within half an ulp (2^-11 relative).
      if (dt == DType::kF32) expect_close(out[0], ref_attention(q, k, v, scale), 1e-7, 1e-6);
      else expect_close(out[0], ref_attention(q, k, v, scale), 1e-7, 1e-3);
      if (::testing::Test::HasFailure()) return;
    }
}

TEST(Attention, DefaultScaleIsInverseSqrtOfHeadDim) {
  Tensor q = random_tensor(DType::kF32, {2, 5, 16}, 1), k = random_tensor(DType::kF32, {2, 7, 16}, 2),
         v = random_tensor(DType::kF32, {2, 7, 3}, 3);
  expect_close(run_op(attention_call({q, k, v}, std::nullopt))[0], ref_attention(q, k, v, 0.25), 1e-7, 1e-6);
}

// Scores of ±hundreds: exp without the max shift would overflow double's exp range in fp32 terms.
TEST(Attention, StableForLargeScores) {
  Tensor q = random_tensor(DType::kF32, {3, 9, 32}, 11, -20, 20), k = random_tensor(DType::kF32, {3, 40, 32}, 12, -20, 20),
         v = random_tensor(DType::kF32, {3, 40, 8}, 13);
  Tensor out = run_op(attention_call({q, k, v}, 1.f))[0];
  for (double x : to_doubles(out)) ASSERT_TRUE(std::isfinite(x));
  expect_close(out, ref_attention(q, k, v, 1.0), 1e-7, 1e-6);
}

TEST(Attention, BoolAndAdditiveMasksBroadcast) {
  Tensor q = random_tensor(DType::kF32, {2, 3, 5, 8}, 21), k = random_tensor(DType::kF32, {2, 3, 6, 8}, 22),
         v = random_tensor(DType::kF32, {2, 3, 6, 4}, 23);
  // bool [5, 6], broadcast over both batch dims; every row keeps at least one key.
  std::vector<bool> keep_v(30);
  Tensor keep(DType::kBool, {5, 6});
  for (int i = 0; i < 30; ++i) keep.data<bool>()[i] = keep_v[size_t(i)] = (i * 7) % 3 != 0 || i % 6 == 0;
  expect_close(run_op(attention_call({q, k, v, keep}, 0.5f))[0],
               ref_attention(q, k, v, 0.5,
                             [&](int64_t, int64_t i, int64_t j) { return keep_v[size_t(i * 6 + j)] ? 0.0 : -INFINITY; }),
               1e-7, 1e-6);
  // additive [2, 1, 1, 6]: per batch item and key, shared by heads and queries.
  Tensor add = random_tensor(DType::kF32, {2, 1, 1, 6}, 24, -3, 3);
  const std::vector<double> a = to_doubles(add);
  expect_close(run_op(attention_call({q, k, v, add}, 0.5f))[0],
               ref_attention(q, k, v, 0.5, [&](int64_t b, int64_t, int64_t j) { return a[size_t((b / 3) * 6 + j)]; }),
               1e-7, 1e-6);
}

TEST(Attention, FullyMaskedRowIsNaNLikeSoftmax) {
  Tensor q = random_tensor(DType::kF32, {2, 4}, 31), k = random_tensor(DType::kF32, {3, 4}, 32),
         v = random_tensor(DType::kF32, {3, 2}, 33);
  Tensor keep(DType::kBool, {2, 3});
  for (int i = 0; i < 6; ++i) keep.data<bool>()[i] = i >= 3;  // row 0 masked out entirely
  std::vector<double> got = to_doubles(run_op(attention_call({q, k, v, keep}, 1.f))[0]);
  EXPECT_TRUE(std::isnan(got[0]) && std::isnan(got[1]));
  EXPECT_TRUE(std::isfinite(got[2]) && std::isfinite(got[3]));
}

TEST(Attention, InferRejectsWhatDoesNotFit) {
  auto t = [](DType dt, Dims d) { return Tensor(dt, std::move(d)); };
  const DType f = DType::kF32;
  auto code = [&](std::vector<Tensor> in) { return error_code_of(attention_call(std::move(in), 1.f)); };
  EXPECT_EQ(code({t(f, {2, 5, 8}), t(f, {2, 6, 7}), t(f, {2, 6, 4})}), ErrorCode::kInvalidModel);  // d differs
  EXPECT_EQ(code({t(f, {2, 5, 8}), t(f, {3, 6, 8}), t(f, {3, 6, 4})}), ErrorCode::kInvalidModel);  // batch differs
  EXPECT_EQ(code({t(f, {1, 5, 8}), t(f, {2, 6, 8}), t(f, {2, 6, 4})}), ErrorCode::kInvalidModel);  // no broadcasting
  EXPECT_EQ(code({t(f, {2, 5, 8}), t(f, {2, 6, 8}), t(f, {2, 7, 4})}), ErrorCode::kInvalidModel);  // Nk differs
  EXPECT_EQ(code({t(f, {5, 8}), t(f, {2, 6, 8}), t(f, {2, 6, 4})}), ErrorCode::kInvalidModel);     // ranks differ
  EXPECT_EQ(code({t(f, {8}), t(f, {8}), t(f, {8})}), ErrorCode::kInvalidModel);                    // rank 1
  EXPECT_EQ(code({t(f, {5, 8}), t(DType::kF16, {6, 8}), t(f, {6, 4})}), ErrorCode::kInvalidModel); // dtypes
  EXPECT_EQ(code({t(f, {5, 8}), t(f, {6, 8}), t(f, {6, 4}), t(DType::kI64, {5, 6})}), ErrorCode::kInvalidModel);
  EXPECT_EQ(code({t(f, {5, 8}), t(f, {6, 8}), t(f, {6, 4}), t(f, {4, 6})}), ErrorCode::kInvalidModel);  // mask Nq
  EXPECT_EQ(code({t(f, {5, 8}), t(f, {6, 8}), t(f, {6, 4}), t(f, {2, 5, 6})}), ErrorCode::kInvalidModel);  // rank
  EXPECT_EQ(code({t(DType::kI32, {5, 8}), t(DType::kI32, {6, 8}), t(DType::kI32, {6, 4})}), ErrorCode::kUnsupported);
  // The message names what is wrong.
  try {
    run_op(attention_call({t(f, {2, 5, 8}), t(f, {2, 6, 7}), t(f, {2, 6, 4})}, 1.f));
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("head dim 8 differs from K's 7"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kiln::test

namespace kiln::test {
namespace {

// [B, H, S, D] <-> [B, S, H, D].
Tensor swap12(const Tensor& t) { return tensor_ops::permute(t, {0, 2, 1, 3}); }

// Every combination of seq_first flags gives the plain result, permuted where the output is
// seq_first; with a mask, which refers to [B, H, Nq, Nk] either way.
TEST(Attention, SeqFirstLayoutsMatchThePlainOne) {
  for (DType dt : {DType::kF32, DType::kF16}) {
    Tensor q = random_tensor(dt, {2, 3, 5, 8}, 51, -2, 2), k = random_tensor(dt, {2, 3, 7, 8}, 52, -2, 2),
           v = random_tensor(dt, {2, 3, 7, 6}, 53);
    Tensor mask = random_tensor(dt, {3, 5, 7}, 54, -3, 3);
    for (bool masked : {false, true}) {
      std::vector<Tensor> plain_in = {q, k, v};
      if (masked) plain_in.push_back(mask);
      const Tensor plain = run_op(attention_call(plain_in, 0.4f))[0];
      for (int flags = 0; flags < 16; ++flags) {
        SCOPED_TRACE(std::string(dtype_name(dt)) + " flags " + std::to_string(flags) + (masked ? " masked" : ""));
        std::vector<int64_t> seq_first(4);
        for (int i = 0; i < 4; ++i) seq_first[size_t(i)] = (flags >> i) & 1;
        std::vector<Tensor> in = {seq_first[0] ? swap12(q) : q, seq_first[1] ? swap12(k) : k, seq_first[2] ? swap12(v) : v};
        if (masked) in.push_back(mask);
        OpCall c = attention_call(in, 0.4f);
        c.attrs.set("seq_first", seq_first);
        const Tensor got = run_op(c)[0];
        const Tensor want = seq_first[3] ? swap12(plain) : plain;
        expect_dims(got, want.dims());
        expect_close(got, to_doubles(want), 0, 0);  // the same arithmetic in another layout: bitwise
        if (::testing::Test::HasFailure()) return;
      }
    }
  }
}

TEST(Attention, SeqFirstNeedsFourFlagsOnRankFour) {
  const DType f = DType::kF32;
  auto call = [&](Dims qd, std::vector<int64_t> flags) {
    OpCall c = attention_call({Tensor(f, qd), Tensor(f, qd), Tensor(f, qd)}, 1.f);
    c.attrs.set("seq_first", flags);
    return error_code_of(c);
  };
  EXPECT_EQ(call({2, 5, 8}, {1, 0, 0, 0}), ErrorCode::kInvalidModel);        // rank 3
  EXPECT_EQ(call({1, 2, 5, 8}, {1, 0, 0}), ErrorCode::kInvalidModel);        // three flags
  EXPECT_EQ(call({1, 2, 5, 8}, {2, 0, 0, 0}), ErrorCode::kInvalidModel);     // not 0/1
  // K [B, S, H, D] whose H disagrees with Q's once swapped back.
  OpCall c = attention_call({Tensor(f, {1, 2, 5, 8}), Tensor(f, {1, 3, 6, 8}), Tensor(f, {1, 2, 6, 8})}, 1.f);
  c.attrs.set("seq_first", std::vector<int64_t>{0, 1, 0, 0});
  EXPECT_EQ(error_code_of(c), ErrorCode::kInvalidModel);
}

}  // namespace
}  // namespace kiln::test
