// Host side of kiln.MaskedSoftmax on the GPU: the mask's broadcast strides over X's rows for
// the row kernels of softmax.cu.
#include "ops/op_util.h"
#include "ops/reduce/reduce_cuda.h"
#include "runtime/cuda/cuda_kernel_context.h"

namespace kiln::reduce {

void masked_softmax_cuda(CudaKernelContext& ctx) {
  ctx.require_dtype(0, {DType::kF32, DType::kF16});
  const DeviceTensor &x = ctx.input(0), &mask = ctx.input(1);
  if (mask.dtype != DType::kBool) ctx.invalid("the mask must be bool");
  if (x.rank() < 1 || mask.rank() > x.rank()) ctx.invalid("the mask must broadcast to X of rank >= 1");
  for (int i = 0; i < mask.rank(); ++i) {
    const int64_t md = mask.dims[size_t(i)], xd = x.dims[size_t(x.rank() - mask.rank() + i)];
    if (md != 1 && md != xd)
      ctx.invalid("the mask " + dims_to_string(mask.dims) + " does not broadcast to X " + dims_to_string(x.dims));
  }
  DeviceTensor& y = ctx.alloc_output(0);
  if (y.numel() == 0) return;
  const Dims strides = broadcast_strides(mask.dims, x.dims);
  Dims lead_dims(x.dims.begin(), x.dims.end() - 1), lead_strides(strides.begin(), strides.end() - 1);
  if (lead_dims.empty()) lead_dims = {1}, lead_strides = {0};
  const int64_t n = x.dims.back();
  launch_masked_softmax(x.dtype, x.data(), static_cast<const bool*>(mask.data()), cuda::make_layout(lead_dims, {lead_strides}),
                        strides.back(), y.data(), x.numel() / n, n, ctx.stream());
}

}  // namespace kiln::reduce
