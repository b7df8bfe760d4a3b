// Host side of DwConvMatMul on the GPU: the checks of the CPU reference (dwconv_matmul_type), then
// the wgmma kernel (dwconv_matmul_wgmma.cu) for the widths dwconv_matmul_fits names on a Hopper
// GPU — the only ones fuse_dwconv_matmul makes (a Hopper-only pass: specialize.cpp).
#include <cstdint>
#include <string>

#include "ops/conv/conv_cuda.h"
#include "ops/conv/dwconv_matmul.h"
#include "ops/conv/dwconv_matmul_launch.h"
#include "ops/linear/linear_ops.h"
#include "runtime/cuda/cuda_kernel_context.h"
#include "runtime/cuda/gpu_arch.h"

namespace kiln::conv {

void dwconv_matmul_cuda(CudaKernelContext& ctx) {
  std::vector<ValueType> types;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) types.push_back({ctx.input(i).dtype, shape_of(ctx.input(i).dims)});
  const ValueType yt = dwconv_matmul_type(ctx, types);
  const DeviceTensor& x = ctx.input(kDmX);
  const int64_t channels = x.dims[2], hidden = ctx.input(kDmW2).dims[0];
  if (!dwconv_matmul_fits(channels, hidden))
    ctx.unsupported("a DwConvMatMul of " + std::to_string(channels) + " channels and " + std::to_string(hidden) +
                    " hidden ones has no CUDA kernel (it takes 320 channels and a multiple of 64 hidden)");
  if (!cuda_hopper())
    ctx.unsupported("DwConvMatMul (fuse_dwconv_matmul) runs on Hopper GPUs (compute capability 9.0); build with "
                    "--disable-pass fuse_dwconv_matmul for this GPU");
  constexpr int64_t kLimit = int64_t(1) << 31;
  if (ctx.input(kDmH).numel() >= kLimit)
    ctx.unsupported("a DwConvMatMul with " + std::to_string(ctx.input(kDmH).numel()) +
                    " hidden elements has no CUDA kernel (2^31 at most)");
  DeviceTensor& y = ctx.alloc_output(0);
  KILN_ASSERT(y.dtype == yt.dtype);
  DwConvMatMulParams p;
  p.h = ctx.input(kDmH).data(), p.wd = ctx.input(kDmWd).data(), p.bd = ctx.input(kDmBd).data();
  p.w2 = ctx.input(kDmW2).data(), p.b2 = ctx.input(kDmB2).data(), p.x = x.data(), p.y = y.data();
  for (const void* ptr : {p.h, p.wd, p.bd, p.w2, p.b2, p.x, static_cast<const void*>(p.y)})
    KILN_ASSERT(reinterpret_cast<uintptr_t>(ptr) % 16 == 0);  // the arena aligns every value
  p.x_f32 = x.dtype == DType::kF32;
  p.batch = int(x.dims[0]), p.channels = int(channels), p.hidden = int(hidden);
  p.height = int(ctx.attrs().get_int("height")), p.width = int(ctx.attrs().get_int("width"));
  p.activation = int(linear::epilogue_activation(ctx));
  launch_dwconv_matmul(p, ctx.stream());
}

}  // namespace kiln::conv
