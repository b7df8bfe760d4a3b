#include "ops/norm/norm_common.h"

namespace kiln::norm {

std::vector<double> tensor_doubles(const Tensor& t) {
  std::vector<double> v(size_t(t.numel()));
  visit_dtype(t.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_void_v<T>) {
      const T* p = t.data<T>();
      for (int64_t i = 0; i < t.numel(); ++i) v[size_t(i)] = to_double(p[i]);
    }
  });
  return v;
}

std::vector<double> expand_to(const KernelContext& ctx, const Tensor& t, const Dims& target,
                              const char* what) {
  Dims d = t.dims();
  while (d.size() > target.size() && d.front() == 1) d.erase(d.begin());
  bool ok = d.size() <= target.size();
  for (size_t i = 0; ok && i < d.size(); ++i) {
    int64_t td = target[target.size() - d.size() + i];
    ok = d[i] == td || d[i] == 1;
  }
  if (!ok)
    ctx.invalid(std::string(what) + " of shape " + dims_to_string(t.dims()) +
                " does not broadcast to " + dims_to_string(target));
  std::vector<double> src = tensor_doubles(t);
  Dims strides = broadcast_strides(d, target);
  int64_t n = numel_of(target);
  std::vector<double> out(static_cast<size_t>(n));
  Dims idx(target.size(), 0);
  for (int64_t e = 0; e < n; ++e) {
    int64_t off = 0;
    for (size_t k = 0; k < idx.size(); ++k) off += idx[k] * strides[k];
    out[size_t(e)] = src[size_t(off)];
    for (size_t k = idx.size(); k-- > 0;) {
      if (++idx[k] < target[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

std::vector<double> channel_param(const KernelContext& ctx, size_t i, int64_t n, const char* what) {
  const Tensor& t = ctx.input(i);
  if (t.rank() != 1 || t.dim(0) != n)
    ctx.invalid(std::string(what) + " must have shape " + std::to_string(n) + ", got " +
                dims_to_string(t.dims()));
  return tensor_doubles(t);
}

void check_channel_param_shape(const InferContext& ctx, size_t i, const Dim& n, const char* what) {
  const Shape* s = ctx.shape(i);
  if (!s) return;
  if (s->size() != 1) ctx.invalid(std::string(what) + " must be 1-D, got " + shape_to_string(*s));
  if (n.known() && (*s)[0].known() && (*s)[0].value != n.value)
    ctx.invalid(std::string(what) + " must have length " + std::to_string(n.value) + ", got " +
                shape_to_string(*s));
}

void require_same_dtype(const InferContext& ctx, size_t i) {
  if (ctx.dtype(i) != ctx.dtype(0))
    ctx.invalid(std::string("input ") + std::to_string(i) + " has dtype " +
                dtype_name(ctx.dtype(i)) + " but input 0 has " + dtype_name(ctx.dtype(0)));
}

}  // namespace kiln::norm
