// Einsum: a generic loop over output and summed labels (any operand count, diagonals via
// repeated labels, broadcast ellipsis dims), and a fast path that maps a two-operand
// contraction onto permutations plus one batched GEMM ("bqc,bchw->bqhw" in Mask2Former).
#include <algorithm>
#include <cstring>

#include "ops/linear/einsum_equation.h"
#include "ops/linear/gemm_kernels.h"
#include "ops/linear/linear_ops.h"
#include "ops/op_util.h"

namespace kiln::linear {
namespace {

constexpr std::initializer_list<DType> kEinsumTypes = {DType::kF32, DType::kF64, DType::kF16,
                                                       DType::kBF16, DType::kI32, DType::kI64};

using Labels = std::vector<int>;

bool contains(const Labels& v, int id) { return std::find(v.begin(), v.end(), id) != v.end(); }

Labels concat(std::initializer_list<const Labels*> parts) {
  Labels out;
  for (const Labels* p : parts) out.insert(out.end(), p->begin(), p->end());
  return out;
}

// perm such that target[i] == labels[perm[i]] (labels has no repeats and holds every target).
std::vector<int> permutation_to(const Labels& labels, const Labels& target) {
  std::vector<int> perm;
  for (int id : target) perm.push_back(int(std::find(labels.begin(), labels.end(), id) - labels.begin()));
  return perm;
}

// ---- generic loop ----

template <class T> using Acc = std::conditional_t<std::is_integral_v<T>, uint64_t, double>;

template <class T> Acc<T> acc_of(T v) {
  if constexpr (std::is_integral_v<T>) return uint64_t(int64_t(v));
  else return to_double(v);
}

template <class T>
void einsum_generic(const EinsumEquation& eq, const std::vector<int64_t>& size,
                    const std::vector<const Tensor*>& in, Tensor& out) {
  size_t nops = in.size();
  std::vector<bool> in_out(size.size(), false), used(size.size(), false);
  for (int id : eq.output) in_out[size_t(id)] = true;
  for (const Labels& l : eq.inputs)
    for (int id : l) used[size_t(id)] = true;
  Labels sum_labels;
  for (size_t id = 0; id < size.size(); ++id)
    if (used[id] && !in_out[id]) sum_labels.push_back(int(id));

  // Per operand, the element stride of each label (repeated labels add up: a diagonal).
  std::vector<std::vector<int64_t>> stride(nops, std::vector<int64_t>(size.size(), 0));
  for (size_t op = 0; op < nops; ++op) {
    Dims cs = contiguous_strides(in[op]->dims());
    for (size_t d = 0; d < eq.inputs[op].size(); ++d)
      if (in[op]->dim(int(d)) != 1 || size[size_t(eq.inputs[op][d])] == 1)
        stride[op][size_t(eq.inputs[op][d])] += cs[d];
  }
  std::vector<const T*> ptr;
  for (const Tensor* t : in) ptr.push_back(t->data<T>());
  Dims out_dims = out.dims();
  int64_t sum_total = 1;
  for (int id : sum_labels) sum_total *= size[size_t(id)];
  T* y = out.data<T>();

  parallel_for(out.numel(), std::max<int64_t>(1, 4096 / std::max<int64_t>(sum_total, 1)),
               [&](int64_t o0, int64_t o1) {
    std::vector<int64_t> base(nops), off(nops);
    Dims sidx(sum_labels.size());
    for (int64_t o = o0; o < o1; ++o) {
      std::fill(base.begin(), base.end(), 0);
      int64_t rem = o;
      for (size_t j = eq.output.size(); j-- > 0;) {
        int64_t i = rem % out_dims[j];
        rem /= out_dims[j];
        for (size_t op = 0; op < nops; ++op) base[op] += i * stride[op][size_t(eq.output[j])];
      }
      Acc<T> acc = 0;
      std::fill(sidx.begin(), sidx.end(), 0);
      off = base;
      for (int64_t s = 0; s < sum_total; ++s) {
        Acc<T> p = acc_of(ptr[0][off[0]]);
        for (size_t op = 1; op < nops; ++op) p *= acc_of(ptr[op][off[op]]);
        acc += p;
        for (size_t j = sum_labels.size(); j-- > 0;) {  // odometer over summed labels
          size_t id = size_t(sum_labels[j]);
          for (size_t op = 0; op < nops; ++op) off[op] += stride[op][id];
          if (++sidx[j] < size[id]) break;
          for (size_t op = 0; op < nops; ++op) off[op] -= stride[op][id] * size[id];
          sidx[j] = 0;
        }
      }
      if constexpr (std::is_integral_v<T>) y[o] = T(int64_t(acc));
      else y[o] = from_double<T>(acc);
    }
  });
}

// ---- two-operand GEMM path ----

struct GemmPlan {
  bool swap = false;  // X = input 1, Y = input 0
  Labels batch, m, n, k;
  bool x_copy = false, x_trans = false, y_copy = false, y_trans = false, out_permute = false;
  int64_t cost = 0;  // elements moved by copies
};

// Whether the fast path applies: distinct labels per operand, no size-1 broadcasting, and no
// label summed within a single operand.
bool gemm_path_applies(const EinsumEquation& eq, const std::vector<int64_t>& size,
                       const std::vector<const Tensor*>& in) {
  if (in.size() != 2) return false;
  for (size_t op = 0; op < 2; ++op) {
    const Labels& l = eq.inputs[op];
    for (size_t d = 0; d < l.size(); ++d) {
      if (std::count(l.begin(), l.end(), l[d]) > 1) return false;
      if (in[op]->dim(int(d)) != size[size_t(l[d])]) return false;
      if (!contains(eq.inputs[1 - op], l[d]) && !contains(eq.output, l[d])) return false;
    }
  }
  return true;
}

GemmPlan plan_gemm(const EinsumEquation& eq, const std::vector<int64_t>& size, bool swap,
                   bool k_from_y, const std::vector<const Tensor*>& in) {
  GemmPlan p;
  p.swap = swap;
  const Labels& x = eq.inputs[swap ? 1 : 0];
  const Labels& y = eq.inputs[swap ? 0 : 1];
  for (int id : eq.output) {
    bool ix = contains(x, id), iy = contains(y, id);
    (ix && iy ? p.batch : ix ? p.m : p.n).push_back(id);
  }
  for (int id : k_from_y ? y : x)
    if (contains(k_from_y ? x : y, id) && !contains(eq.output, id)) p.k.push_back(id);
  if (x == concat({&p.batch, &p.m, &p.k})) {
  } else if (x == concat({&p.batch, &p.k, &p.m})) {
    p.x_trans = true;
  } else {
    p.x_copy = true;
    p.cost += in[swap ? 1 : 0]->numel();
  }
  if (y == concat({&p.batch, &p.k, &p.n})) {
  } else if (y == concat({&p.batch, &p.n, &p.k})) {
    p.y_trans = true;
  } else {
    p.y_copy = true;
    p.cost += in[swap ? 0 : 1]->numel();
  }
  if (eq.output != concat({&p.batch, &p.m, &p.n})) {
    p.out_permute = true;
    int64_t total = 1;
    for (int id : eq.output) total *= size[size_t(id)];
    p.cost += total;
  }
  return p;
}

template <class T>
void einsum_gemm(const EinsumEquation& eq, const std::vector<int64_t>& size,
                 const std::vector<const Tensor*>& in, Tensor& out) {
  GemmPlan best;
  bool first = true;
  for (bool swap : {false, true})
    for (bool k_from_y : {false, true}) {
      GemmPlan p = plan_gemm(eq, size, swap, k_from_y, in);
      if (first || p.cost < best.cost) best = p;
      first = false;
    }
  const GemmPlan& p = best;
  auto prod = [&](const Labels& l) {
    int64_t v = 1;
    for (int id : l) v *= size[size_t(id)];
    return v;
  };
  int64_t nb = prod(p.batch);
  GemmShape g{.m = prod(p.m), .n = prod(p.n), .k = prod(p.k), .trans_a = p.x_trans,
              .trans_b = p.y_trans};

  const Tensor& xt = *in[p.swap ? 1 : 0];
  const Tensor& yt = *in[p.swap ? 0 : 1];
  const Labels& xl = eq.inputs[p.swap ? 1 : 0];
  const Labels& yl = eq.inputs[p.swap ? 0 : 1];
  std::vector<T> xbuf, ybuf, obuf;
  const T* xp = xt.data<T>();
  const T* yp = yt.data<T>();
  if (p.x_copy) {
    xbuf.resize(size_t(xt.numel()));
    permute(xp, xt.dims(), permutation_to(xl, concat({&p.batch, &p.m, &p.k})), xbuf.data());
    xp = xbuf.data();
  }
  if (p.y_copy) {
    ybuf.resize(size_t(yt.numel()));
    permute(yp, yt.dims(), permutation_to(yl, concat({&p.batch, &p.k, &p.n})), ybuf.data());
    yp = ybuf.data();
  }
  T* op = out.data<T>();
  if (p.out_permute) {
    obuf.resize(size_t(out.numel()));
    op = obuf.data();
  }
  std::vector<int64_t> x_off(static_cast<size_t>(nb)), y_off(static_cast<size_t>(nb));
  for (int64_t i = 0; i < nb; ++i) {
    x_off[size_t(i)] = i * g.m * g.k;
    y_off[size_t(i)] = i * g.k * g.n;
  }
  batched_gemm(xp, x_off, yp, y_off, op, nb, g);
  if (p.out_permute) {
    Labels rl = concat({&p.batch, &p.m, &p.n});
    Dims rd;
    for (int id : rl) rd.push_back(size[size_t(id)]);
    permute(obuf.data(), rd, permutation_to(rl, eq.output), out.data<T>());
  }
}

// Parses the node's equation against the operands' ranks.
EinsumEquation parse_for(const OpContextBase& ctx, const std::vector<int>& ranks) {
  return parse_einsum(ctx, ctx.attrs().get_string("equation"), ranks);
}

}  // namespace

std::vector<ValueType> einsum_infer(const InferContext& ctx) {
  ctx.require_dtype(0, kEinsumTypes);
  for (size_t i = 1; i < ctx.num_inputs(); ++i)
    if (ctx.dtype(i) != ctx.dtype(0)) ctx.invalid("operand dtypes differ");
  std::vector<int> ranks;
  std::vector<Dims> dims;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const Shape* s = ctx.shape(i);
    if (!s) {
      ctx.attrs().get_string("equation");  // still report a missing equation
      return {{ctx.dtype(0), std::nullopt}};
    }
    ranks.push_back(int(s->size()));
    Dims d;
    for (const Dim& x : *s) d.push_back(x.known() ? x.value : -1);
    dims.push_back(d);
  }
  EinsumEquation eq = parse_for(ctx, ranks);
  std::vector<int64_t> size = einsum_label_sizes(ctx, eq, dims);
  Shape out;
  for (int id : eq.output) {
    Dim d = size[size_t(id)] >= 0 ? Dim(size[size_t(id)]) : Dim();
    if (!d.known())  // keep a symbolic name when one operand carries it
      for (size_t i = 0; i < eq.inputs.size() && !d.known() && d.symbol.empty(); ++i)
        for (size_t j = 0; j < eq.inputs[i].size(); ++j)
          if (eq.inputs[i][j] == id && !(*ctx.shape(i))[j].symbol.empty()) {
            d = (*ctx.shape(i))[j];
            break;
          }
    out.push_back(d);
  }
  return {{ctx.dtype(0), out}};
}

