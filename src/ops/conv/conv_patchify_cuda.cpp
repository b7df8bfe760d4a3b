// Kernel == stride convolutions (SegFormer's 8x8/4x4/2x2 sequence reductions) as a GEMM: the
// windows do not overlap, so rearranging them into columns copies each input element once and
// Y[n] (C_out x P) = W (C_out x K) . col[n] (K x P), with K = C*kh*kw and P = OH*OW, is one
// cuBLASLt call; W's [C_out, C, kh, kw] storage already is C_out x K row-major. cuDNN's NCHW
// kernels ran these at ~1% of peak.
#include <string>

#include "ops/conv/conv_paths_cuda.h"
#include "ops/conv/patchify.h"
#include "ops/linear/linear_cuda.h"

namespace kiln::conv {

void patchify_conv_forward(CudaKernelContext& ctx, const DeviceTensor& x, const DeviceTensor& w, DeviceTensor& y,
                           const std::vector<Axis>& axes) {
  const Axis& h = axes[0];
  const Axis& v = axes[1];
  const int64_t n = x.dims[0], c = x.dims[1], c_out = w.dims[0];
  const int64_t k = c * h.k * v.k, patches = h.out * v.out;
  constexpr int64_t kIndexLimit = int64_t(1) << 30;
  for (int64_t e : {n, c * h.k, h.in * v.in, patches, k})
    if (e >= kIndexLimit)
      ctx.unsupported("a kernel == stride Conv with " + std::to_string(e) + " elements in one extent has no CUDA kernel");
  // Asked for on every run (the plan reserves it in the arena).
  DeviceTensor col = ctx.scratch(x.dtype, {n, k, patches});
  PatchifyParams p;
  p.x = x.data(), p.col = col.data();
  p.batch = int(n), p.channels = int(c);
  p.in_h = int(h.in), p.in_w = int(v.in), p.k_h = int(h.k), p.k_w = int(v.k);
  p.out_h = int(h.out), p.out_w = int(v.out);
  launch_patchify(x.dtype, p, ctx.stream());

  linear::GemmCall g;
  g.dtype = x.dtype;
  g.m = c_out, g.n = patches, g.k = k;
  g.a = w.data(), g.lda = k, g.stride_a = 0;
  g.b = col.data(), g.ldb = patches, g.stride_b = k * patches;
  g.c = y.data(), g.ldc = patches, g.stride_c = c_out * patches;
  g.batch = n;
  linear::gemm_lt(ctx.session, g);
}

}  // namespace kiln::conv
