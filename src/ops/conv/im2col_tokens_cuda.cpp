// Host side of Im2ColTokens on the GPU: the geometry the CPU reference uses (im2col_tokens_shape)
// into the launcher's plain parameters, with the 32-bit index limits the kernels rely on.
#include <string>

#include "ops/conv/conv_cuda.h"
#include "ops/conv/im2col_tokens.h"
#include "ops/conv/im2col_tokens_launch.h"
#include "runtime/cuda/cuda_kernel_context.h"

namespace kiln::conv {

void im2col_tokens_cuda(CudaKernelContext& ctx) {
  ctx.require_dtype(0, {DType::kF32, DType::kF16});
  const DeviceTensor& x = ctx.input(0);
  std::vector<Axis> axes;
  bool tokens = false;
  const Shape y_shape = im2col_tokens_shape(ctx, shape_of(x.dims), &axes, &tokens);
  const Axis &h = axes[0], &v = axes[1];
  constexpr int64_t kLimit = int64_t(1) << 31;
  const int64_t y_numel = x.dims[0] * h.out * v.out * y_shape[2].value;
  for (int64_t e : {x.numel(), y_numel, h.in + h.pb + h.pe, v.in + v.pb + v.pe, h.extent(), v.extent()})
    if (e >= kLimit)
      ctx.unsupported("an Im2ColTokens with " + std::to_string(e) + " elements in one extent has no CUDA kernel");
  DeviceTensor& y = ctx.alloc_output(0);
  Im2ColTokensParams p;
  p.x = x.data(), p.y = y.data(), p.tokens = tokens, p.element_size = int(dtype_size(x.dtype));
  p.batch = int(x.dims[0]), p.channels = int(tokens ? x.dims[2] : x.dims[1]);
  p.in_h = int(h.in), p.in_w = int(v.in), p.out_h = int(h.out), p.out_w = int(v.out);
  p.k_h = int(h.k), p.k_w = int(v.k), p.s_h = int(h.s), p.s_w = int(v.s), p.d_h = int(h.d), p.d_w = int(v.d);
  p.p_h = int(h.pb), p.p_w = int(v.pb);
  launch_im2col_tokens(p, ctx.stream());
}

}  // namespace kiln::conv
