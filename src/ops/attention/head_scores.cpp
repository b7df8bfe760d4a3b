// HeadScores (head_scores.h): shape inference and the CPU reference (double sums, one rounding).
#include "ops/attention/head_scores.h"

#include <string>
#include <type_traits>

#include "ops/op_util.h"
#include "ops/registry.h"

namespace kiln::attention {
namespace {

Shape check_shapes(const OpContextBase& ctx, const Shape& q, const Shape& k) {
  if (q.size() != 4 || k.size() != 4)
    ctx.invalid("Q and K must be [B, L, N, D] and [B, J, N, D], got " + shape_to_string(q) + " and " + shape_to_string(k));
  for (int i : {0, 2, 3})
    if (dims_conflict(q[size_t(i)], k[size_t(i)]))
      ctx.invalid(std::string(i == 0 ? "batch" : i == 2 ? "head count" : "head size") + " differs between Q " +
                  shape_to_string(q) + " and K " + shape_to_string(k) + "; HeadScores does not broadcast");
  auto pick = [](const Dim& a, const Dim& b) { return a.known() || !a.symbol.empty() ? a : b; };
  return {pick(q[0], k[0]), pick(q[2], k[2]), q[1], k[1]};
}

std::vector<ValueType> infer(const InferContext& ctx) {
  ctx.require_dtype(0, kFloatTypes);
  const DType dt = ctx.dtype(0);
  if (ctx.dtype(1) != dt) ctx.invalid(std::string("K is ") + dtype_name(ctx.dtype(1)) + " but Q is " + dtype_name(dt));
  const Shape *q = ctx.shape(0), *k = ctx.shape(1);
  if (!q || !k) return {{dt, std::nullopt}};
  return {{dt, check_shapes(ctx, *q, *k)}};
}

template <class T> void forward(const HeadScoresDims& s, double scale, const T* q, const T* k, T* out) {
  const int64_t L = s.rows, J = s.keys, N = s.heads, D = s.head_dim;
  parallel_for(s.batch * N * L, std::max<int64_t>(1, 4096 / std::max<int64_t>(J * D, 1)), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t b = r / (N * L), n = r / L % N, l = r % L;
      const T* qr = q + ((b * L + l) * N + n) * D;
      T* o = out + r * J;
      for (int64_t j = 0; j < J; ++j) {
        const T* kr = k + ((b * J + j) * N + n) * D;
        double acc = 0;
        for (int64_t d = 0; d < D; ++d) acc += to_double(qr[d]) * to_double(kr[d]);
        o[j] = from_double<T>(scale * acc);
      }
    }
  });
}

std::vector<Tensor> cpu(const KernelContext& ctx) {
  const Tensor &q = ctx.input(0), &k = ctx.input(1);
  if (k.dtype() != q.dtype()) ctx.invalid("Q and K must have one dtype");
  const HeadScoresDims s = head_scores_dims(ctx, q.dims(), k.dims());
  Tensor y(q.dtype(), {s.batch, s.heads, s.rows, s.keys});
  if (y.numel() == 0) return {y};
  const double scale = ctx.attrs().get_float("scale", 1.f);
  visit_dtype(q.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_floating_point_v<T> || std::is_same_v<T, f16> || std::is_same_v<T, bf16>)
      forward<T>(s, scale, q.data<T>(), k.data<T>(), y.data<T>());
    else
      ctx.unsupported(std::string("HeadScores of ") + dtype_name(q.dtype()) + " is not supported");
  });
  return {y};
}

}  // namespace

HeadScoresDims head_scores_dims(const OpContextBase& ctx, const Dims& q, const Dims& k) {
  check_shapes(ctx, shape_of(q), shape_of(k));
  return {q[0], q[1], k[1], q[2], q[3]};
}

void register_head_scores(OpRegistry& r) {
  r.add({.domain = kKilnDomain, .name = kHeadScoresOp, .min_inputs = 2, .max_inputs = 2, .infer = infer, .cpu = cpu});
}

}  // namespace kiln::attention
