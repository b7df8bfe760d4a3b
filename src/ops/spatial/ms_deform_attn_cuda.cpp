// Host side of MSDeformAttn on the GPU: the levels come from constant spatial_shapes and
// level_start_index (folded from shapes in every exported model; specialization folds them for
// dynamic engines), checked on the host as the CPU reference checks them, so the kernel cannot
// read outside value; they travel in the kernel's parameters. Picks 16-byte accesses where
// head_dim and the pointers allow, and checks the 32-bit limits the kernel's offsets rely on.
#include <cstdint>
#include <string>

#include "ops/spatial/ms_deform_attn.h"
#include "ops/spatial/ms_deform_attn_launch.h"
#include "ops/spatial/spatial_cuda.h"
#include "runtime/cuda/cuda_kernel_context.h"

namespace kiln::spatial {
namespace {

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

}  // namespace

void ms_deform_attn_cuda(CudaKernelContext& ctx) {
  ctx.require_dtype(0, {DType::kF32, DType::kF16});
  ctx.require_dtype(3, {DType::kF32, DType::kF16});
  ctx.require_dtype(4, {DType::kF32, DType::kF16});
  std::vector<Dims> dims;
  for (size_t i = 0; i < 5; ++i) dims.push_back(ctx.input(i).dims);
  const MsDeformAttnDims d = ms_deform_attn_dims(ctx, dims);
  const std::vector<MsDeformLevel> levels =
      ms_deform_attn_levels(ctx, ctx.require_constant(1, "MSDeformAttn spatial_shapes"),
                            ctx.require_constant(2, "MSDeformAttn level_start_index"), d);
  if (d.levels > kMsDeformMaxLevels)
    ctx.unsupported(std::to_string(d.levels) + " levels: the CUDA kernel takes up to " +
                    std::to_string(kMsDeformMaxLevels));
  constexpr int64_t kLimit = int64_t(1) << 31;
  for (size_t i : {size_t(0), size_t(3), size_t(4)})
    if (ctx.input(i).numel() >= kLimit) ctx.unsupported("an MSDeformAttn input of 2^31 elements or more has no CUDA kernel");
  DeviceTensor& y = ctx.alloc_output(0);
  if (y.numel() >= kLimit) ctx.unsupported("an MSDeformAttn output of 2^31 elements or more has no CUDA kernel");
  if (y.numel() == 0) return;
  MsDeformAttnParams p;
  p.value = ctx.input(0).data(), p.loc = ctx.input(3).data(), p.attn = ctx.input(4).data(), p.out = y.data();
  p.batch = int(d.batch), p.tokens = int(d.tokens), p.heads = int(d.heads), p.head_dim = int(d.head_dim);
  p.queries = int(d.queries), p.levels = int(d.levels), p.points = int(d.points);
  for (size_t l = 0; l < levels.size(); ++l) {
    p.level_h[l] = int(levels[l].height), p.level_w[l] = int(levels[l].width), p.level_start[l] = int(levels[l].start);
  }
  const DType dt = ctx.input(0).dtype;
  const int64_t vec = 16 / int64_t(dtype_size(dt));
  // Every group starts at a multiple of head_dim elements: aligned where the base pointers are.
  p.vec = d.head_dim % vec == 0 && aligned16(p.value) && aligned16(p.out) ? int(vec) : 1;
  p.group = ms_deform_group(d.head_dim, p.vec);
  launch_ms_deform_attn(dt, ctx.input(3).dtype, ctx.input(4).dtype, p, ctx.stream());
}

}  // namespace kiln::spatial
