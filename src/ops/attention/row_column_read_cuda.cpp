// Host side of kiln.RowColumnRead on the GPU: checks shapes, picks the kernel.
//   fp16, D % 8 == 0, D <= 64, V aligned → tensor cores (row_column_read.cu)
//   fp32                                 → CUDA cores, fp32 math (row_column_read_generic.cu)
//   otherwise                            → the same CUDA-core kernel with fp16 storage
#include <cuda_runtime.h>

#include <string>

#include "ops/attention/attention_cuda.h"
#include "ops/attention/row_column_read.h"
#include "ops/attention/row_column_read_launch.h"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/cuda_kernel_context.h"

namespace kiln::attention {

void row_column_read_cuda(CudaKernelContext& ctx) {
  ctx.require_dtype(0, {DType::kF32, DType::kF16});
  const DeviceTensor &c = ctx.input(0), &r = ctx.input(1), &v = ctx.input(2);
  if (r.dtype != c.dtype || v.dtype != c.dtype) ctx.invalid("a_col, a_row and V must have one dtype");
  const RowColumnDims k = row_column_read_dims(ctx, c.dims, r.dims, v.dims);
  for (int64_t e : {k.rows, k.height, k.width, k.head_dim})
    if (e > 0x7fffffff) ctx.unsupported("dims beyond 2^31 are not supported");
  DeviceTensor& o = ctx.alloc_output(0);
  if (o.numel() == 0) return;
  if (k.height == 0) {  // the empty sum over y
    CUDA_CHECK(cudaMemsetAsync(o.data(), 0, o.nbytes(), ctx.stream()));
    return;
  }
  RowColumnParams p;
  p.a_col = c.data();
  p.a_row = r.data();
  p.v = v.data();
  p.out = o.data();
  p.batch = k.batch;
  p.rows = int(k.rows);
  p.height = int(k.height);
  p.width = int(k.width);
  p.head_dim = int(k.head_dim);
  const bool f16 = c.dtype == DType::kF16;
  if (f16 && row_column_read_f16_fits(p)) return launch_row_column_read_f16(p, ctx.stream());
  launch_row_column_read_generic(p, f16, ctx.stream());
}

}  // namespace kiln::attention
