// RowColumnRead (row_column_read.h): shape inference and the CPU reference. The reference sums
// in double and rounds each output once — per query row, the row-weighted sum over x of each
// V row y, then the column-weighted sum over y — so it is the oracle for the CUDA kernels and
// for the two MatMuls it replaces.
#include "ops/attention/row_column_read.h"

#include <string>
#include <type_traits>

#include "ops/op_util.h"
#include "ops/registry.h"

namespace kiln::attention {
namespace {

enum Input { kACol, kARow, kV };

// The more informative of two dims that do not conflict: known over symbolic over unknown.
Dim merged(const Dim& a, const Dim& b) {
  if (a.known()) return a;
  if (b.known()) return b;
  return a.symbol.empty() ? b : a;
}

struct Layouts {
  bool v_tokens = false, out_tokens = false;
};

Layouts layouts(const OpContextBase& ctx) {
  Layouts l;
  for (const char* name : {"v_tokens", "out_tokens"}) {
    const int64_t f = ctx.attrs().get_int(name, 0);
    if (f != 0 && f != 1) ctx.invalid(std::string(name) + " must be 0 or 1, got " + std::to_string(f));
    (name[0] == 'v' ? l.v_tokens : l.out_tokens) = f == 1;
  }
  return l;
}

// V [B, H, W, N, D] against a_col [B, N, L, H] and a_row [B, N, L, W]: the output [B, N, L, D].
Shape check_token_v(const OpContextBase& ctx, const Shape& c, const Shape& r, const Shape& v) {
  if (c.size() != 4 || r.size() != 4 || v.size() != 5)
    ctx.invalid("v_tokens needs a_col [B, N, L, H], a_row [B, N, L, W] and V [B, H, W, N, D], got " + shape_to_string(c) +
                ", " + shape_to_string(r) + " and " + shape_to_string(v));
  const std::pair<const Dim*, const Dim*> same[] = {{&c[0], &r[0]}, {&c[0], &v[0]}, {&c[1], &r[1]}, {&c[1], &v[3]},
                                                    {&c[2], &r[2]}, {&c[3], &v[1]}, {&r[3], &v[2]}};
  for (const auto& [a, b] : same)
    if (dims_conflict(*a, *b))
      ctx.invalid("a_col " + shape_to_string(c) + ", a_row " + shape_to_string(r) + " and V " + shape_to_string(v) +
                  " do not agree on [B, N, L, H, W] (V is [B, H, W, N, D] with v_tokens)");
  return {merged(c[0], v[0]), merged(c[1], v[3]), merged(c[2], r[2]), v[4]};
}

Shape check_plain(const OpContextBase& ctx, const Shape& c, const Shape& r, const Shape& v);

// Checks the shapes against each other and the layouts; returns the output shape: [..., L, D],
// or [B, L, N, D] with out_tokens.
Shape check_shapes(const OpContextBase& ctx, const Shape& c, const Shape& r, const Shape& v) {
  const Layouts l = layouts(ctx);
  Shape out = l.v_tokens ? check_token_v(ctx, c, r, v) : check_plain(ctx, c, r, v);
  if (l.out_tokens) {
    if (out.size() != 4) ctx.invalid("out_tokens needs a_col [B, N, L, H], got " + shape_to_string(c));
    std::swap(out[1], out[2]);
  }
  return out;
}

// The untransformed layout: a_col [..., L, H], a_row [..., L, W], V [..., H, W·D] → [..., L, D].
Shape check_plain(const OpContextBase& ctx, const Shape& c, const Shape& r, const Shape& v) {
  const size_t k = c.size();
  if (k < 2) ctx.invalid("a_col must have rank >= 2 ([..., L, H]), got rank " + std::to_string(k));
  if (r.size() != k || v.size() != k)
    ctx.invalid("a_col, a_row and V must have the same rank, got " + std::to_string(k) + ", " +
                std::to_string(r.size()) + ", " + std::to_string(v.size()));
  Shape out;
  for (size_t i = 0; i + 2 < k; ++i) {
    if (dims_conflict(c[i], r[i]) || dims_conflict(c[i], v[i]) || dims_conflict(r[i], v[i]))
      ctx.invalid("batch dim " + std::to_string(i) + " differs between a_col (" + dim_to_string(c[i]) + "), a_row (" +
                  dim_to_string(r[i]) + ") and V (" + dim_to_string(v[i]) + "); RowColumnRead does not broadcast");
    out.push_back(merged(merged(c[i], r[i]), v[i]));
  }
  if (dims_conflict(c[k - 2], r[k - 2]))
    ctx.invalid("a_col has " + dim_to_string(c[k - 2]) + " queries but a_row has " + dim_to_string(r[k - 2]));
  if (dims_conflict(c[k - 1], v[k - 2]))
    ctx.invalid("a_col weighs " + dim_to_string(c[k - 1]) + " rows but V has " + dim_to_string(v[k - 2]));
  out.push_back(merged(c[k - 2], r[k - 2]));
  const Dim& w = r[k - 1];
  const Dim& wd = v[k - 1];
  Dim d;
  if (w.known() && w.value == 0) ctx.invalid("a_row [..., L, W] must have W >= 1 columns (D is V's last dim / W)");
  if (w.known() && wd.known()) {
    if (wd.value % w.value != 0)
      ctx.invalid("V's last dim " + std::to_string(wd.value) + " is not W·D for a_row's W = " + std::to_string(w.value));
    d = Dim(wd.value / w.value);
  }
  out.push_back(d);
  return out;
}

std::vector<ValueType> infer(const InferContext& ctx) {
  ctx.require_dtype(kACol, kFloatTypes);
  const DType dt = ctx.dtype(kACol);
  for (size_t i : {kARow, kV})
    if (ctx.dtype(i) != dt)
      ctx.invalid(std::string(i == kARow ? "a_row" : "V") + " is " + dtype_name(ctx.dtype(i)) + " but a_col is " +
                  dtype_name(dt));
  const Shape *c = ctx.shape(kACol), *r = ctx.shape(kARow), *v = ctx.shape(kV);
  if (!c || !r || !v) return {{dt, std::nullopt}};
  return {{dt, check_shapes(ctx, *c, *r, *v)}};
}

// For each (batch item, query row): s[d] = Σ_x a_row[x]·V[y, x, d] per y, out += a_col[y]·s.
template <class T> void forward(const RowColumnDims& k, const T* a_col, const T* a_row, const T* v, T* out) {
  const int64_t H = k.height, W = k.width, D = k.head_dim, L = k.rows;
  parallel_for(k.batch * L, 8, [&](int64_t begin, int64_t end) {
    std::vector<double> acc(static_cast<size_t>(D)), s(static_cast<size_t>(D)), row(static_cast<size_t>(W));
    for (int64_t q = begin; q < end; ++q) {
      const int64_t n = q / L, b = n / k.heads, h = n % k.heads;
      const T* c = a_col + q * H;
      const T* r = a_row + q * W;
      const T* vn = v + b * k.v_outer + h * k.v_inner;
      for (int64_t x = 0; x < W; ++x) row[size_t(x)] = to_double(r[x]);
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t y = 0; y < H; ++y) {
        std::fill(s.begin(), s.end(), 0.0);
        const T* vy = vn + y * k.v_y;
        for (int64_t x = 0; x < W; ++x) {
          const double w = row[size_t(x)];
          const T* vx = vy + x * k.v_x;
          for (int64_t d = 0; d < D; ++d) s[size_t(d)] += w * to_double(vx[d]);
        }
        const double cy = to_double(c[y]);
        for (int64_t d = 0; d < D; ++d) acc[size_t(d)] += cy * s[size_t(d)];
      }
      T* o = out + b * k.o_outer + h * k.o_inner + (q % L) * k.o_row;
      for (int64_t d = 0; d < D; ++d) o[d] = from_double<T>(acc[size_t(d)]);
    }
  });
}

std::vector<Tensor> cpu(const KernelContext& ctx) {
  const Tensor &c = ctx.input(kACol), &r = ctx.input(kARow), &v = ctx.input(kV);
  if (r.dtype() != c.dtype() || v.dtype() != c.dtype()) ctx.invalid("a_col, a_row and V must have one dtype");
  const RowColumnDims k = row_column_read_dims(ctx, c.dims(), r.dims(), v.dims());
  Tensor y(c.dtype(), shape_dims(check_shapes(ctx, shape_of(c.dims()), shape_of(r.dims()), shape_of(v.dims()))));
  if (y.numel() == 0) return {y};
  visit_dtype(c.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_floating_point_v<T> || std::is_same_v<T, f16> || std::is_same_v<T, bf16>)
      forward<T>(k, c.data<T>(), r.data<T>(), v.data<T>(), y.data<T>());
    else
      ctx.unsupported(std::string("RowColumnRead of ") + dtype_name(c.dtype()) + " is not supported");
  });
  return {y};
}

}  // namespace

