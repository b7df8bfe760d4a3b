// Host side of kiln.AttentionBlock on the GPU: the checks of the CPU reference
// (attention_block_type), then the Hopper kernel (attention_block_wgmma.cu) — the only one: a
// GPU without warpgroup MMAs is refused with the pass that makes the node, not run another way.
#include <cstdint>
#include <string>

#include "ops/attention/attention_block.h"
#include "ops/attention/attention_block_launch.h"
#include "ops/attention/attention_cuda.h"
#include "ops/attention/attention_ops.h"
#include "runtime/cuda/cuda_kernel_context.h"

namespace kiln::attention {

void attention_block_cuda(CudaKernelContext& ctx) {
  std::vector<ValueType> types;
  for (size_t i = 0; i < kAbInputs; ++i) types.push_back({ctx.input(i).dtype, shape_of(ctx.input(i).dims)});
  const ValueType yt = attention_block_type(ctx, types);
  const DeviceTensor& x = ctx.input(kAbX);
  const DeviceTensor& kv = ctx.input(kAbKv);
  const PackedKv l = packed_kv_layout(ctx, kv.dims);
  if (!attention_block_fits(x.dims[2], l.heads))
    ctx.unsupported("an AttentionBlock of " + std::to_string(l.heads) + " heads and " + std::to_string(x.dims[2]) +
                    " channels has no CUDA kernel (it takes one or two heads of 64)");
  constexpr int64_t kLimit = int64_t(1) << 31;
  if (x.dims[1] >= kLimit || l.nk >= kLimit || kv.dims[0] >= kLimit)
    ctx.unsupported("an AttentionBlock of " + std::to_string(x.dims[1]) + " tokens and " + std::to_string(l.nk) +
                    " keys has no CUDA kernel (2^31 at most)");
  if (l.nk == 0 && x.numel() > 0) ctx.unsupported("attention over zero keys has no defined value");
  DeviceTensor& y = ctx.alloc_output(0);
  KILN_ASSERT(y.dtype == yt.dtype);
  if (y.numel() == 0) return;
  AttentionBlockParams p;
  AttentionParams& a = p.attn;
  a.k = kv.data();
  a.v = static_cast<const char*>(kv.data()) + l.v_offset * int64_t(dtype_size(kv.dtype));
  a.sk = a.sv = {l.outer, l.head, l.row};
  a.batch = x.dims[0] * l.heads, a.heads = l.heads;  // the kernels' items: (b, head)
  a.nq = int(x.dims[1]), a.nk = int(l.nk), a.d = a.dv = int(l.d);
  a.scale = attention_scale(ctx, l.d);
  p.x = x.data(), p.y = y.data();
  p.scale = ctx.input(kAbScale).data(), p.shift = ctx.input(kAbShift).data();
  p.wq = ctx.input(kAbWq).data(), p.bq = ctx.input(kAbBq).data();
  p.wo = ctx.input(kAbWo).data(), p.bo = ctx.input(kAbBo).data();
  for (const void* ptr : {p.x, static_cast<const void*>(p.y), p.scale, p.shift, p.wq, p.bq, p.wo, p.bo, a.k})
    KILN_ASSERT(reinterpret_cast<uintptr_t>(ptr) % 16 == 0);  // the arena aligns every value
  p.x_f32 = x.dtype == DType::kF32;
  p.epsilon = ctx.attrs().get_float("epsilon", 1e-5f);
  if (!attention_block_runs(p))
    ctx.unsupported("kiln.AttentionBlock runs on Hopper GPUs (compute capability 9.0) only; rebuild the engine "
                    "with --disable-pass fuse_attention_block");
  launch_attention_block(p, ctx.stream());
}

}  // namespace kiln::attention
