// kiln.Attention: shape inference and the CPU reference. The reference never materializes the
// whole score matrix: per query row it forms the Nk scores in double, subtracts their maximum
// (numerically stable), exponentiates, and accumulates the weighted V rows in double, so each
// output element is rounded once. K is transposed to [d, Nk] doubles per batch so the score loop
// and the V loop both run along contiguous memory (they vectorize).
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "ops/attention/attention_ops.h"
#include "ops/op_util.h"
#include "ops/reduce/exp_nonpositive.h"
#include "ops/tensor/tensor_util.h"

namespace kiln::attention {
namespace {

template <class T> inline constexpr bool kFloatStorage =
    std::is_floating_point_v<T> || std::is_same_v<T, f16> || std::is_same_v<T, bf16>;

// The mask's shape against the scores [..., Nq, Nk] (Q's dims with Nk last).
void check_mask(const InferContext& ctx, const Shape& q, const Shape& k) {
  const Shape* m = ctx.shape(3);
  if (!m) return;
  if (m->size() > q.size())
    ctx.invalid("mask of rank " + std::to_string(m->size()) + " does not broadcast to the scores of rank " +
                std::to_string(q.size()));
  Shape target = q;
  target.back() = k[k.size() - 2];
  const size_t off = target.size() - m->size();
  for (size_t i = 0; i < m->size(); ++i) {
    const Dim& md = (*m)[i];
    if (md.known() && md.value == 1) continue;
    if (dims_conflict(md, target[off + i]))
      ctx.invalid("mask dim " + std::to_string(i) + " (" + dim_to_string(md) + ") does not broadcast to scores dim " +
                  dim_to_string(target[off + i]));
  }
}

}  // namespace

float attention_scale(const OpContextBase& ctx, int64_t d) {
  if (ctx.attrs().has("scale")) return ctx.attrs().get_float("scale");
  return d > 0 ? float(1.0 / std::sqrt(double(d))) : 1.f;
}

std::array<bool, 4> attention_seq_first(const OpContextBase& ctx, size_t rank) {
  std::array<bool, 4> flags{};
  if (!ctx.attrs().has("seq_first")) return flags;
  const std::vector<int64_t> v = ctx.attrs().get_ints("seq_first");
  if (v.size() != 4) ctx.invalid("seq_first takes 4 flags (Q, K, V, output), got " + std::to_string(v.size()));
  for (size_t i = 0; i < 4; ++i) {
    if (v[i] != 0 && v[i] != 1) ctx.invalid("seq_first flags are 0 or 1, got " + std::to_string(v[i]));
    flags[i] = v[i] == 1;
    if (flags[i] && rank != 4) ctx.invalid("seq_first applies to rank-4 tensors [B, S, H, D], got rank " + std::to_string(rank));
  }
  return flags;
}

bool attention_packed_kv(const OpContextBase& ctx, bool v_given) {
  const int64_t packed = ctx.attrs().get_int("packed_kv", 0);
  if (packed != 0 && packed != 1) ctx.invalid("packed_kv is 0 or 1, got " + std::to_string(packed));
  if (!packed) {
    if (!v_given) ctx.invalid("V (input 2) is required unless packed_kv = 1");
    return false;
  }
  if (v_given) ctx.invalid("packed_kv = 1 reads K and V from input 1 ([B, Nk, 2H, D]); input 2 must be empty");
  const std::vector<int64_t> flags = ctx.attrs().get_ints("seq_first", {});
  if (flags.size() != 4 || flags[1] != 1 || flags[2] != 1)
    ctx.invalid("packed_kv = 1 needs seq_first K and V (flags x 1 1 x): the packed input is [B, Nk, 2H, D]");
  return true;
}

PackedKv packed_kv_layout(const OpContextBase& ctx, const Dims& kv) {
  if (kv.size() != 4) ctx.invalid("packed K/V input must be [B, Nk, 2H, D], got " + dims_to_string(kv));
  if (kv[2] % 2 != 0)
    ctx.invalid("packed K/V input has " + std::to_string(kv[2]) +
                " heads; packed_kv = 1 needs an even count (K's heads, then V's)");
  PackedKv l;
  l.heads = kv[2] / 2, l.nk = kv[1], l.d = kv[3];
  l.row = kv[2] * l.d, l.head = l.d, l.outer = l.nk * l.row, l.v_offset = l.heads * l.d;
  return l;
}

namespace {

// The plain [B, H, S, D] copy of a seq_first tensor, and back: the same swap.
Tensor swapped_1_2(const Tensor& t) { return tensor_ops::permute(t, {0, 2, 1, 3}); }

// K (offset 0) or V (offset l.v_offset) of a packed [B, Nk, 2H, D] input in the plain
// [B, H, Nk, D] layout: the same elements the unpacked form's swapped_1_2 copies, so the
// reference computes the same bits either way.
Tensor packed_half(const Tensor& kv, const PackedKv& l, int64_t offset) {
  const Dims dims{kv.dim(0), l.heads, l.nk, l.d};
  Tensor out(kv.dtype(), dims);
  tensor_ops::strided_copy(dtype_size(kv.dtype()), out.raw(), dims, kv.raw(), offset, {l.outer, l.head, l.row, 1});
  return out;
}

// The [B, Nk, H, D] shape of K and of V inside a packed [B, Nk, 2H, D] one.
Shape unpacked_kv_shape(const InferContext& ctx, Shape kv) {
  if (kv.size() != 4) ctx.invalid("packed K/V input must be [B, Nk, 2H, D], got " + shape_to_string(kv));
  Dim& heads = kv[2];
  if (heads.known()) heads = Dim(packed_kv_layout(ctx, {1, 1, heads.value, 1}).heads);
  else heads = Dim();
  return kv;
}

}  // namespace

std::vector<ValueType> attention_infer(const InferContext& ctx) {
  ctx.require_dtype(0, kFloatTypes);
  const DType dt = ctx.dtype(0);
  const bool packed = attention_packed_kv(ctx, ctx.has_input(2));
  for (size_t i : {1, 2})
    if (!(packed && i == 2) && ctx.dtype(i) != dt)
      ctx.invalid(std::string(i == 1 ? (packed ? "packed K/V" : "K") : "V") + " is " + dtype_name(ctx.dtype(i)) +
                  " but Q is " + dtype_name(dt));
  const Shape *q = ctx.shape(0), *k = ctx.shape(1), *v = ctx.shape(packed ? 1 : 2);
  if (ctx.has_input(3) && ctx.dtype(3) != DType::kBool && ctx.dtype(3) != dt)
    ctx.invalid(std::string("mask must be bool or ") + dtype_name(dt) + " like Q, got " + dtype_name(ctx.dtype(3)));
  if (!q || !k || !v) return {{dt, std::nullopt}};
  const auto seq_first = attention_seq_first(ctx, q->size());
  // Checked and computed on the [B, H, S, D] views.
  Shape qv = *q, kv = *k, vv = *v;
  if (packed) kv = vv = unpacked_kv_shape(ctx, *k);
  if (seq_first[0]) qv = swap_axes_1_2(qv);
  if (seq_first[1] && kv.size() == 4) kv = swap_axes_1_2(kv);
  if (seq_first[2] && vv.size() == 4) vv = swap_axes_1_2(vv);
  q = &qv, k = &kv, v = &vv;
  const size_t r = q->size();
  if (r < 2) ctx.invalid("Q must have rank >= 2 ([..., Nq, d]), got rank " + std::to_string(r));
  if (k->size() != r || v->size() != r)
    ctx.invalid("Q, K and V must have the same rank, got " + std::to_string(r) + ", " + std::to_string(k->size()) +
                ", " + std::to_string(v->size()));
  for (size_t i = 0; i + 2 < r; ++i)
    if (dims_conflict((*q)[i], (*k)[i]) || dims_conflict((*q)[i], (*v)[i]))
      ctx.invalid("batch dim " + std::to_string(i) + " differs between Q (" + dim_to_string((*q)[i]) + "), K (" +
                  dim_to_string((*k)[i]) + ") and V (" + dim_to_string((*v)[i]) + "); attention does not broadcast");
  if (dims_conflict((*q)[r - 1], (*k)[r - 1]))
    ctx.invalid("Q's head dim " + dim_to_string((*q)[r - 1]) + " differs from K's " + dim_to_string((*k)[r - 1]));
  if (dims_conflict((*k)[r - 2], (*v)[r - 2]))
    ctx.invalid("K has " + dim_to_string((*k)[r - 2]) + " keys but V has " + dim_to_string((*v)[r - 2]) + " rows");
  if (ctx.has_input(3)) check_mask(ctx, *q, *k);
  Shape out = *q;
  out[r - 1] = (*v)[r - 1];
  if (seq_first[3]) out = swap_axes_1_2(out);
  return {{dt, out}};
}

namespace {

// The mask as an additive double per (batch, query, key), read through broadcast strides.
struct MaskView {
  const Tensor* t = nullptr;
  Dims strides;  // over [batch..., Nq, Nk]