std::vector<Tensor> einsum_cpu(const KernelContext& ctx) {
  if (ctx.num_inputs() == 0) ctx.invalid("Einsum needs at least one input");
  std::vector<const Tensor*> in;
  std::vector<int> ranks;
  std::vector<Dims> dims;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    in.push_back(&ctx.input(i));
    if (in.back()->dtype() != in[0]->dtype()) ctx.invalid("operand dtypes differ");
    ranks.push_back(in.back()->rank());
    dims.push_back(in.back()->dims());
  }
  EinsumEquation eq = parse_for(ctx, ranks);
  std::vector<int64_t> size = einsum_label_sizes(ctx, eq, dims);
  Dims out_dims;
  for (int id : eq.output) out_dims.push_back(size[size_t(id)]);
  DType dt = in[0]->dtype();

  // f16/bf16 run in float with one rounding per output element.
  std::vector<Tensor> widened;
  if (dt == DType::kF16 || dt == DType::kBF16) {
    for (const Tensor* t : in) {
      Tensor f(DType::kF32, t->dims());
      std::vector<float> v = to_float_buffer(*t);
      std::memcpy(f.raw(), v.data(), v.size() * sizeof(float));
      widened.push_back(f);
    }
    for (size_t i = 0; i < in.size(); ++i) in[i] = &widened[i];
  }
  DType compute = widened.empty() ? dt : DType::kF32;
  Tensor y(compute, out_dims);
  bool fast = gemm_path_applies(eq, size, in);
  switch (compute) {
    case DType::kF32:
      fast ? einsum_gemm<float>(eq, size, in, y) : einsum_generic<float>(eq, size, in, y);
      break;
    case DType::kF64:
      fast ? einsum_gemm<double>(eq, size, in, y) : einsum_generic<double>(eq, size, in, y);
      break;
    case DType::kI32: einsum_generic<int32_t>(eq, size, in, y); break;
    case DType::kI64: einsum_generic<int64_t>(eq, size, in, y); break;
    default: ctx.unsupported(std::string("dtype ") + dtype_name(dt) + " is not supported");
  }
  if (compute == dt) return {y};
  Tensor narrowed(dt, out_dims);
  std::vector<float> v(y.data<float>(), y.data<float>() + y.numel());
  from_float_buffer(v, narrowed);
  return {narrowed};
}

}  // namespace kiln::linear
