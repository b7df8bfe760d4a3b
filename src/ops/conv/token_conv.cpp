// TokenConv (token_conv.h): type and shape inference, and the CPU reference — the gather and the
// GEMM it replaces, run through their own references.
#include "ops/conv/token_conv.h"

#include <string>

#include "ops/conv/conv_ops.h"
#include "ops/conv/im2col_tokens.h"
#include "ops/conv/patch_embed_tokens.h"
#include "ops/op_util.h"
#include "ops/registry.h"

namespace kiln::conv {
namespace {

// Y's dtype: FusedMatMul's rule for (rows, W, B), the rows being X's type.
DType output_dtype(const OpContextBase& ctx, DType x, DType w, const DType* b) {
  if (!dtype_is_float(x)) ctx.invalid(std::string("X is ") + dtype_name(x) + ", not a float type");
  if (w != x) ctx.invalid(std::string("W has type ") + dtype_name(w) + ", X has " + dtype_name(x));
  if (!b) return x;
  if (*b != x && !(x == DType::kF16 && *b == DType::kF32))
    ctx.invalid(std::string("B has type ") + dtype_name(*b) + ", X has " + dtype_name(x) +
                " (B must have X's type, or float32 with float16 X)");
  return *b;
}

// X must be the token form; Im2ColTokens' rule then checks it against the attributes.
Shape rows_shape(const OpContextBase& ctx, const Shape* xs, std::vector<Axis>* axes) {
  if (!xs) ctx.invalid("X's rank must be known (3: tokens [batch, height*width, channels])");
  if (xs->size() != 3)
    ctx.invalid("X must be tokens [batch, height*width, channels], got " + shape_to_string(*xs) +
                " (an NCHW image is kiln.PatchEmbedTokens' or Im2ColTokens')");
  if ((*xs)[2].known() && (*xs)[2].value < 1) ctx.invalid("X " + shape_to_string(*xs) + " has no channels");
  bool tokens = false;
  return im2col_tokens_shape(ctx, *xs, axes, &tokens);
}

std::vector<ValueType> infer(const InferContext& ctx) {
  if (!ctx.has_input(1)) ctx.invalid("W is required");
  const DType b = ctx.has_input(2) ? ctx.dtype(2) : DType::kF32;
  const ValueType y = token_conv_type(ctx, ctx.dtype(0), ctx.dtype(1), ctx.has_input(2) ? &b : nullptr, ctx.shape(0),
                                      ctx.shape(1), ctx.has_input(2) ? ctx.shape(2) : nullptr, nullptr);
  patch_embed_norm_infer(ctx, y.dtype);
  return {y};
}

std::vector<Tensor> cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  const Tensor* b = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  const Shape xs = shape_of(x.dims()), ws = shape_of(w.dims());
  const Shape bs = b ? shape_of(b->dims()) : Shape{};
  const DType bt = b ? b->dtype() : DType::kF32;
  token_conv_type(ctx, x.dtype(), w.dtype(), b ? &bt : nullptr, &xs, &ws, b ? &bs : nullptr, nullptr);
  // TokenConv's attributes are Im2ColTokens' own.
  Node gather = reference_step(ctx.node, kIm2ColTokensOp, true);
  gather.attrs = ctx.attrs();
  const Tensor rows = run_cpu_reference(gather, {&x});
  const Tensor y = b ? run_cpu_reference(reference_step(ctx.node, "FusedMatMul", true), {&rows, &w, b})
                     : run_cpu_reference(reference_step(ctx.node, "MatMul", false), {&rows, &w});
  return {patch_embed_norm_epilogue(ctx, y, ws)};
}

}  // namespace

ValueType token_conv_type(const OpContextBase& ctx, DType x, DType w, const DType* b, const Shape* xs,
                          const Shape* ws, const Shape* bs, std::vector<Axis>* axes) {
  const DType y = output_dtype(ctx, x, w, b);
  const Shape rows = rows_shape(ctx, xs, axes);
  Dim co;
  if (ws) {
    if (ws->size() != 2) ctx.invalid("W must be 2-D [kh*kw*channels, Co], got " + shape_to_string(*ws));
    if ((*ws)[0].known() && rows[2].known() && (*ws)[0].value != rows[2].value)
      ctx.invalid("W " + shape_to_string(*ws) + " must have kh*kw*channels = " + std::to_string(rows[2].value) +
                  " rows for X " + shape_to_string(*xs));
    co = (*ws)[1];
  }
  if (bs) {
    if (bs->size() != 1) ctx.invalid("B must be 1-D [Co], got " + shape_to_string(*bs));
    if ((*bs)[0].known() && co.known() && (*bs)[0].value != co.value)
      ctx.invalid("B " + shape_to_string(*bs) + " does not match W's Co in " + shape_to_string(*ws));
    if (!co.known()) co = (*bs)[0];
  }
  return {y, Shape{rows[0], rows[1], co}};
}

bool token_conv_fits(DType x, int64_t channels, int64_t out_channels, int64_t stride_h, int64_t stride_w) {
  return x == DType::kF16 && channels > 0 && channels % 64 == 0 && out_channels > 0 && out_channels % 64 == 0 &&
         stride_h >= 1 && stride_h <= 8 && stride_w >= 1 && stride_w <= 8;
}

void register_token_conv(OpRegistry& r) {
  r.add({.domain = kKilnDomain, .name = kTokenConvOp, .min_inputs = 2, .max_inputs = 5, .infer = infer, .cpu = cpu});
}

}  // namespace kiln::conv
