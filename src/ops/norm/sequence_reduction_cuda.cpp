// Host side of kiln.SequenceReduction on the GPU: the checks of the CPU reference
// (sequence_reduction_type), then the Hopper kernel (sequence_reduction_wgmma.cu) — the only one:
// a GPU or width it lacks is refused naming the pass that makes the node, not run another way.
#include <cstdint>
#include <string>

#include "ops/norm/layer_norm_patch_rows.h"
#include "ops/norm/norm_cuda.h"
#include "ops/norm/sequence_reduction.h"
#include "ops/norm/sequence_reduction_launch.h"
#include "runtime/cuda/cuda_kernel_context.h"

namespace kiln::norm {

void sequence_reduction_cuda(CudaKernelContext& ctx) {
  std::vector<ValueType> types;
  for (size_t i = 0; i < kSrInputs; ++i) types.push_back({ctx.input(i).dtype, shape_of(ctx.input(i).dims)});
  sequence_reduction_type(ctx, types);
  const DeviceTensor& x = ctx.input(kSrX);
  const int64_t channels = x.dims[2], n2 = ctx.input(kSrWkv).dims[1];
  if (!sequence_reduction_fits(x.dtype, channels, n2))
    ctx.unsupported("a SequenceReduction of " + std::to_string(channels) + " " + dtype_name(x.dtype) +
                    " channels into " + std::to_string(n2) +
                    " has no CUDA kernel (it takes float32 X, 64 or 128 channels, 2C outputs); rebuild the engine "
                    "with --disable-pass fuse_sequence_reduction");
  const PatchRowsGeometry g = patch_rows_geometry(ctx);
  DeviceTensor& kv = ctx.alloc_output(0);
  if (kv.numel() == 0) return;
  SequenceReductionParams p;
  p.x = x.data(), p.kv = kv.data();
  p.s1 = ctx.input(kSrScale1).data(), p.b1 = ctx.input(kSrShift1).data();
  p.w = ctx.input(kSrW).data(), p.bias = ctx.input(kSrBias).data();
  p.s2 = ctx.input(kSrScale2).data(), p.b2 = ctx.input(kSrShift2).data();
  p.wkv = ctx.input(kSrWkv).data(), p.bkv = ctx.input(kSrBkv).data();
  p.batch = x.dims[0], p.height = g.height, p.width = g.width, p.channels = channels, p.patch = g.patch;
  p.eps1 = ctx.attrs().get_float("epsilon", 1e-5f);
  p.eps2 = ctx.attrs().get_float("epsilon2", 1e-5f);
  if (!sequence_reduction_runs(p))
    ctx.unsupported("kiln.SequenceReduction runs on Hopper GPUs (compute capability 9.0), at most 65535 pictures, "
                    "patches of 2 or more narrower than the picture; rebuild the engine with --disable-pass "
                    "fuse_sequence_reduction");
  launch_sequence_reduction(p, ctx.stream());
}

}  // namespace kiln::norm