  double at(const Dims& batch_index, int64_t qi, int64_t kj) const {
    int64_t off = 0;
    for (size_t i = 0; i < batch_index.size(); ++i) off += batch_index[i] * strides[i];
    off += qi * strides[strides.size() - 2] + kj * strides.back();
    if (t->dtype() == DType::kBool) return t->data<bool>()[off] ? 0.0 : -INFINITY;
    return t->at_double(off);
  }
};

template <class T>
void attend(const Tensor& q, const Tensor& k, const Tensor& v, const MaskView* mask,
            double scale, Tensor& out) {
  const int r = q.rank();
  const int64_t nq = q.dim(r - 2), d = q.dim(r - 1), nk = k.dim(r - 2), dv = v.dim(r - 1);
  Dims batch_dims(q.dims().begin(), q.dims().end() - 2);
  const int64_t batch = numel_of(batch_dims);
  const T *qp = q.data<T>(), *kp = k.data<T>(), *vp = v.data<T>();
  T* op = out.data<T>();
  std::vector<double> kt(size_t(d * nk)), vd(size_t(nk * dv));
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t j = 0; j < nk; ++j)
      for (int64_t c = 0; c < d; ++c) kt[size_t(c * nk + j)] = to_double(kp[(b * nk + j) * d + c]);
    for (int64_t i = 0; i < nk * dv; ++i) vd[size_t(i)] = to_double(vp[b * nk * dv + i]);
    Dims bidx(batch_dims.size());
    for (int64_t rem = b, i = int64_t(batch_dims.size()) - 1; i >= 0; --i) {
      bidx[size_t(i)] = rem % batch_dims[size_t(i)];
      rem /= batch_dims[size_t(i)];
    }
    parallel_for(nq, std::max<int64_t>(1, 65536 / std::max<int64_t>(1, nk * (d + dv))), [&](int64_t r0, int64_t r1) {
      std::vector<double> s(static_cast<size_t>(nk)), e(static_cast<size_t>(nk)), acc(static_cast<size_t>(dv));
      for (int64_t i = r0; i < r1; ++i) {
        const T* qrow = qp + (b * nq + i) * d;
        std::fill(s.begin(), s.end(), 0.0);
        for (int64_t c = 0; c < d; ++c) {
          const double qc = to_double(qrow[c]);
          const double* kc = kt.data() + c * nk;
          for (int64_t j = 0; j < nk; ++j) s[size_t(j)] += qc * kc[j];
        }
        double m = -INFINITY;
        for (int64_t j = 0; j < nk; ++j) {
          s[size_t(j)] *= scale;
          if (mask) s[size_t(j)] += mask->at(bidx, i, j);
          m = std::max(m, s[size_t(j)]);
        }
        T* orow = op + (b * nq + i) * dv;
        if (!(m > -INFINITY)) {  // every key masked out (or NaN scores): Softmax would give NaN
          for (int64_t c = 0; c < dv; ++c) orow[c] = from_double<T>(std::numeric_limits<double>::quiet_NaN());
          continue;
        }
        for (int64_t j = 0; j < nk; ++j) s[size_t(j)] -= m;
        reduce::exp_nonpositive(s.data(), e.data(), nk);
        double sum = 0;
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int64_t j = 0; j < nk; ++j) {
          const double p = e[size_t(j)];
          sum += p;
          const double* vr = vd.data() + j * dv;
          for (int64_t c = 0; c < dv; ++c) acc[size_t(c)] += p * vr[c];
        }
        for (int64_t c = 0; c < dv; ++c) orow[c] = from_double<T>(acc[size_t(c)] / sum);
      }
    });
  }
}

}  // namespace

