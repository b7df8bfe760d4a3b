// Groups-1 convolutions as a GEMM: the windows rearranged into columns (im2col), then
// Y[n] (C_out x P) = W (C_out x K) . col[n] (K x P), with K = C*kh*kw and P = OH*OW, is one
// cuBLASLt call; W's [C_out, C, kh, kw] storage already is C_out x K row-major. For kernel ==
// stride (SegFormer's 8x8/4x4/2x2 sequence reductions) the windows do not overlap and the copy
// reads each input once; cuDNN's NCHW kernels ran those at ~1% of peak.
#include <string>

#include "ops/conv/conv_paths_cuda.h"
#include "ops/conv/patchify.h"
#include "ops/linear/linear_cuda.h"

namespace kiln::conv {

void conv_as_gemm(CudaKernelContext& ctx, const DeviceTensor& w, const void* cols, int64_t k, int64_t patches,
                  int64_t batch, DeviceTensor& y) {
  const int64_t c_out = w.dims[0];
  linear::GemmCall g;
  g.dtype = w.dtype;
  g.out_dtype = y.dtype;  // an fp32 Y from fp16 operands in mixed convs
  g.m = c_out, g.n = patches, g.k = k;
  g.a = w.data(), g.lda = k, g.stride_a = 0;
  g.b = cols, g.ldb = patches, g.stride_b = k * patches;
  g.c = y.data(), g.ldc = patches, g.stride_c = c_out * patches;
  g.batch = batch;
  linear::gemm_lt(ctx.session, g);
}

size_t im2col_bytes(const DeviceTensor& x, const DeviceTensor& w, const std::vector<Axis>& axes) {
  return size_t(x.dims[0] * x.dims[1] * axes[0].k * axes[1].k * axes[0].out * axes[1].out) * dtype_size(x.dtype);
}

void patchify_conv_forward(CudaKernelContext& ctx, const DeviceTensor& x, const DeviceTensor& w, DeviceTensor& y,
                           const std::vector<Axis>& axes, const DeviceTensor* col_given) {
  const Axis& h = axes[0];
  const Axis& v = axes[1];
  const int64_t n = x.dims[0], c = x.dims[1];
  const int64_t k = c * h.k * v.k, patches = h.out * v.out;
  constexpr int64_t kIndexLimit = int64_t(1) << 30;
  for (int64_t e : {n, c * h.k, h.in * v.in, patches, k, h.in + h.pb + h.extent(), v.in + v.pb + v.extent()})
    if (e >= kIndexLimit)
      ctx.unsupported("a Conv with " + std::to_string(e) + " elements in one extent has no im2col CUDA kernel");
  // Asked for on every run (the plan reserves it in the arena); timing brings its own.
  DeviceTensor col = col_given ? *col_given : ctx.scratch(x.dtype, {n, k, patches});
  PatchifyParams p;
  p.x = x.data(), p.col = col.data();
  p.batch = int(n), p.channels = int(c);
  p.in_h = int(h.in), p.in_w = int(v.in), p.k_h = int(h.k), p.k_w = int(v.k);
  p.out_h = int(h.out), p.out_w = int(v.out);
  p.s_h = int(h.s), p.s_w = int(v.s), p.d_h = int(h.d), p.d_w = int(v.d), p.pad_h = int(h.pb), p.pad_w = int(v.pb);
  launch_patchify(x.dtype, p, ctx.stream());
  conv_as_gemm(ctx, w, col.data(), k, patches, n, y);
}

}  // namespace kiln::conv
