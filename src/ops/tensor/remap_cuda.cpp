// Host side of kiln.Remap on the GPU: the stages parsed, checked and composed once per plan
// (kept in the node's state; the widening, which depends on addresses, once per run). No piecewise axis left means the map is a strided view: the shared
// strided copy runs it (memcpy, 2-D copies, tiled transposes, wide elements). Otherwise the
// remap kernel, on 16/8/4-byte elements where the innermost run and every offset allow.
#include <cstring>
#include <optional>

#include "ops/op_util.h"
#include "ops/tensor/remap.h"
#include "ops/tensor/remap_compile.h"
#include "ops/tensor/tensor_cuda.h"
#include "runtime/cuda/cuda_kernel_context.h"
#include "runtime/cuda/kernel_state.h"
#include "runtime/cuda/strided_copy.h"

namespace kiln::tensor_ops {

namespace {

struct RemapState : KernelState {
  std::vector<unsigned char> fill;       // one element's bytes
  std::optional<RemapProgram> program;   // unwidened; composed at the first non-empty run
};

}  // namespace

void remap_cuda(CudaKernelContext& ctx) {
  const DeviceTensor& x = ctx.input(0);
  bool fresh = false;
  RemapState& st = ctx.state<RemapState>(&fresh);
  if (fresh) {  // a plan's shapes are fixed: what depends only on them is done once
    const std::vector<RemapStage> stages = remap_stages(ctx);
    remap_output_dims(ctx, stages, x.dims);
    const Tensor* fill_input = ctx.has_input(1) ? &ctx.require_constant(1, "kiln.Remap's fill") : nullptr;
    st.fill = remap_fill_bytes(ctx, x.dtype, fill_input);
    if (numel_of(ctx.output_dims(0)) > 0) {
      st.program = compile_remap(stages, x.dims);
      if (!st.program)
        ctx.unsupported("these stages do not compose into one index map for the GPU (a pad or pieces stage on a dim "
                        "that an earlier reshape merged or split, or more than " +
                        std::to_string(kRemapMaxFactors) + " factors / " + std::to_string(kRemapMaxAxes) +
                        " padded or rolled axes)");
    }
  }
  DeviceTensor& y = ctx.alloc_output(0);
  if (y.numel() == 0) return;
  RemapProgram program = *st.program;
  RemapProgram* p = &program;
  const size_t es = dtype_size(x.dtype);
  if (p->axes == 0) {
    Dims dims, from;
    for (int f = 0; f < p->factors; ++f) dims.push_back(p->size[f]), from.push_back(p->stride[f]);
    if (dims.empty()) dims = {1}, from = {1};
    const cuda::StridedLayout l = cuda::make_layout(dims, {contiguous_strides(dims), from});
    cuda::strided_copy(static_cast<const char*>(x.data()) + p->base * int64_t(es), y.data(), es, l, ctx.stream());
    return;
  }
  const uintptr_t addresses = reinterpret_cast<uintptr_t>(x.data()) | reinterpret_cast<uintptr_t>(y.data());
  size_t width = es;
  for (size_t bytes : {size_t(16), size_t(8), size_t(4)})
    if (bytes > es && addresses % bytes == 0 && widen_remap(*p, int64_t(bytes / es))) {
      width = bytes;
      break;
    }
  std::vector<unsigned char> wide_fill(width);
  for (size_t i = 0; i < width; i += es) std::memcpy(wide_fill.data() + i, st.fill.data(), es);
  launch_remap(x.data(), y.data(), width, *p, wide_fill.data(), ctx.stream());
}

}  // namespace kiln::tensor_ops
