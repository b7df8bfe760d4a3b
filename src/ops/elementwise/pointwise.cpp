// Pointwise (pointwise.h): shape inference and the CPU reference, which runs the program per
// output element in double, each float result rounded to float32 as the kernels hold it.
#include "ops/elementwise/pointwise.h"

#include <cmath>
#include <limits>

#include "ops/elementwise/elementwise_util.h"
#include "ops/elementwise/gelu_math.h"
#include "ops/elementwise/pointwise_program.h"
#include "ops/registry.h"

namespace kiln::ew {
namespace {

std::vector<DType> input_dtypes(const InferContext& ctx) {
  std::vector<DType> t;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) ctx.invalid("input " + std::to_string(i) + " is omitted; every input is an operand");
    t.push_back(ctx.dtype(i));
  }
  return t;
}

std::vector<ValueType> pointwise_infer(const InferContext& ctx) {
  const PwProgram p = parse_pw_program(ctx.attrs(), input_dtypes(ctx), ctx.node.describe());
  if (p.results.size() != ctx.num_outputs())
    ctx.invalid("'results' names " + std::to_string(p.results.size()) + " outputs, the node has " +
                std::to_string(ctx.num_outputs()));
  const std::optional<Shape> shape = infer_broadcast_shape(ctx);
  std::vector<ValueType> out;
  for (int32_t r : p.results) out.push_back({p.code[size_t(r)].dtype, shape});
  return out;
}

double f32(double v) { return double(float(v)); }

// One instruction on double operands; float results rounded to float32 (see pointwise.h).
double apply(const PwInstr& in, double a, double b, double c) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  switch (in.op) {
    case PwOp::kAdd: return f32(a + b);
    case PwOp::kSub: return f32(a - b);
    case PwOp::kMul: return f32(a * b);
    case PwOp::kDiv: return f32(a / b);
    case PwOp::kPow:  // as the Pow op: x*x and sqrt where they are exact answers
      return f32(b == 2.0 ? a * a : b == 0.5 && a > 0 && std::isfinite(a) ? std::sqrt(a) : std::pow(a, b));
    case PwOp::kMax: return std::isnan(a) || std::isnan(b) ? kNaN : std::max(a, b);
    case PwOp::kMin: return std::isnan(a) || std::isnan(b) ? kNaN : std::min(a, b);
    case PwOp::kEqual: return a == b;
    case PwOp::kLess: return a < b;
    case PwOp::kGreater: return a > b;
    case PwOp::kLessOrEqual: return a <= b;
    case PwOp::kGreaterOrEqual: return a >= b;
    case PwOp::kAnd: return a != 0 && b != 0;
    case PwOp::kOr: return a != 0 || b != 0;
    case PwOp::kXor: return (a != 0) != (b != 0);
    case PwOp::kNot: return a == 0;
    case PwOp::kIsNaN: return std::isnan(a);
    case PwOp::kWhere: return a != 0 ? b : c;
    case PwOp::kCast:
      if (in.dtype == DType::kBool) return a != 0;  // NaN is true
      if (in.dtype == DType::kF16) return f16_to_float(double_to_f16_bits(a));
      return f32(a);
    case PwOp::kRelu: return a < 0 ? 0.0 : a;  // keeps NaN
    case PwOp::kSigmoid: return f32(a >= 0 ? 1 / (1 + std::exp(-a)) : std::exp(a) / (1 + std::exp(a)));
    case PwOp::kTanh: return f32(std::tanh(a));
    case PwOp::kErf: return f32(std::erf(a));
    case PwOp::kGelu: return f32(in.param ? gelu_tanh(a) : gelu_erf(a));
    case PwOp::kExp: return f32(std::exp(a));
    case PwOp::kLog: return f32(std::log(a));
    case PwOp::kSqrt: return f32(std::sqrt(a));
    case PwOp::kReciprocal: return f32(1 / a);
    case PwOp::kNeg: return -a;
    case PwOp::kAbs: return std::fabs(a);
    case PwOp::kFloor: return std::floor(a);
    case PwOp::kCeil: return std::ceil(a);
    case PwOp::kSin: return f32(std::sin(a));
    case PwOp::kCos: return f32(std::cos(a));
  }
  return kNaN;
}

double load_element(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::kF32: return t.data<float>()[i];
    case DType::kF16: return f16_to_float(t.data<f16>()[i].bits);
    default: return t.data<bool>()[i] ? 1.0 : 0.0;
  }
}

void store_element(Tensor& t, int64_t i, double v) {
  switch (t.dtype()) {
    case DType::kF32: t.data<float>()[i] = float(v); break;
    case DType::kF16: t.data<f16>()[i] = f16{double_to_f16_bits(v)}; break;
    default: t.data<bool>()[i] = v != 0; break;
  }
}

std::vector<Tensor> pointwise_cpu(const KernelContext& ctx) {
  std::vector<DType> types;
  Dims out_dims;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) ctx.invalid("input " + std::to_string(i) + " is omitted; every input is an operand");
    types.push_back(ctx.input(i).dtype());
    out_dims = i == 0 ? ctx.input(0).dims() : broadcast_dims(ctx, out_dims, ctx.input(i).dims());
  }
  const PwProgram p = parse_pw_program(ctx.attrs(), types, ctx.node.describe());
  if (p.results.size() != ctx.num_outputs()) ctx.invalid("'results' and the node's outputs differ in number");
  std::vector<Tensor> outs;
  for (int32_t r : p.results) outs.emplace_back(p.code[size_t(r)].dtype, out_dims);
  const int64_t n = numel_of(out_dims);
  std::vector<Dims> strides;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) strides.push_back(broadcast_strides(ctx.input(i).dims(), out_dims));
  const int rank = int(out_dims.size());
  parallel_for(n, 4096, [&](int64_t begin, int64_t end) {
    std::vector<double> v(size_t(p.num_inputs) + p.code.size());
    for (int64_t e = begin; e < end; ++e) {
      for (int i = 0; i < p.num_inputs; ++i) {
        int64_t off = 0;
        for (int64_t rem = e, d = rank - 1; d >= 0; --d) {
          off += (rem % out_dims[size_t(d)]) * strides[size_t(i)][size_t(d)];
          rem /= out_dims[size_t(d)];
        }
        v[size_t(i)] = load_element(ctx.input(size_t(i)), off);
      }
      for (size_t k = 0; k < p.code.size(); ++k) {
        const PwInstr& in = p.code[k];
        auto arg = [&](int j) { return in.args[j] < 0 ? 0.0 : v[size_t(in.args[j])]; };
        v[size_t(p.num_inputs) + k] = apply(in, arg(0), arg(1), arg(2));
      }
      for (size_t o = 0; o < outs.size(); ++o) store_element(outs[o], e, v[size_t(p.num_inputs + p.results[o])]);
    }
  });
  return outs;
}

}  // namespace

void register_pointwise_op(OpRegistry& r) {
  r.add({.domain = kKilnDomain, .name = kPointwiseOp, .min_inputs = 1, .max_inputs = kPointwiseMaxInputs,
         .min_outputs = 1, .max_outputs = kPointwiseMaxOutputs, .infer = pointwise_infer, .cpu = pointwise_cpu});
}

}  // namespace kiln::ew
