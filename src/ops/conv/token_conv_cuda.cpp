// Host side of kiln.TokenConv on the GPU: the checks of the CPU reference (token_conv_type), then
// the Hopper kernel (token_conv_wgmma.cu) — the only one: a GPU, type or width it lacks is
// refused naming the pass that makes the node, not run another way.
#include <string>

#include "ops/conv/conv_cuda.h"
#include "ops/conv/token_conv.h"
#include "ops/conv/token_conv_launch.h"
#include "runtime/cuda/cuda_kernel_context.h"

namespace kiln::conv {

void token_conv_cuda(CudaKernelContext& ctx) {
  const DeviceTensor& x = ctx.input(0);
  const DeviceTensor& w = ctx.input(1);
  const bool has_bias = ctx.has_input(2);
  const DType bt = has_bias ? ctx.input(2).dtype : DType::kF32;
  const Shape xs = shape_of(x.dims), ws = shape_of(w.dims);
  const Shape bs = has_bias ? shape_of(ctx.input(2).dims) : Shape{};
  std::vector<Axis> axes;
  token_conv_type(ctx, x.dtype, w.dtype, has_bias ? &bt : nullptr, &xs, &ws, has_bias ? &bs : nullptr, &axes);
  const std::string rebuild = "; rebuild the engine with --disable-pass fuse_token_conv";
  if (x.dtype != DType::kF16)
    ctx.unsupported(std::string("a TokenConv of ") + dtype_name(x.dtype) + " tokens has no CUDA kernel (it takes float16)" +
                    rebuild);
  const Axis &h = axes[0], &v = axes[1];
  TokenConvParams p;
  p.batch = x.dims[0], p.height = h.in, p.width = v.in, p.channels = x.dims[2], p.out_channels = w.dims[1];
  p.out_h = h.out, p.out_w = v.out;
  p.kh = int(h.k), p.kw = int(v.k), p.stride_h = int(h.s), p.stride_w = int(v.s), p.dil_h = int(h.d), p.dil_w = int(v.d);
  p.pad_top = int(h.pb), p.pad_left = int(v.pb);
  DeviceTensor& y = ctx.alloc_output(0);
  if (y.numel() == 0) return;
  p.x = x.data(), p.w = w.data(), p.y = y.data();
  p.bias = has_bias ? ctx.input(2).data() : nullptr;
  p.bias_f32 = bt == DType::kF32, p.y_f32 = y.dtype == DType::kF32;
  if (ctx.has_input(3)) {
    p.scale = ctx.input(3).data();
    p.lb = ctx.has_input(4) ? ctx.input(4).data() : nullptr;
    p.epsilon = ctx.attrs().get_float("epsilon", 1e-5f);
  }
  if (p.scale && !token_conv_norm_fits(p.out_channels))
    ctx.unsupported("kiln.TokenConv's LayerNorm epilogue takes 64 or 128 output channels, not " +
                    std::to_string(p.out_channels) + "; rebuild the engine with --disable-pass fuse_patch_embed_layer_norm");
  if (!token_conv_runs(p))
    ctx.unsupported("kiln.TokenConv runs on Hopper GPUs (compute capability 9.0): " + std::to_string(p.channels) +
                    " input and " + std::to_string(p.out_channels) +
                    " output channels must be multiples of 64, strides 1 to 8, at most 65535 pictures" + rebuild);
  launch_token_conv(p, ctx.stream());
}

}  // namespace kiln::conv
