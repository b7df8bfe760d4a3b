// Host side of MixFFN on the GPU: the checks of the CPU reference (mix_ffn_type), then the
// tensor-core kernels (mix_ffn.cu, mix_ffn_wgmma.cu) for the widths mix_ffn_fits names — the only
// ones fuse_mix_ffn makes; the output LayerNorm (fuse_mix_ffn_norm's) on the wgmma kernel only.
#include <cstdint>
#include <string>

#include "ops/conv/conv_cuda.h"
#include "ops/conv/mix_ffn.h"
#include "ops/conv/mix_ffn_launch.h"
#include "ops/linear/linear_ops.h"
#include "runtime/cuda/cuda_kernel_context.h"

namespace kiln::conv {

void mix_ffn_cuda(CudaKernelContext& ctx) {
  std::vector<ValueType> types;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) types.push_back({ctx.input(i).dtype, shape_of(ctx.input(i).dims)});
  const ValueType yt = mix_ffn_type(ctx, types);
  const DeviceTensor& x = ctx.input(kMixX);
  const int64_t channels = x.dims[2], hidden = ctx.input(kMixW1).dims[1];
  if (!mix_ffn_fits(channels, hidden))
    ctx.unsupported("a MixFFN of " + std::to_string(channels) + " channels and " + std::to_string(hidden) +
                    " hidden ones has no CUDA kernel (it takes 32, 64 or 128 channels and a multiple of 64 hidden)");
  constexpr int64_t kLimit = int64_t(1) << 31;
  if (x.numel() >= kLimit || hidden * channels >= kLimit)
    ctx.unsupported("a MixFFN with " + std::to_string(x.numel()) + " elements has no CUDA kernel (2^31 at most)");
  DeviceTensor& y = ctx.alloc_output(0);
  KILN_ASSERT(y.dtype == yt.dtype);
  MixFfnParams p;
  p.x = x.data(), p.y = y.data();
  p.scale = ctx.input(kMixScale).data(), p.shift = ctx.input(kMixShift).data();
  p.w1 = ctx.input(kMixW1).data(), p.b1 = ctx.input(kMixB1).data();
  p.wd = ctx.input(kMixWd).data(), p.bd = ctx.input(kMixBd).data();
  p.w2 = ctx.input(kMixW2).data(), p.b2 = ctx.input(kMixB2).data();
  for (const void* ptr : {p.x, static_cast<const void*>(p.y), p.scale, p.shift, p.w1, p.b1, p.wd, p.bd, p.w2, p.b2})
    KILN_ASSERT(reinterpret_cast<uintptr_t>(ptr) % 16 == 0);  // the arena aligns every value
  p.x_f32 = x.dtype == DType::kF32;
  p.batch = int(x.dims[0]), p.channels = int(channels), p.hidden = int(hidden);
  p.height = int(ctx.attrs().get_int("height")), p.width = int(ctx.attrs().get_int("width"));
  p.epsilon = ctx.attrs().get_float("epsilon", 1e-5f);
  p.activation = int(linear::epilogue_activation(ctx));
  MixFfnNorm norm;
  if (mix_ffn_normed(ctx.num_inputs())) {
    norm.scale = ctx.input(kMixNormScale).data(), norm.shift = ctx.input(kMixNormShift).data();
    norm.epsilon = ctx.attrs().get_float("norm_epsilon", 1e-5f);
    if (!mix_ffn_uses_wgmma(p))
      ctx.unsupported("a MixFFN that ends in its LayerNorm (fuse_mix_ffn_norm) runs on Hopper GPUs (compute capability "
                      "9.0) with 64 or 128 channels; build with --disable-pass fuse_mix_ffn_norm for this GPU");
  }
  launch_mix_ffn(p, norm, ctx.stream());
}

}  // namespace kiln::conv
