#include "ops/tensor/tensor_util.h"

#include <algorithm>
#include <cstring>

namespace kiln::tensor_ops {
namespace {

template <class U>
void copy_rows(U* out, const Dims& d, const Dims& s, const U* in, int64_t off) {
  const int64_t len = d.back(), step = s.back();
  Dims outer(d.begin(), d.end() - 1), outer_s(s.begin(), s.end() - 1);
  Dims out_s = contiguous_strides(outer);
  int64_t rows = numel_of(outer);
  constexpr int64_t kPiece = 1 << 15;
  if (rows < 8 && len >= 2 * kPiece) {
    // Few long rows (a big contiguous slice, a broadcast fill): split the rows themselves.
    const int64_t pieces = (len + kPiece - 1) / kPiece;
    parallel_for(rows * pieces, 1, [&](int64_t b, int64_t e) {
      for (int64_t w = b; w < e; ++w) {
        const int64_t r = w / pieces, j0 = (w % pieces) * kPiece, n = std::min(kPiece, len - j0);
        OffsetWalker walk(outer, outer_s, out_s, r, off, 0);
        U* dst = out + r * len + j0;
        const U* src = in + walk.off0 + j0 * step;
        if (step == 1) std::memcpy(dst, src, size_t(n) * sizeof(U));
        else if (step == 0) std::fill(dst, dst + n, *src);
        else for (int64_t j = 0; j < n; ++j) dst[j] = src[j * step];
      }
    });
    return;
  }
  parallel_for(rows, std::max<int64_t>(1, 16384 / len), [&](int64_t b, int64_t e) {
    OffsetWalker w(outer, outer_s, out_s, b, off, 0);
    for (int64_t r = b; r < e; ++r, w.next()) {
      U* dst = out + r * len;
      const U* src = in + w.off0;
      if (step == 1) {
        std::memcpy(dst, src, size_t(len) * sizeof(U));
      } else if (step == 0) {
        std::fill(dst, dst + len, *src);
      } else {
        for (int64_t j = 0; j < len; ++j) dst[j] = src[j * step];
      }
    }
  });
}

// 2-D tiled transpose of output axes a (unit input stride) and last (unit output stride),
// looped over every other axis. Each tile is read in whole input cache lines into a small
// buffer, then written out in whole output lines, so large power-of-two strides cannot thrash
// the cache's sets.
template <class U>
void copy_tiled(U* out, const Dims& d, const Dims& s, const U* in, int64_t off, size_t a) {
  constexpr int64_t T = std::clamp<int64_t>(128 / int64_t(sizeof(U)), 16, 64);
  const size_t last = d.size() - 1;
  const Dims os = contiguous_strides(d);
  Dims other, other_is, other_os;
  for (size_t i = 0; i < last; ++i)
    if (i != a) {
      other.push_back(d[i]);
      other_is.push_back(s[i]);
      other_os.push_back(os[i]);
    }
  const int64_t da = d[a], dl = d[last], osa = os[a], isl = s[last];
  const int64_t tiles_a = (da + T - 1) / T, planes = numel_of(other);
  parallel_for(planes * tiles_a, std::max<int64_t>(1, 16384 / (T * dl)), [&](int64_t b, int64_t e) {
    U buf[T][T];
    for (int64_t w = b; w < e; ++w) {
      OffsetWalker pw(other, other_is, other_os, w / tiles_a, off, 0);
      const int64_t a0 = (w % tiles_a) * T, na = std::min(da - a0, T);
      const U* src = in + pw.off0 + a0;
      U* dst = out + pw.off1 + a0 * osa;
      for (int64_t l0 = 0; l0 < dl; l0 += T) {
        const int64_t nl = std::min(dl - l0, T);
        for (int64_t j = 0; j < nl; ++j) {
          const U* row = src + (l0 + j) * isl;
          for (int64_t i = 0; i < na; ++i) buf[i][j] = row[i];
        }
        for (int64_t i = 0; i < na; ++i) {
          U* orow = dst + i * osa + l0;
          for (int64_t j = 0; j < nl; ++j) orow[j] = buf[i][j];
        }
      }
    }
  });
}

}  // namespace

void strided_copy(size_t elem_size, void* out, const Dims& out_dims, const void* in,
                  int64_t in_offset, const Dims& in_strides) {
  KILN_ASSERT(out_dims.size() == in_strides.size());
  // Drop unit axes and merge neighbours that are contiguous with each other in the input.
  Dims d, s;
  for (size_t i = 0; i < out_dims.size(); ++i) {
    if (out_dims[i] == 0) return;
    if (out_dims[i] == 1) continue;
    if (!d.empty() && s.back() == in_strides[i] * out_dims[i]) {
      d.back() *= out_dims[i];
      s.back() = in_strides[i];
    } else {
      d.push_back(out_dims[i]);
      s.push_back(in_strides[i]);
    }
  }
  if (d.empty()) {
    d.push_back(1);
    s.push_back(1);
  }
  visit_width(elem_size, [&](auto tag) {
    using U = typename decltype(tag)::type;
    U* o = static_cast<U*>(out);
    const U* i = static_cast<const U*>(in);
    if (s.back() != 1 && s.back() != 0 && d.size() >= 2) {
      for (size_t a = d.size() - 1; a-- > 0;)
        if (s[a] == 1) return copy_tiled(o, d, s, i, in_offset, a);
    }
    copy_rows(o, d, s, i, in_offset);
  });
}

Tensor permute(const Tensor& in, const std::vector<int>& perm) {
  KILN_ASSERT(int(perm.size()) == in.rank());
  Dims od(perm.size()), st(perm.size());
  Dims is = contiguous_strides(in.dims());
  for (size_t i = 0; i < perm.size(); ++i) {
    od[i] = in.dim(perm[i]);
    st[i] = is[size_t(perm[i])];
  }
  Tensor out(in.dtype(), od);
  strided_copy(dtype_size(in.dtype()), out.raw(), od, in.raw(), 0, st);
  return out;
}

Shape unknown_shape(size_t rank) { return Shape(rank, Dim()); }

std::optional<int64_t> known_length(const InferContext& ctx, size_t i) {
  if (!ctx.has_input(i)) return std::nullopt;
  const Shape* s = ctx.shape(i);
  if (!s || s->size() != 1 || !(*s)[0].known()) return std::nullopt;
  return (*s)[0].value;
}

std::vector<int64_t> kernel_ints(const KernelContext& ctx, size_t i, const char* what) {
  const Tensor& t = ctx.input(i);
  if (t.dtype() != DType::kI64 && t.dtype() != DType::kI32)
    ctx.invalid(std::string(what) + " must be an int32/int64 tensor, got " + dtype_name(t.dtype()));
  return t.to_int64_vector();
}

void require_index_type(const InferContext& ctx, size_t i) {
  ctx.require_dtype(i, {DType::kI64, DType::kI32});
}

int64_t checked_numel(const OpContextBase& ctx, const Dims& dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) ctx.invalid("negative dimension in output shape " + dims_to_string(dims));
    if (d != 0 && n > (int64_t(1) << 62) / d)
      ctx.invalid("output shape " + dims_to_string(dims) + " has too many elements");
    n *= d;
  }
  return n;
}

}  // namespace kiln::tensor_ops
