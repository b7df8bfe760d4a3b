// kiln.LayerNormPatchRows (layer_norm_patch_rows.h): type and shape inference, and the CPU
// reference — LayerNormalization's reference, then its rows moved to their windows.
#include "ops/norm/layer_norm_patch_rows.h"

#include <cstring>
#include <optional>
#include <string>

#include "ops/norm/norm_common.h"
#include "ops/norm/norm_ops.h"
#include "ops/norm/patch_row_map.h"
#include "ops/registry.h"

namespace kiln::norm {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

// X must be [B, height·width, C]; `tokens` is its second dim where known.
void check_tokens(const OpContextBase& ctx, const PatchRowsGeometry& g, size_t rank, std::optional<int64_t> tokens,
                  const std::string& x) {
  if (rank != 3) ctx.invalid("X must be [batch, tokens, channels], got " + x);
  if (tokens && *tokens != g.height * g.width)
    ctx.invalid("X " + x + " has " + str(*tokens) + " tokens, but height x width is " + str(g.height) + " x " +
                str(g.width));
}

std::vector<ValueType> infer(const InferContext& ctx) {
  ctx.require_dtype(0, kFloatTypes);
  const DType y = layer_norm_y_dtype(ctx, ctx.dtype(0), ctx.dtype(1),
                                     ctx.has_input(2) ? std::optional<DType>(ctx.dtype(2)) : std::nullopt);
  const PatchRowsGeometry g = patch_rows_geometry(ctx);
  const int64_t windows = (g.height / g.patch) * (g.width / g.patch);
  const Shape* x = ctx.shape(0);
  if (!x) return {{y, std::nullopt}, {y, Shape{Dim(), Dim(windows), Dim()}}};
  const Dim n = x->size() > 1 ? (*x)[1] : Dim();
  check_tokens(ctx, g, x->size(), n.known() ? std::optional<int64_t>(n.value) : std::nullopt, shape_to_string(*x));
  const Dim c = (*x)[2];
  check_channel_param_shape(ctx, 1, c, "Scale");
  if (ctx.has_input(2)) check_channel_param_shape(ctx, 2, c, "B");
  const Dim row = c.known() ? Dim(g.patch * g.patch * c.value) : Dim();
  return {{y, *x}, {y, Shape{(*x)[0], Dim(windows), row}}};
}

std::vector<Tensor> cpu(const KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const PatchRowsGeometry g = patch_rows_geometry(ctx);
  check_tokens(ctx, g, x.rank(), x.rank() > 1 ? std::optional<int64_t>(x.dim(1)) : std::nullopt,
               dims_to_string(x.dims()));
  const int64_t B = x.dim(0), C = x.dim(2), p = g.patch;
  for (size_t i = 1; i < 3; ++i)
    if (ctx.has_input(i) && ctx.input(i).dims() != Dims{C})
      ctx.invalid(std::string(i == 1 ? "Scale" : "B") + " must be [" + str(C) + "], got " +
                  dims_to_string(ctx.input(i).dims()));
  Node ln;
  ln.name = ctx.node.name + "/LayerNormalization";
  ln.op_type = "LayerNormalization";
  ln.opset = 17;
  ln.outputs = {"y"};
  ln.attrs.set("axis", int64_t(-1));
  ln.attrs.set("epsilon", ctx.attrs().get_float("epsilon", 1e-5f));
  Tensor y = run_cpu_reference(ln, {&x, &ctx.input(1), ctx.has_input(2) ? &ctx.input(2) : nullptr});

  // The kernel's row map, one picture at a time (its rows fit 32 bits: patch_rows_geometry);
  // the tests check it against the 6-D gather it stands for.
  const int64_t hw = g.height * g.width;
  const norm::PatchRowMap map{uint32_t(g.height), uint32_t(g.width), uint32_t(p)};
  Tensor rows(y.dtype(), {B, hw / (p * p), p * p * C});
  const size_t row_bytes = size_t(C) * dtype_size(y.dtype());
  const auto* src = static_cast<const unsigned char*>(y.raw());
  auto* dst = static_cast<unsigned char*>(rows.raw());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < hw; ++t)
      std::memcpy(dst + size_t(b * hw + map(uint32_t(t))) * row_bytes, src + size_t(b * hw + t) * row_bytes, row_bytes);
  return {y, rows};
}

}  // namespace

PatchRowsGeometry patch_rows_geometry(const OpContextBase& ctx) {
  for (const char* a : {"height", "width", "patch"})
    if (!ctx.attrs().has(a)) ctx.invalid(std::string("the ") + a + " attribute is required");
  PatchRowsGeometry g{ctx.attrs().get_int("height"), ctx.attrs().get_int("width"), ctx.attrs().get_int("patch")};
  if (g.height < 1 || g.width < 1 || g.patch < 1)
    ctx.invalid("height " + str(g.height) + ", width " + str(g.width) + " and patch " + str(g.patch) +
                " must be positive");
  // The CUDA kernel maps rows in 32 bits; a picture this large has no exported counterpart.
  if (g.height > (int64_t(1) << 31) / g.width)
    ctx.invalid("height x width " + str(g.height) + " x " + str(g.width) + " must be below 2^31");
  if (g.height % g.patch != 0 || g.width % g.patch != 0)
    ctx.invalid("patch " + str(g.patch) + " must divide height " + str(g.height) + " and width " + str(g.width));
  return g;
}

void register_layer_norm_patch_rows(OpRegistry& r) {
  r.add({.domain = kKilnDomain, .name = kLayerNormPatchRowsOp, .min_inputs = 2, .max_inputs = 3, .min_outputs = 2,
         .max_outputs = 2, .infer = infer, .cpu = cpu});
}

}  // namespace kiln::norm