std::vector<Tensor> attention_cpu(const KernelContext& ctx) {
  // seq_first inputs are copied to [B, H, S, D] first: the reference keeps one plain layout.
  const auto seq_first = attention_seq_first(ctx, size_t(ctx.input(0).rank()));
  const bool packed = attention_packed_kv(ctx, ctx.has_input(2));
  for (int i = 0; i < (packed ? 2 : 3); ++i)
    if (seq_first[size_t(i)] && ctx.input(i).rank() != 4) ctx.invalid("seq_first needs rank-4 Q, K and V");
  const Tensor q = seq_first[0] ? swapped_1_2(ctx.input(0)) : ctx.input(0);
  Tensor k, v;
  if (packed) {
    const PackedKv l = packed_kv_layout(ctx, ctx.input(1).dims());
    k = packed_half(ctx.input(1), l, 0);
    v = packed_half(ctx.input(1), l, l.v_offset);
  } else {
    k = seq_first[1] ? swapped_1_2(ctx.input(1)) : ctx.input(1);
    v = seq_first[2] ? swapped_1_2(ctx.input(2)) : ctx.input(2);
  }
  const int r = q.rank();
  if (r < 2 || k.rank() != r || v.rank() != r) ctx.invalid("Q, K and V must have the same rank >= 2");
  for (int i = 0; i + 2 < r; ++i)
    if (k.dim(i) != q.dim(i) || v.dim(i) != q.dim(i)) ctx.invalid("batch dims of Q, K and V differ");
  if (k.dim(r - 1) != q.dim(r - 1) || v.dim(r - 2) != k.dim(r - 2)) ctx.invalid("Q, K, V shapes do not fit");
  if (k.dtype() != q.dtype() || v.dtype() != q.dtype()) ctx.invalid("Q, K and V dtypes differ");
  if (!dtype_is_float(q.dtype()))
    ctx.unsupported(std::string("input of type ") + dtype_name(q.dtype()) + " is not supported");
  Dims out_dims = q.dims();
  out_dims.back() = v.dim(r - 1);
  Tensor out(q.dtype(), out_dims);
  MaskView mask;
  if (ctx.has_input(3)) {
    const Tensor& m = ctx.input(3);
    Dims scores = q.dims();
    scores.back() = k.dim(r - 2);
    if (m.rank() > r) ctx.invalid("mask has a higher rank than the scores");
    for (int i = 0; i < m.rank(); ++i) {
      const int64_t want = scores[size_t(r - m.rank() + i)];
      if (m.dim(i) != 1 && m.dim(i) != want) ctx.invalid("mask does not broadcast to the scores " + dims_to_string(scores));
    }
    if (m.dtype() != DType::kBool && m.dtype() != q.dtype()) ctx.invalid("mask must be bool or Q's dtype");
    mask.t = &m;
    mask.strides = broadcast_strides(m.dims(), scores);
  }
  if (out.numel() == 0) return {seq_first[3] ? Tensor(out.dtype(), swap_axes_1_2(out.dims())) : out};
  const double scale = attention_scale(ctx, q.dim(r - 1));
  visit_dtype(q.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (kFloatStorage<T>) attend<T>(q, k, v, mask.t ? &mask : nullptr, scale, out);
  });
  return {seq_first[3] ? swapped_1_2(out) : out};
}

}  // namespace kiln::attention
