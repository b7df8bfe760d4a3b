// Host side of PatchEmbedTokens on the GPU: the geometry and types the CPU reference checks
// (patch_embed_tokens_type) into the launchers' plain parameters; the tensor-core kernel where it
// fits, else the direct one — the same numbers either way, never a refusal for a valid node. The
// LayerNorm epilogue runs in the tensor-core kernel's registers; after the direct kernel, the
// conv goes to scratch and LayerNormalization's kernel normalizes it into Y.
#include <optional>
#include <string>

#include "ops/conv/conv_cuda.h"
#include "ops/conv/patch_embed_tokens.h"
#include "ops/conv/patch_embed_tokens_launch.h"
#include "ops/norm/layer_norm_launch.h"
#include "runtime/cuda/cuda_kernel_context.h"

namespace kiln::conv {

void patch_embed_tokens_cuda(CudaKernelContext& ctx) {
  ctx.require_dtype(0, {DType::kF32, DType::kF16});
  ctx.require_dtype(1, {DType::kF32, DType::kF16});
  const DeviceTensor& x = ctx.input(0);
  const DeviceTensor& w = ctx.input(1);
  const DeviceTensor* b = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  const DType bt = b ? b->dtype : DType::kF32;
  const Shape xs = shape_of(x.dims), ws = shape_of(w.dims), bs = b ? shape_of(b->dims) : Shape();
  std::vector<Axis> axes;
  const ValueType yt = patch_embed_tokens_type(ctx, x.dtype, w.dtype, b ? &bt : nullptr, &xs, &ws, b ? &bs : nullptr, &axes);
  const Axis &h = axes[0], &v = axes[1];
  constexpr int64_t kLimit = int64_t(1) << 31;
  const int64_t y_numel = x.dims[0] * h.out * v.out * w.dims[1];
  for (int64_t e : {x.numel(), w.numel(), y_numel, h.in + h.pb + h.pe, v.in + v.pb + v.pe, h.extent(), v.extent()})
    if (e >= kLimit)
      ctx.unsupported("a PatchEmbedTokens with " + std::to_string(e) + " elements in one extent has no CUDA kernel");
  const bool norm = ctx.has_input(3);
  if (norm) {
    const DeviceTensor& sc = ctx.input(3);
    const ValueType st{sc.dtype, shape_of(sc.dims)};
    std::optional<ValueType> lt;
    if (ctx.has_input(4)) lt = ValueType{ctx.input(4).dtype, shape_of(ctx.input(4).dims)};
    patch_embed_norm_check(ctx, yt.dtype, &ws, st, lt ? &*lt : nullptr);
  }
  DeviceTensor& y = ctx.alloc_output(0);
  KILN_ASSERT(y.dtype == yt.dtype);
  PatchEmbedParams p;
  p.x = x.data(), p.w = w.data(), p.bias = b ? b->data() : nullptr, p.y = y.data();
  p.x_size = int(dtype_size(x.dtype)), p.w_size = int(dtype_size(w.dtype));
  p.bias_size = b ? int(dtype_size(b->dtype)) : 0, p.y_size = int(dtype_size(y.dtype));
  p.batch = int(x.dims[0]), p.channels = int(x.dims[1]), p.out_channels = int(w.dims[1]);
  p.in_h = int(h.in), p.in_w = int(v.in), p.out_h = int(h.out), p.out_w = int(v.out);
  p.k_h = int(h.k), p.k_w = int(v.k), p.s_h = int(h.s), p.s_w = int(v.s), p.d_h = int(h.d), p.d_w = int(v.d);
  p.p_h = int(h.pb), p.p_w = int(v.pb);
  if (norm) {
    p.scale = ctx.input(3).data();
    p.ln_bias = ctx.has_input(4) ? ctx.input(4).data() : nullptr;
    p.eps = ctx.attrs().get_float("epsilon", 1e-5f);
  }
  if (patch_embed_mma_fits(p)) {
    launch_patch_embed_mma(p, ctx.stream());
    return;
  }
  if (!norm) {
    launch_patch_embed_direct(p, ctx.stream());
    return;
  }
  DeviceTensor conv = ctx.scratch(y.dtype, y.dims);
  p.y = conv.data();
  launch_patch_embed_direct(p, ctx.stream());
  norm::LayerNormArgs a;
  a.x = conv.data(), a.scale = p.scale, a.bias = p.ln_bias, a.y = y.data();
  a.rows = y_numel / w.dims[1], a.inner = w.dims[1], a.eps = p.eps;
  norm::launch_layer_norm(y.dtype, y.dtype, a, ctx.stream());
}

}  // namespace kiln::conv
