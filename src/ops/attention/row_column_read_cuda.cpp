// Host side of kiln.RowColumnRead on the GPU: checks shapes, picks the kernel.
//   fp16, D % 8 == 0, D <= 64, V aligned → tensor cores (row_column_read.cu)
//   fp32 (fp32 math, never fp16 or TF32 products), when the CUDA-core kernel has at least two
//        blocks per multiprocessor → CUDA cores (row_column_read_generic.cu); AnchorDETR's
//        encoder read (B 1, 8 heads, L 3800, H 50, W 76, D 32) on an H200: 0.46 ms against
//        0.48-0.50 ms for the two unfused MatMuls
//   fp32 with fewer blocks → per_col [batch, L, W·D] in scratch between two cuBLASLt GEMMs (the
//        unfused MatMuls' own calls: the decoder's read, L 900, ran 0.33 ms on CUDA cores
//        against their 0.145 ms), up to kMaxPerCol bytes of per_col; token layouts (v_tokens,
//        out_tokens) copied to and from the contiguous form around them, as the unfused
//        Transposes did
//   otherwise → the CUDA-core kernel with fp16 storage
#include <cuda_runtime.h>

#include <string>

#include "ops/attention/attention_cuda.h"
#include "ops/attention/row_column_read.h"
#include "ops/attention/row_column_read_launch.h"
#include "ops/linear/linear_cuda.h"
#include "ops/op_util.h"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/cuda_kernel_context.h"
#include "runtime/cuda/strided_copy.h"

namespace kiln::attention {
namespace {

constexpr int64_t kMaxPerCol = int64_t(1) << 30;

// per_col[n] = a_col[n] [L, H] · V[n] [H, W·D]; out[n, l] = a_row[n, l] [1, W] · per_col[n, l] [W, D].
// With a token layout V is first copied into the contiguous form, and the output written there
// and copied out: the GEMMs need [H, W·D] rows (what the unfused graph's Transposes made).
void row_column_read_gemms(CudaKernelContext& ctx, const RowColumnDims& k, RowColumnParams p) {
  DeviceTensor v_plain, out_plain;
  void* out = p.out;
  if (!k.v_plain()) {  // V [y, x, d] at y·v_y + x·v_x + d → [y, x·D + d]: rows y·W + x of D
    v_plain = ctx.scratch(DType::kF32, {k.batch, k.height * k.width, k.head_dim});
    const Dims dims = {k.batch / k.heads, k.heads, k.height, k.width, k.head_dim};
    const Dims from = {k.v_outer, k.v_inner, k.v_y, k.v_x, 1};
    cuda::strided_copy(p.v, v_plain.data(), sizeof(float), cuda::make_layout(dims, {contiguous_strides(dims), from}), ctx.stream());
    p.v = v_plain.data();
  }
  if (!k.out_plain()) {
    out_plain = ctx.scratch(DType::kF32, {k.batch, k.rows, k.head_dim});
    p.out = out_plain.data();
  }
  DeviceTensor per_col = ctx.scratch(DType::kF32, {k.batch, k.rows, k.width * k.head_dim});
  const int64_t wd = k.width * k.head_dim;
  linear::GemmCall g;
  g.dtype = DType::kF32;
  g.m = k.rows, g.n = wd, g.k = k.height;
  g.a = p.a_col, g.lda = k.height, g.stride_a = k.rows * k.height;
  g.b = p.v, g.ldb = wd, g.stride_b = k.height * wd;
  g.c = per_col.data(), g.ldc = wd, g.stride_c = k.rows * wd;
  g.batch = k.batch;
  linear::gemm_lt(ctx.session, g);
  linear::GemmCall r;
  r.dtype = DType::kF32;
  r.m = 1, r.n = k.head_dim, r.k = k.width;
  r.a = p.a_row, r.lda = k.width, r.stride_a = k.width;
  r.b = per_col.data(), r.ldb = k.head_dim, r.stride_b = wd;
  r.c = p.out, r.ldc = k.head_dim, r.stride_c = k.head_dim;
  r.batch = k.batch * k.rows;
  linear::gemm_lt(ctx.session, r);
  if (!k.out_plain()) {
    const Dims dims = {k.batch / k.heads, k.heads, k.rows, k.head_dim};
    const Dims to = {k.o_outer, k.o_inner, k.o_row, 1};
    cuda::strided_copy(p.out, out, sizeof(float), cuda::make_layout(dims, {to, contiguous_strides(dims)}), ctx.stream());
  }
  ctx.library = "cuBLASLt";
}

}  // namespace

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
  p.heads = k.heads;
  p.v_outer = k.v_outer, p.v_inner = k.v_inner, p.v_y = k.v_y, p.v_x = k.v_x;
  p.o_outer = k.o_outer, p.o_inner = k.o_inner, p.o_row = k.o_row;
  const bool f16 = c.dtype == DType::kF16;
  if (f16 && row_column_read_f16_fits(p)) return launch_row_column_read_f16(p, ctx.stream());
  if (!f16 && !row_column_read_generic_fills(p) && k.batch * k.rows * k.width * k.head_dim * 4 <= kMaxPerCol &&
      k.batch * k.rows <= 0x7fffffff)
    return row_column_read_gemms(ctx, k, p);
  launch_row_column_read_generic(p, f16, ctx.stream());
}

}  // namespace kiln::attention
