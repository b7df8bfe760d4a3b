// ResizeSumPointwiseConv (resize_sum_pointwise_conv.h): shape inference and the CPU reference,
// which is ResizeSum's reference (rounded to the images' type, as the unfused graph stores it)
// followed by the 1x1 convolution summed in double and rounded once.
#include "ops/spatial/resize_sum_pointwise_conv.h"

#include <string>

#include "ops/op_util.h"
#include "ops/spatial/resize_sum.h"
#include "ops/spatial/spatial_ops.h"

namespace kiln::spatial {
namespace {

size_t image_count(const OpContextBase& ctx, size_t inputs) {
  if (inputs <= kResizeSumConvFirstImage || inputs - kResizeSumConvFirstImage > size_t(kResizeSumMaxInputs))
    ctx.invalid("takes W, B and 1 to " + std::to_string(kResizeSumMaxInputs) + " images, got " +
                std::to_string(inputs) + " inputs");
  return inputs - kResizeSumConvFirstImage;
}

// Y's type from the images', W's and B's (the header's rule).
DType output_dtype(const OpContextBase& ctx, DType x, DType w, const DType* b) {
  if (w != x) ctx.invalid(std::string("W is ") + dtype_name(w) + ", the images are " + dtype_name(x));
  if (!b || *b == x) return x;
  if (x == DType::kF16 && *b == DType::kF32) return *b;
  ctx.invalid(std::string("B is ") + dtype_name(*b) + ", the images are " + dtype_name(x));
}

void check_weights(const OpContextBase& ctx, const Shape* w, const Shape* b, const Dim& channels) {
  if (w && (w->size() != 2 || ((*w)[1].known() && channels.known() && (*w)[1].value != channels.value)))
    ctx.invalid("W " + shape_to_string(*w) + " must be [Co, C] with C the images' " +
                (channels.known() ? std::to_string(channels.value) : std::string("channels")));
  if (b && (b->size() != 1 || (w && (*w)[0].known() && (*b)[0].known() && (*b)[0].value != (*w)[0].value)))
    ctx.invalid("B " + shape_to_string(*b) + " must hold one value per output channel");
}

std::vector<double> doubles(const Tensor& t) {
  std::vector<double> v(size_t(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[size_t(i)] = t.at_double(i);
  return v;
}

std::vector<ValueType> infer(const InferContext& ctx) {
  const size_t n = image_count(ctx, ctx.num_inputs());
  ValueType h = infer_resize_sum(ctx, kResizeSumConvFirstImage, n);
  const bool has_b = ctx.has_input(kResizeSumConvBias);
  const DType bt = has_b ? ctx.dtype(kResizeSumConvBias) : DType::kF32;
  const DType dt = output_dtype(ctx, h.dtype, ctx.dtype(kResizeSumConvWeight), has_b ? &bt : nullptr);
  const Shape* w = ctx.shape(kResizeSumConvWeight);
  check_weights(ctx, w, has_b ? ctx.shape(kResizeSumConvBias) : nullptr, (*h.shape)[1]);
  Shape y = *h.shape;
  y[1] = w ? (*w)[0] : Dim();
  return {{dt, y}};
}

std::vector<Tensor> cpu(const KernelContext& ctx) {
  const size_t n = image_count(ctx, ctx.num_inputs());
  std::vector<Dims> dims;
  std::vector<const Tensor*> xs;
  for (size_t i = 0; i < n; ++i) {
    xs.push_back(&ctx.input(kResizeSumConvFirstImage + i));
    dims.push_back(xs.back()->dims());
  }
  const ResizeSumPlan p = plan_resize_sum(ctx, dims);
  const Tensor& W = ctx.input(kResizeSumConvWeight);
  const Tensor* B = ctx.has_input(kResizeSumConvBias) ? &ctx.input(kResizeSumConvBias) : nullptr;
  const DType bt = B ? B->dtype() : DType::kF32;
  const DType dt = output_dtype(ctx, xs[0]->dtype(), W.dtype(), B ? &bt : nullptr);
  const Shape bs = B ? shape_of(B->dims()) : Shape();
  const Shape ws = shape_of(W.dims());
  check_weights(ctx, &ws, B ? &bs : nullptr, Dim(p.channels));
  const int64_t co = W.dim(0), c = p.channels, pixels = p.height * p.width;
  Tensor y(dt, {p.batch, co, p.height, p.width});
  if (y.numel() == 0) return {y};
  const Tensor h = resize_sum_reference(ctx, p, xs);  // rounded as the unfused ResizeSum stores it
  const std::vector<double> hd = doubles(h), wd = doubles(W), bd = B ? doubles(*B) : std::vector<double>();
  std::vector<double> out(size_t(y.numel()));
  parallel_for(p.batch * co, 1, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t b = r / co, o = r % co;
      double* dst = out.data() + r * pixels;
      for (int64_t q = 0; q < pixels; ++q) dst[q] = B ? bd[size_t(o)] : 0.0;
      for (int64_t k = 0; k < c; ++k) {
        const double w = wd[size_t(o * c + k)];
        const double* src = hd.data() + (b * c + k) * pixels;
        for (int64_t q = 0; q < pixels; ++q) dst[q] += w * src[q];
      }
    }
  });
  return {Tensor::from_doubles(dt, y.dims(), out)};
}

}  // namespace

void register_resize_sum_pointwise_conv(OpRegistry& r) {
  r.add({.domain = kKilnDomain, .name = kResizeSumPointwiseConvOp, .min_inputs = 3,
         .max_inputs = int(kResizeSumConvFirstImage) + kResizeSumMaxInputs, .infer = infer, .cpu = cpu});
}

}  // namespace kiln::spatial
