// MSDeformAttn (ms_deform_attn.h): shape inference and the CPU reference. The reference computes
// coordinates, bilinear weights and the weighted sum in double and rounds once, so it is the
// oracle for the CUDA kernel and for the unfused GridSample graph it replaces.
#include "ops/spatial/ms_deform_attn.h"

#include <cmath>
#include <string>

#include "ops/op_util.h"
#include "ops/spatial/spatial_ops.h"

namespace kiln::spatial {
namespace {

enum Input { kValue, kShapes, kStarts, kLocations, kWeights };
constexpr const char* kInputNames[] = {"value", "spatial_shapes", "level_start_index", "sampling_locations",
                                       "attention_weights"};
constexpr int kRanks[] = {4, 2, 1, 6, 5};

// Where each named extent appears: (input, axis) pairs that must agree.
struct Extent {
  const char* name;
  std::vector<std::pair<int, int>> at;
};
const std::vector<Extent>& extents() {
  static const std::vector<Extent> e = {
      {"batch B", {{kValue, 0}, {kLocations, 0}, {kWeights, 0}}},
      {"tokens S", {{kValue, 1}}},
      {"heads H", {{kValue, 2}, {kLocations, 2}, {kWeights, 2}}},
      {"head_dim D", {{kValue, 3}}},
      {"queries Q", {{kLocations, 1}, {kWeights, 1}}},
      {"levels L", {{kShapes, 0}, {kStarts, 0}, {kLocations, 3}, {kWeights, 3}}},
      {"points P", {{kLocations, 4}, {kWeights, 4}}},
  };
  return e;
}

std::string describe(const Shape& s) { return "[" + shape_to_string(s) + "]"; }

// Checks ranks and the fixed extents (the 2s), then merges every named extent across inputs.
// shapes[i] is nullptr where the rank is unknown. Returns the merged Dim per extent.
std::vector<Dim> merge_extents(const OpContextBase& ctx, const std::vector<const Shape*>& shapes) {
  for (int i = 0; i < 5; ++i) {
    const Shape* s = shapes[size_t(i)];
    if (!s) continue;
    if (int(s->size()) != kRanks[i])
      ctx.invalid(std::string(kInputNames[i]) + " " + describe(*s) + " must have rank " + std::to_string(kRanks[i]));
    const int last2 = i == kShapes ? 1 : i == kLocations ? 5 : -1;
    if (last2 >= 0 && (*s)[size_t(last2)].known() && (*s)[size_t(last2)].value != 2)
      ctx.invalid(std::string(kInputNames[i]) + " " + describe(*s) + " must end in 2");
  }
  std::vector<Dim> merged;
  for (const Extent& e : extents()) {
    Dim have;
    for (auto [input, axis] : e.at) {
      const Shape* s = shapes[size_t(input)];
      if (!s) continue;
      const Dim& d = (*s)[size_t(axis)];
      if (!d.known()) {
        if (!have.known() && have.symbol.empty()) have = d;
        continue;
      }
      if (have.known() && have.value != d.value)
        ctx.invalid(std::string("the ") + e.name + " of " + kInputNames[input] + " " + describe(*s) +
                    " differs from the other inputs'");
      have = d;
    }
    merged.push_back(have);
  }
  return merged;
}

std::vector<ValueType> infer(const InferContext& ctx) {
  ctx.require_dtype(kValue, {DType::kF32, DType::kF16, DType::kF64});
  for (Input i : {kLocations, kWeights})
    if (!dtype_is_float(ctx.dtype(i))) ctx.invalid(std::string(kInputNames[i]) + " must be a float tensor");
  for (Input i : {kShapes, kStarts})
    if (ctx.dtype(i) != DType::kI64 && ctx.dtype(i) != DType::kI32)
      ctx.invalid(std::string(kInputNames[i]) + " must be int64 (or int32)");
  std::vector<const Shape*> shapes;
  for (size_t i = 0; i < 5; ++i) shapes.push_back(ctx.shape(i));
  const std::vector<Dim> m = merge_extents(ctx, shapes);
  const Dim& batch = m[0];
  const Dim& heads = m[2];
  const Dim& head_dim = m[3];
  const Dim& queries = m[4];
  // Constant levels are checked here already, so a bad model fails at import.
  const Tensor* ss = ctx.constant(kShapes);
  const Tensor* st = ctx.constant(kStarts);
  if (ss && st && shapes[kValue] && shape_known(*shapes[kValue]) && m[5].known()) {
    MsDeformAttnDims d;
    d.tokens = m[1].value, d.levels = m[5].value;
    ms_deform_attn_levels(ctx, *ss, *st, d);
  }
  const Dim channels = heads.known() && head_dim.known() ? Dim(heads.value * head_dim.value) : Dim();
  return {{ctx.dtype(kValue), Shape{batch, queries, channels}}};
}

template <class T, class L, class W>
void forward(const MsDeformAttnDims& d, const std::vector<MsDeformLevel>& levels, const T* value, const L* loc,
             const W* attn, T* out) {
  const int64_t groups = d.batch * d.queries * d.heads;  // one (b, q, h) each
  const int64_t lp = d.levels * d.points;
  const int64_t pixel_stride = d.heads * d.head_dim;  // between neighbouring tokens of one head
  parallel_for(groups, 16, [&](int64_t begin, int64_t end) {
    std::vector<double> acc(size_t(d.head_dim)), sample(size_t(d.head_dim));
    for (int64_t gidx = begin; gidx < end; ++gidx) {
      const int64_t b = gidx / (d.queries * d.heads), h = gidx % d.heads;
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t l = 0; l < d.levels; ++l) {
        const MsDeformLevel& lv = levels[size_t(l)];
        const T* base = value + ((b * d.tokens + lv.start) * d.heads + h) * d.head_dim;
        for (int64_t p = 0; p < d.points; ++p) {
          const int64_t k = gidx * lp + l * d.points + p;
          const double x = to_double(loc[2 * k]) * double(lv.width) - 0.5;
          const double y = to_double(loc[2 * k + 1]) * double(lv.height) - 0.5;
          const double a = to_double(attn[k]);
          std::fill(sample.begin(), sample.end(), 0.0);
          // Also false for NaN: such a point samples zero, as GridSample's does.
          if (x > -1.0 && x < double(lv.width) && y > -1.0 && y < double(lv.height)) {
            const double x0 = std::floor(x), y0 = std::floor(y);
            const double fx = x - x0, fy = y - y0;
            const int64_t ix = int64_t(x0), iy = int64_t(y0);
            const double wts[4] = {(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx};
            for (int c = 0; c < 4; ++c) {
              const int64_t cx = ix + (c & 1), cy = iy + (c >> 1);
              if (cx < 0 || cx >= lv.width || cy < 0 || cy >= lv.height) continue;
              const T* v = base + (cy * lv.width + cx) * pixel_stride;
              for (int64_t ch = 0; ch < d.head_dim; ++ch) sample[size_t(ch)] += wts[c] * to_double(v[ch]);
            }
          }
          for (int64_t ch = 0; ch < d.head_dim; ++ch) acc[size_t(ch)] += a * sample[size_t(ch)];
        }
      }
      T* o = out + gidx * d.head_dim;  // [B, Q, H*D]: (b, q, h) groups are contiguous
      for (int64_t ch = 0; ch < d.head_dim; ++ch) o[ch] = from_double<T>(acc[size_t(ch)]);
    }
  });
}

// Dispatches the sampling_locations and attention_weights dtypes.
template <class T>
void forward_value(const KernelContext& ctx, const MsDeformAttnDims& d, const std::vector<MsDeformLevel>& levels,
                   Tensor& y) {
  const Tensor& loc = ctx.input(kLocations);
  const Tensor& attn = ctx.input(kWeights);
  auto run = [&](auto ltag) {
    using L = typename decltype(ltag)::type;
    visit_dtype(attn.dtype(), [&](auto wtag) {
      using W = typename decltype(wtag)::type;
      if constexpr (std::is_same_v<W, float> || std::is_same_v<W, double> || std::is_same_v<W, f16> ||
                    std::is_same_v<W, bf16>)
        forward<T, L, W>(d, levels, ctx.input(kValue).data<T>(), loc.data<L>(), attn.data<W>(), y.data<T>());
      else
        ctx.invalid("attention_weights must be a float tensor");
    });
  };
  visit_dtype(loc.dtype(), [&](auto ltag) {
    using L = typename decltype(ltag)::type;
    if constexpr (std::is_same_v<L, float> || std::is_same_v<L, double> || std::is_same_v<L, f16> ||
                  std::is_same_v<L, bf16>)
      run(ltag);
    else
      ctx.invalid("sampling_locations must be a float tensor");
  });
}

std::vector<Tensor> cpu(const KernelContext& ctx) {
  std::vector<Dims> dims;
  for (size_t i = 0; i < 5; ++i) dims.push_back(ctx.input(i).dims());
  const MsDeformAttnDims d = ms_deform_attn_dims(ctx, dims);
  const std::vector<MsDeformLevel> levels = ms_deform_attn_levels(ctx, ctx.input(kShapes), ctx.input(kStarts), d);
  const DType dt = ctx.input(kValue).dtype();
  Tensor y(dt, {d.batch, d.queries, d.heads * d.head_dim});
  if (y.numel() == 0) return {y};
  if (dt == DType::kF32) forward_value<float>(ctx, d, levels, y);
  else if (dt == DType::kF16) forward_value<f16>(ctx, d, levels, y);
  else if (dt == DType::kF64) forward_value<double>(ctx, d, levels, y);
  else ctx.unsupported(std::string("value of type ") + dtype_name(dt) + " is not supported");
  return {y};
}

}  // namespace

MsDeformAttnDims ms_deform_attn_dims(const OpContextBase& ctx, const std::vector<Dims>& dims) {
  if (dims.size() != 5) ctx.invalid("takes 5 inputs, got " + std::to_string(dims.size()));
  std::vector<Shape> shapes;
  for (const Dims& d : dims) shapes.push_back(shape_of(d));
  std::vector<const Shape*> ptrs;
  for (const Shape& s : shapes) ptrs.push_back(&s);
  const std::vector<Dim> m = merge_extents(ctx, ptrs);
  MsDeformAttnDims d;
  d.batch = m[0].value, d.tokens = m[1].value, d.heads = m[2].value, d.head_dim = m[3].value;
  d.queries = m[4].value, d.levels = m[5].value, d.points = m[6].value;
  return d;
}

std::vector<MsDeformLevel> ms_deform_attn_levels(const OpContextBase& ctx, const Tensor& spatial_shapes,
                                                 const Tensor& level_start_index, const MsDeformAttnDims& d) {
  for (const Tensor* t : {&spatial_shapes, &level_start_index})
    if (t->dtype() != DType::kI64 && t->dtype() != DType::kI32)
      ctx.invalid("spatial_shapes and level_start_index must be int64 (or int32)");
  if (spatial_shapes.dims() != Dims{d.levels, 2} || level_start_index.dims() != Dims{d.levels})
    ctx.invalid("spatial_shapes " + dims_to_string(spatial_shapes.dims()) + " and level_start_index " +
                dims_to_string(level_start_index.dims()) + " must be [L, 2] and [L] for L = " +
                std::to_string(d.levels));
  const std::vector<int64_t> hw = spatial_shapes.to_int64_vector(), starts = level_start_index.to_int64_vector();
  std::vector<MsDeformLevel> levels;
  for (int64_t l = 0; l < d.levels; ++l) {
    MsDeformLevel lv{hw[size_t(2 * l)], hw[size_t(2 * l + 1)], starts[size_t(l)]};
    if (lv.height < 1 || lv.width < 1 || lv.start < 0 || lv.height > d.tokens || lv.width > d.tokens ||
        lv.start > d.tokens - lv.height * lv.width)
      ctx.invalid("level " + std::to_string(l) + " (" + std::to_string(lv.height) + "x" + std::to_string(lv.width) +
                  " from token " + std::to_string(lv.start) + ") does not lie inside value's " +
                  std::to_string(d.tokens) + " tokens");
    levels.push_back(lv);
  }
  return levels;
}

void register_ms_deform_attn(OpRegistry& r) {
  r.add({.domain = kKilnDomain, .name = kMsDeformAttnOp, .min_inputs = 5, .max_inputs = 5, .infer = infer,
         .cpu = cpu});
}

}  // namespace kiln::spatial
