// kiln.Attention's packed K/V form (packed_kv = 1: input 1 is [B, Nk, 2H, D], K's heads then
// V's, input 2 empty) computes the same bits as the unpacked seq_first form on K and V sliced
// out of it, masked or not, whatever Q's and the output's layout; and its misuses are model
// errors that say what is wrong.
#include <cstring>

#include "harness.h"

namespace kiln::test {
namespace {

OpCall call(std::vector<Tensor> inputs, std::vector<int64_t> seq_first, int64_t packed) {
  OpCall c;
  c.op = "Attention";
  c.domain = "kiln";
  c.opset = 1;
  c.inputs = std::move(inputs);
  c.attrs.set("scale", 0.3f);
  c.attrs.set("seq_first", std::move(seq_first));
  if (packed >= 0) c.attrs.set("packed_kv", packed);
  return c;
}

// Heads [first, first + h) of a [B, S, 2H, D] tensor, as [B, S, h, D].
Tensor heads_of(const Tensor& kv, int64_t first, int64_t h) {
  const int64_t rows = kv.dim(0) * kv.dim(1), d = kv.dim(3), es = int64_t(dtype_size(kv.dtype()));
  Tensor out(kv.dtype(), {kv.dim(0), kv.dim(1), h, d});
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(static_cast<char*>(out.raw()) + r * h * d * es,
                static_cast<const char*>(kv.raw()) + (r * kv.dim(2) + first) * d * es, size_t(h * d * es));
  return out;
}

struct Case {
  int64_t b, nq, nk, h, d;
};

TEST(AttentionPackedKv, SameBitsAsTheUnpackedForm) {
  uint64_t seed = 900;
  for (DType dt : {DType::kF32, DType::kF16})
    for (const Case& s : {Case{1, 5, 7, 1, 8}, Case{2, 9, 1, 3, 16}, Case{1, 17, 33, 2, 20}, Case{2, 4, 65, 5, 32}})
      for (int mask = 0; mask < 3; ++mask)  // none, bool, additive
        for (int qo : {0, 1, 2, 3}) {     // Q's and the output's seq_first flags
          SCOPED_TRACE(std::string(dtype_name(dt)) + " b " + std::to_string(s.b) + " nk " + std::to_string(s.nk) +
                       " h " + std::to_string(s.h) + " mask " + std::to_string(mask) + " qo " + std::to_string(qo));
          const std::vector<int64_t> flags = {qo & 1, 1, 1, qo >> 1};
          const Tensor q = random_tensor(dt, flags[0] ? Dims{s.b, s.nq, s.h, s.d} : Dims{s.b, s.h, s.nq, s.d}, seed++, -2, 2);
          const Tensor kv = random_tensor(dt, {s.b, s.nk, 2 * s.h, s.d}, seed++, -2, 2);
          std::vector<Tensor> unpacked = {q, heads_of(kv, 0, s.h), heads_of(kv, s.h, s.h)};
          std::vector<Tensor> packed = {q, kv, Tensor()};
          if (mask) {
            const Tensor m = mask == 1 ? random_tensor(DType::kBool, {s.h, s.nq, s.nk}, seed++, 0, 1.6)
                                       : random_tensor(dt, {s.b, 1, s.nq, s.nk}, seed++, -3, 3);
            unpacked.push_back(m);
            packed.push_back(m);
          }
          const Tensor want = run_op(call(unpacked, flags, -1))[0];
          const Tensor got = run_op(call(packed, flags, 1))[0];
          expect_dims(got, want.dims());
          expect_close(got, to_doubles(want), 0, 0);
          if (::testing::Test::HasFailure()) return;
        }
}

// packed_kv = 0 is the unpacked form.
TEST(AttentionPackedKv, ZeroIsTheUnpackedForm) {
  const Tensor q = random_tensor(DType::kF32, {1, 2, 3, 8}, 1), k = random_tensor(DType::kF32, {1, 4, 2, 8}, 2),
               v = random_tensor(DType::kF32, {1, 4, 2, 8}, 3);
  const Tensor want = run_op(call({q, k, v}, {0, 1, 1, 0}, -1))[0];
  expect_close(run_op(call({q, k, v}, {0, 1, 1, 0}, 0))[0], to_doubles(want), 0, 0);
}

TEST(AttentionPackedKv, InfersTheOutputFromHalfTheHeads) {
  const auto types = infer_op(call({Tensor(DType::kF16, {2, 9, 3, 16}), Tensor(DType::kF16, {2, 5, 6, 16}), Tensor()},
                                   {1, 1, 1, 1}, 1));
  ASSERT_EQ(types.size(), 1u);
  EXPECT_EQ(types[0].dtype, DType::kF16);
  EXPECT_EQ(*types[0].shape, (Shape{2, 9, 3, 16}));
}

// One line that names the problem, a model error each.
void expect_refused(const OpCall& c, const std::string& words) {
  try {
    run_op(c);
    ADD_FAILURE() << "no error; wanted: " << words;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidModel) << e.what();
    EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
  }
}

TEST(AttentionPackedKv, MisusesAreModelErrors) {
  const DType f = DType::kF32;
  const Tensor q(f, {1, 4, 2, 8}), kv(f, {1, 6, 4, 8}), v(f, {1, 6, 2, 8});
  expect_refused(call({q, Tensor(f, {1, 6, 3, 8}), Tensor()}, {1, 1, 1, 1}, 1), "has 3 heads");
  expect_refused(call({q, kv, v}, {1, 1, 1, 1}, 1), "input 2 must be empty");
  expect_refused(call({q, kv, Tensor()}, {1, 0, 0, 1}, 1), "needs seq_first K and V");
  expect_refused(call({q, kv, Tensor()}, {1, 1, 0, 1}, 1), "needs seq_first K and V");
  OpCall no_flags = call({q, kv, Tensor()}, {}, 1);
  no_flags.attrs = {};
  no_flags.attrs.set("packed_kv", int64_t(1));
  expect_refused(no_flags, "needs seq_first K and V");
  expect_refused(call({q, kv, Tensor()}, {1, 1, 1, 1}, 2), "packed_kv is 0 or 1");
  expect_refused(call({q, kv, Tensor()}, {1, 1, 1, 1}, 0), "V (input 2) is required");
  expect_refused(call({q, Tensor(DType::kF16, {1, 6, 4, 8}), Tensor()}, {1, 1, 1, 1}, 1), "packed K/V is float16");
  // K's heads (half the packed ones) must be Q's, and Q's head dim K's.
  expect_refused(call({q, Tensor(f, {1, 6, 6, 8}), Tensor()}, {1, 1, 1, 1}, 1), "batch dim 1 differs");
  expect_refused(call({q, Tensor(f, {1, 6, 4, 4}), Tensor()}, {1, 1, 1, 1}, 1), "head dim 8 differs from K's 4");
}

}  // namespace
}  // namespace kiln::test
