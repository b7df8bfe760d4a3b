// Einsum against a brute-force reference that enumerates every label assignment. The
// reference takes the equation with ellipses already spelled out as letters, so it shares
// nothing with the parser under test.
#include <map>

#include "harness.h"

// OpCall is filled with designated initializers; omitted members are meant to default.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace kiln::test {
namespace {

// ins[i] labels input i's dims (one letter each; size-1 dims broadcast); out labels the result.
std::vector<double> einsum_ref(const std::vector<std::string>& ins, const std::string& out,
                               const std::vector<Tensor>& t) {
  std::map<char, int64_t> size;
  for (size_t i = 0; i < ins.size(); ++i)
    for (size_t d = 0; d < ins[i].size(); ++d)
      size[ins[i][d]] = std::max(size[ins[i][d]], t[i].dims()[d]);
  std::vector<char> labels;
  for (auto& [c, s] : size) labels.push_back(c);
  int64_t out_n = 1;
  for (char c : out) out_n *= size[c];
  std::vector<double> y(size_t(out_n), 0.0);
  std::vector<std::vector<double>> v;
  for (const Tensor& x : t) v.push_back(to_doubles(x));
  std::map<char, int64_t> idx;
  for (char c : labels) idx[c] = 0;
  while (true) {
    double p = 1;
    for (size_t i = 0; i < ins.size(); ++i) {
      int64_t off = 0;
      for (size_t d = 0; d < ins[i].size(); ++d) {
        int64_t dim = t[i].dims()[d];
        off = off * dim + (dim == 1 ? 0 : idx[ins[i][d]]);
      }
      // Repeated labels within an operand read the diagonal naturally.
      p *= v[i][size_t(off)];
    }
    int64_t o = 0;
    for (char c : out) o = o * size[c] + idx[c];
    y[size_t(o)] += p;
    size_t k = labels.size();
    while (k-- > 0) {
      if (++idx[labels[k]] < size[labels[k]]) break;
      idx[labels[k]] = 0;
    }
    if (k == size_t(-1)) break;
  }
  return y;
}

struct Case {
  std::string equation;
  std::vector<Dims> dims;
  std::vector<std::string> ref_ins;  // expanded labels for the reference
  std::string ref_out;
  Dims out_dims;
};

void run_case(const Case& c, DType dt, double tol, uint64_t seed) {
  std::vector<Tensor> in;
  for (const Dims& d : c.dims)
    in.push_back(dt == DType::kI32 || dt == DType::kI64 ? random_tensor(dt, d, seed++, -9, 9)
                                                        : random_tensor(dt, d, seed++));
  Attributes a;
  a.set("equation", c.equation);
  auto out = run_op({.op = "Einsum", .inputs = in, .attrs = a, .opset = 13});
  SCOPED_TRACE(c.equation + " " + dtype_name(dt));
  expect_dims(out[0], c.out_dims);
  expect_close(out[0], einsum_ref(c.ref_ins, c.ref_out, in), tol, tol);
}

const std::vector<Case>& cases() {
  static const std::vector<Case> k = {
      // two-operand contractions (GEMM path), including Mask2Former's
      {"bqc,bchw->bqhw", {{2, 17, 33}, {2, 33, 5, 7}}, {"bqc", "bchw"}, "bqhw", {2, 17, 5, 7}},
      {"bchw,bqc->bqhw", {{2, 33, 5, 7}, {2, 17, 33}}, {"bchw", "bqc"}, "bqhw", {2, 17, 5, 7}},
      {"ij,jk", {{3, 17}, {17, 5}}, {"ij", "jk"}, "ik", {3, 5}},
      {"bji,bjk->bik", {{4, 9, 3}, {4, 9, 5}}, {"bji", "bjk"}, "bik", {4, 3, 5}},
      {"abcd,acbe->adbe", {{2, 3, 4, 5}, {2, 4, 3, 6}}, {"abcd", "acbe"}, "adbe", {2, 5, 3, 6}},
      {"i,j->ij", {{7}, {3}}, {"i", "j"}, "ij", {7, 3}},
      {"i,i", {{1025}, {1025}}, {"i", "i"}, "", {}},
      {"nqd,nkd->nqk", {{3, 1023, 8}, {3, 17, 8}}, {"nqd", "nkd"}, "nqk", {3, 1023, 17}},
      {"ab,ba->", {{4, 6}, {6, 4}}, {"ab", "ba"}, "", {}},
      // generic loop: diagonals, sums inside one operand, transposes, >2 operands, ellipsis
      {"ii->i", {{5, 5}}, {"ii"}, "i", {5}},
      {"ii", {{5, 5}}, {"ii"}, "", {}},
      {"bii->bi", {{3, 4, 4}}, {"bii"}, "bi", {3, 4}},
      {"ij->ji", {{3, 17}}, {"ij"}, "ji", {17, 3}},
      {"ij->", {{3, 17}}, {"ij"}, "", {}},
      {"ij,jk->k", {{3, 4}, {4, 5}}, {"ij", "jk"}, "k", {5}},
      {"ij,jk,kl->il", {{3, 4}, {4, 5}, {5, 2}}, {"ij", "jk", "kl"}, "il", {3, 2}},
      {"...ij,...jk->...ik", {{2, 1, 3, 4}, {5, 4, 6}}, {"xyij", "yjk"}, "xyik", {2, 5, 3, 6}},
      {"...ii->...i", {{2, 3, 3}}, {"xii"}, "xi", {2, 3}},
      {"i...->...", {{4, 2, 3}}, {"ixy"}, "xy", {2, 3}},
      {"ba", {{3, 4}}, {"ba"}, "ab", {4, 3}},
      {"Ab,bA->A", {{3, 4}, {4, 3}}, {"Ab", "bA"}, "A", {3}},
      {" i j , j k -> i k ", {{2, 3}, {3, 2}}, {"ij", "jk"}, "ik", {2, 2}},
  };
  return k;
}

TEST(LinearEinsum, F32Cases) {
  uint64_t seed = 600;
  for (const Case& c : cases()) run_case(c, DType::kF32, 1e-4, seed += 10);
}

TEST(LinearEinsum, OtherDtypes) {
  uint64_t seed = 700;
  for (const Case& c : cases()) {
    run_case(c, DType::kF64, 1e-11, seed += 10);
    run_case(c, DType::kI64, 0, seed += 10);
    run_case(c, DType::kI32, 0, seed += 10);
  }
  run_case(cases()[0], DType::kF16, 3e-2, 800);
  run_case(cases()[10], DType::kBF16, 5e-2, 810);
}

TEST(LinearEinsum, Errors) {
  Tensor a = random_tensor(DType::kF32, {3, 4}, 1), b = random_tensor(DType::kF32, {5, 2}, 2);
  auto call = [&](const std::string& eq, std::vector<Tensor> in) {
    Attributes at;
    at.set("equation", eq);
    return error_code_of({.op = "Einsum", .inputs = std::move(in), .attrs = at});
  };
  EXPECT_EQ(call("ij,jk->ik", {a, b}), ErrorCode::kInvalidModel);   // j: 4 vs 5
  EXPECT_EQ(call("ij,jk->ik", {a}), ErrorCode::kInvalidModel);      // operand count
  EXPECT_EQ(call("ij->iz", {a}), ErrorCode::kInvalidModel);         // z not an input label
  EXPECT_EQ(call("ij->ii", {a}), ErrorCode::kInvalidModel);         // repeated output label
  EXPECT_EQ(call("ijk->i", {a}), ErrorCode::kInvalidModel);         // rank mismatch
  EXPECT_EQ(call("i1->i", {a}), ErrorCode::kInvalidModel);          // bad character
  EXPECT_EQ(call("ii->i", {a}), ErrorCode::kInvalidModel);          // diagonal of 3x4
  EXPECT_EQ(call("......->", {a}), ErrorCode::kInvalidModel);       // two ellipses
  Tensor c = random_tensor(DType::kF32, {2, 3, 4}, 3);
  EXPECT_EQ(call("...ij->ij", {c}), ErrorCode::kInvalidModel);     // ellipsis dims dropped
  for (const char* ok : {"ij->i...", "...ij->ij"}) {  // an ellipsis over zero dims is fine
    Attributes at;
    at.set("equation", std::string(ok));
    EXPECT_NO_THROW(run_op({.op = "Einsum", .inputs = {a}, .attrs = at}));
  }
  Tensor u = random_tensor(DType::kU8, {3, 4}, 6);
  EXPECT_EQ(call("ij->ji", {u}), ErrorCode::kUnsupported);
}

}  // namespace
}  // namespace kiln::test