RowColumnDims row_column_read_dims(const OpContextBase& ctx, const Dims& a_col, const Dims& a_row, const Dims& v) {
  const Shape out = check_shapes(ctx, shape_of(a_col), shape_of(a_row), shape_of(v));
  const Layouts l = layouts(ctx);
  RowColumnDims k;
  const size_t r = a_col.size();
  k.batch = numel_of(Dims(a_col.begin(), a_col.end() - 2));
  k.rows = a_col[r - 2];
  k.height = a_col[r - 1];
  k.width = a_row[r - 1];
  k.head_dim = out.back().value;
  const int64_t H = k.height, W = k.width, D = k.head_dim, L = k.rows;
  k.heads = l.v_tokens || l.out_tokens ? a_col[1] : 1;
  if (l.v_tokens) {  // [B, H, W, N, D]
    k.v_x = k.heads * D, k.v_y = W * k.v_x, k.v_inner = D, k.v_outer = H * k.v_y;
  } else {
    k.v_x = D, k.v_y = W * D, k.v_inner = H * k.v_y, k.v_outer = k.heads * k.v_inner;
  }
  if (l.out_tokens) {  // [B, L, N, D]
    k.o_row = k.heads * D, k.o_inner = D, k.o_outer = L * k.o_row;
  } else {
    k.o_row = D, k.o_inner = L * D, k.o_outer = k.heads * k.o_inner;
  }
  return k;
}

void register_row_column_read(OpRegistry& r) {
  r.add({.domain = kKilnDomain, .name = kRowColumnReadOp, .min_inputs = 3, .max_inputs = 3, .infer = infer,
         .cpu = cpu});
}

}  // namespace kiln::attention
