#include "ops/quantize/quant_math.h"

#include "ops/op_util.h"

namespace kiln::quant {

void require_quantized(const OpContextBase& ctx, DType dt, const char* what) {
  if (dt != DType::kI8 && dt != DType::kU8)
    ctx.unsupported(std::string(what) + " is " + dtype_name(dt) + "; kiln quantizes to int8 or uint8");
}

void check_operand_types(const InferContext& ctx, size_t a, size_t az, size_t b, size_t bz, const char* a_name,
                         const char* b_name) {
  require_quantized(ctx, ctx.dtype(a), a_name);
  require_quantized(ctx, ctx.dtype(b), b_name);
  if (ctx.has_input(az) && ctx.dtype(az) != ctx.dtype(a))
    ctx.invalid(std::string(a_name) + "'s zero point is not " + a_name + "'s type");
  if (ctx.has_input(bz) && ctx.dtype(bz) != ctx.dtype(b))
    ctx.invalid(std::string(b_name) + "'s zero point is not " + b_name + "'s type");
}

Tensor int32_of(const Tensor& accumulator) {
  std::vector<double> v = doubles_of(accumulator);
  for (double& x : v) x = round_saturate(x, 0.0, DType::kI32);
  return tensor_of(DType::kI32, accumulator.dims(), v);
}

double type_min(DType dt) { return dt == DType::kI8 ? -128.0 : dt == DType::kU8 ? 0.0 : -2147483648.0; }
double type_max(DType dt) { return dt == DType::kI8 ? 127.0 : dt == DType::kU8 ? 255.0 : 2147483647.0; }

std::vector<double> doubles_of(const Tensor& t) {
  std::vector<double> out(size_t(t.numel()));
  visit_dtype(t.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_void_v<T>) {
      const T* p = t.data<T>();
      for (size_t i = 0; i < out.size(); ++i) out[i] = to_double(p[i]);
    }
  });
  return out;
}

std::vector<double> broadcast_doubles(const Tensor& t, const Dims& t_dims, const Dims& out) {
  const std::vector<double> v = doubles_of(t);
  const Dims strides = broadcast_strides(t_dims, out);
  std::vector<double> r(size_t(numel_of(out)));
  Dims idx(out.size(), 0);
  for (size_t i = 0; i < r.size(); ++i) {
    int64_t off = 0;
    for (size_t d = 0; d < out.size(); ++d) off += idx[d] * strides[d];
    r[i] = v[size_t(off)];
    for (size_t d = out.size(); d-- > 0;) {
      if (++idx[d] < out[d]) break;
      idx[d] = 0;
    }
  }
  return r;
}


}  // namespace kiln::quant
