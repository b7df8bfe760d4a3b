// ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2, ReduceLogSum,
// ReduceLogSumExp, ReduceSumSquare: accumulators for the generic loop in reduce_engine.h.
// Reducing an empty set gives the op's identity: 0 (Sum, L1, L2, SumSquare), 1 (Prod),
// -inf or the type's lowest value (Max), +inf or the type's highest (Min), -inf (LogSum,
// LogSumExp), NaN (Mean of floats). With noop_with_empty_axes and empty axes every element is
// its own one-element set, so the per-element part still applies (SumSquare squares, L1 takes
// |x|, LogSum takes log), as the corrected ONNX spec and reference implementation do.
#include <limits>

#include "ops/reduce/reduce_axes.h"
#include "ops/reduce/reduce_engine.h"

namespace kiln::reduce {
namespace {

// Integer accumulation wraps (two's complement) instead of overflowing into UB.
template <class C> inline C add_w(C a, C b) {
  if constexpr (std::is_integral_v<C>) return C(uint64_t(a) + uint64_t(b));
  else return a + b;
}
template <class C> inline C mul_w(C a, C b) {
  if constexpr (std::is_integral_v<C>) return C(uint64_t(a) * uint64_t(b));
  else return a * b;
}
template <class C> inline C abs_w(C a) {
  if constexpr (std::is_integral_v<C>) return a < 0 ? C(uint64_t(0) - uint64_t(a)) : a;
  else return std::fabs(a);
}

template <class T> struct SumOp {
  using C = compute_t<T>;
  using Acc = C;
  static Acc init() { return C(0); }
  static void add(Acc& a, C x) { a = add_w(a, x); }
  static void merge(Acc& a, const Acc& b) { a = add_w(a, b); }
  static C fin(const Acc& a, int64_t) { return a; }
};

template <class T> struct MeanOp : SumOp<T> {
  using C = compute_t<T>;
  // Floats: 0/0 = NaN for an empty set. Integers truncate like numpy's mean cast back;
  // the kernel rejects an empty integer set before getting here.
  static C fin(const C& a, int64_t n) {
    if constexpr (std::is_integral_v<C>) return n ? a / n : 0;
    else return a / double(n);
  }
};

template <class T> struct SumSquareOp : SumOp<T> {
  using C = compute_t<T>;
  static void add(C& a, C x) { a = add_w(a, mul_w(x, x)); }
};

template <class T> struct L1Op : SumOp<T> {
  using C = compute_t<T>;
  static void add(C& a, C x) { a = add_w(a, abs_w(x)); }
};

template <class T> struct L2Op : SumSquareOp<T> {
  static double fin(const double& a, int64_t) { return std::sqrt(a); }
};

template <class T> struct LogSumOp : SumOp<T> {
  static double fin(const double& a, int64_t) { return std::log(a); }
};

template <class T> struct ProdOp {
  using C = compute_t<T>;
  using Acc = C;
  static Acc init() { return C(1); }
  static void add(Acc& a, C x) { a = mul_w(a, x); }
  static void merge(Acc& a, const Acc& b) { a = mul_w(a, b); }
  static C fin(const Acc& a, int64_t) { return a; }
};

// Max/Min propagate NaN like numpy's maximum.reduce: once NaN, always NaN.
template <class T> struct MaxOp {
  using C = compute_t<T>;
  using Acc = C;
  static Acc init() {
    if constexpr (kIsFloat<T>) return -std::numeric_limits<double>::infinity();
    else return C(std::numeric_limits<T>::lowest());
  }
  static void add(Acc& a, C x) {
    if (x > a || is_nan(x)) a = x;
  }
  static void merge(Acc& a, const Acc& b) { add(a, b); }
  static C fin(const Acc& a, int64_t) { return a; }
};

template <class T> struct MinOp {
  using C = compute_t<T>;
  using Acc = C;
  static Acc init() {
    if constexpr (kIsFloat<T>) return std::numeric_limits<double>::infinity();
    else return C(std::numeric_limits<T>::max());
  }
  static void add(Acc& a, C x) {
    if (x < a || is_nan(x)) a = x;
  }
  static void merge(Acc& a, const Acc& b) { add(a, b); }
  static C fin(const Acc& a, int64_t) { return a; }
};

// Streaming log-sum-exp: the sum is kept relative to the running maximum m, so exp never
// overflows. s == 0 means "no finite contribution yet"; -inf elements contribute nothing.
struct LseAcc {
  double m = -std::numeric_limits<double>::infinity();
  double s = 0.0;
};
template <class T> struct LogSumExpOp {
  using Acc = LseAcc;
  static Acc init() { return {}; }
  static void add(Acc& a, double x) { merge(a, {x, 1.0}); }
  static void merge(Acc& a, const Acc& b) {
    if (std::isnan(b.m) || std::isnan(b.s)) {
      a.s = std::numeric_limits<double>::quiet_NaN();
    } else if (b.s == 0.0 || b.m == -std::numeric_limits<double>::infinity()) {
      // contributes exp(-inf) = 0
    } else if (b.m > a.m) {
      a.s = a.s * std::exp(a.m - b.m) + b.s;
      a.m = b.m;
    } else if (b.m == a.m) {
      a.s += b.s;
    } else {
      a.s += b.s * std::exp(b.m - a.m);
    }
  }
  static double fin(const Acc& a, int64_t) {
    if (std::isnan(a.s)) return a.s;
    if (a.s == 0.0) return -std::numeric_limits<double>::infinity();
    return a.m + std::log(a.s);
  }
};

enum class Kind { kSum, kMean, kMax, kMin, kProd, kL1, kL2, kLogSum, kLogSumExp, kSumSquare };

// Integer types follow the ONNX type constraints (uint32/uint64 do not exist in kiln). L2,
// LogSum and LogSumExp are claimed for float types only: a square root or logarithm cast back
// to an integer is not something a vision model computes.
template <Kind K, class T> constexpr bool supports() {
  if constexpr (kIsFloat<T>) return true;
  else if constexpr (K == Kind::kMax || K == Kind::kMin)
    return std::is_same_v<T, int64_t> || std::is_same_v<T, int32_t> || std::is_same_v<T, int8_t> ||
           std::is_same_v<T, uint8_t> || std::is_same_v<T, bool>;
  else if constexpr (K == Kind::kL2 || K == Kind::kLogSum || K == Kind::kLogSumExp)
    return false;
  else return std::is_same_v<T, int64_t> || std::is_same_v<T, int32_t>;
}

template <Kind K> bool dtype_supported(DType dt, int opset) {
  if (dt == DType::kBool && opset < 20) return false;  // bool Max/Min arrived in opset 20
  return visit_dtype(dt, [](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_void_v<T>) return false;
    else return supports<K, T>();
  });
}

template <Kind K> void check_dtype(const OpContextBase& ctx, DType dt) {
  if (!dtype_supported<K>(dt, ctx.opset()))
    ctx.unsupported(std::string("input of type ") + dtype_name(dt) + " is not supported");
}

template <Kind K, class T> void run_kind(const T* x, T* y, const Dims& dims,
                                         const std::vector<bool>& mask) {
  if constexpr (K == Kind::kSum) reduce_run<SumOp<T>>(x, y, dims, mask);
  else if constexpr (K == Kind::kMean) reduce_run<MeanOp<T>>(x, y, dims, mask);
  else if constexpr (K == Kind::kMax) reduce_run<MaxOp<T>>(x, y, dims, mask);
  else if constexpr (K == Kind::kMin) reduce_run<MinOp<T>>(x, y, dims, mask);
  else if constexpr (K == Kind::kProd) reduce_run<ProdOp<T>>(x, y, dims, mask);
  else if constexpr (K == Kind::kL1) reduce_run<L1Op<T>>(x, y, dims, mask);
  else if constexpr (K == Kind::kL2) reduce_run<L2Op<T>>(x, y, dims, mask);
  else if constexpr (K == Kind::kLogSum) reduce_run<LogSumOp<T>>(x, y, dims, mask);
  else if constexpr (K == Kind::kLogSumExp) reduce_run<LogSumExpOp<T>>(x, y, dims, mask);
  else reduce_run<SumSquareOp<T>>(x, y, dims, mask);
}

template <Kind K> std::vector<ValueType> reduce_infer(const InferContext& ctx) {
  check_dtype<K>(ctx, ctx.dtype(0));
  return {reduce_output_type(ctx, reduce_params(ctx))};
}

template <Kind K> std::vector<Tensor> reduce_cpu(const KernelContext& ctx) {
  const ReduceParams p = reduce_params(ctx);
  const Tensor& x = ctx.input(0);
  check_dtype<K>(ctx, x.dtype());
  const std::vector<bool> mask = reduced_mask(ctx, kernel_axes(ctx, p), x.rank(), p.noop_with_empty_axes);
  Tensor y(x.dtype(), reduced_dims(x.dims(), mask, p.keepdims));
  if (K == Kind::kMean && !dtype_is_float(x.dtype()) && y.numel() > 0) {
    for (size_t i = 0; i < mask.size(); ++i)
      if (mask[i] && x.dim(int(i)) == 0)
        ctx.error(ErrorCode::kInvalidArgument, "the mean of an empty set is undefined for integers");
  }
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_void_v<T>) {
      if constexpr (supports<K, T>()) run_kind<K>(x.data<T>(), y.data<T>(), x.dims(), mask);
    }
  });
  return {y};
}

template <Kind K> void add_reduce(OpRegistry& r, const char* name) {
  r.add({.domain = "", .name = name, .min_inputs = 1, .max_inputs = 2,
         .infer = reduce_infer<K>, .cpu = reduce_cpu<K>});
}

}  // namespace

void register_reduction_ops(OpRegistry& r) {
  add_reduce<Kind::kSum>(r, "ReduceSum");
  add_reduce<Kind::kMean>(r, "ReduceMean");
  add_reduce<Kind::kMax>(r, "ReduceMax");
  add_reduce<Kind::kMin>(r, "ReduceMin");
  add_reduce<Kind::kProd>(r, "ReduceProd");
  add_reduce<Kind::kL1>(r, "ReduceL1");
  add_reduce<Kind::kL2>(r, "ReduceL2");
  add_reduce<Kind::kLogSum>(r, "ReduceLogSum");
  add_reduce<Kind::kLogSumExp>(r, "ReduceLogSumExp");
  add_reduce<Kind::kSumSquare>(r, "ReduceSumSquare");
}

}  // namespace kiln::reduce
