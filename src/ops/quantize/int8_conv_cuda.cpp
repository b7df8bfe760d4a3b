// kiln.Int8Conv on the GPU, three launches:
//   1. X → int8 windows cols [N, Pp, Kp] (int8_im2col.cu): Pp = oh·ow and Kp = C·kh·kw rounded up
//      to 16, the alignment int8 tensor cores need;
//   2. per image acc [O, Pp] = W [O, Kp] · colsᵀ in exact int32 — cuBLASLt's int8 kernels as one
//      strided batch (W shared), or the dp4a kernel where cuBLASLt has none; never a float GEMM;
//   3. the float epilogue into Y [N, O, oh, ow] (int8_conv_epilogue.cu): acc's rows are already
//      NCHW's channel planes.
// W is used in place when K is a multiple of 16 and it is 16-byte aligned, else a zero-padded
// copy [O, Kp] is made once per node; W must be a constant.
#include <cstring>

#include "ops/linear/linear_ops.h"
#include "ops/quantize/int8_conv.h"
#include "ops/quantize/quantize_cuda.h"
#include "ops/quantize/quantize_kernels.h"
#include "runtime/cuda/cuda_kernel_context.h"
#include "runtime/cuda/kernel_state.h"

namespace kiln::quant {
namespace {

struct Int8ConvState : KernelState {
  DeviceTensor padded_w;  // W [O, Kp] with zeros, when W itself cannot be used
};

}  // namespace

void int8_conv_cuda(CudaKernelContext& ctx) {
  const DeviceTensor& x = ctx.input(0);
  const DeviceTensor& w = ctx.input(2);
  const DeviceTensor& ws = ctx.input(3);
  const std::optional<Int8Operand> bias = int8_operand_if(ctx, 4), z = int8_operand_if(ctx, 5);
  const Int8ConvProblem p = int8_conv_problem(ctx, {x.dtype, x.dims}, {ctx.input(1).dtype, ctx.input(1).dims},
                                              {w.dtype, w.dims}, {ws.dtype, ws.dims}, bias, z);
  const Tensor& host_w = ctx.require_constant(2, "W");
  const linear::EpilogueActivation act = linear::epilogue_activation(ctx);
  if (p.n > 65535) ctx.unsupported("an Int8Conv batch of more than 65535 images has no CUDA kernel");
  DeviceTensor& y = ctx.alloc_output(0);
  if (y.numel() == 0) return;
  const int64_t k = p.k(), kp = int8_padded(k), pp = int8_padded(p.p());

  const int8_t* wk = w.ptr<int8_t>();
  if (kp != k || (reinterpret_cast<uintptr_t>(wk) & 15)) {
    bool fresh = false;
    Int8ConvState& st = ctx.state<Int8ConvState>(&fresh);
    if (fresh) {
      std::vector<int8_t> v(size_t(p.o * kp), 0);
      for (int64_t r = 0; r < p.o; ++r) std::memcpy(&v[size_t(r * kp)], host_w.data<int8_t>() + r * k, size_t(k));
      st.padded_w = to_device(Tensor::from_vector<int8_t>({p.o, kp}, v), ctx.stream());
    }
    wk = st.padded_w.ptr<int8_t>();
  }
  Int8ConvGeom g;
  g.c = p.c, g.h = p.h, g.w = p.w, g.oh = p.oh, g.ow = p.ow, g.kh = p.kh, g.kw = p.kw;
  g.sh = p.sh, g.sw = p.sw, g.dh = p.dh, g.dw = p.dw, g.ph = p.ph, g.pw = p.pw;
  // Scratch lives in these locals until the launches below are queued.
  DeviceTensor cols = ctx.scratch(DType::kI8, {p.n, pp, kp});
  DeviceTensor acc = ctx.scratch(DType::kI32, {p.n, p.o, pp});
  launch_int8_im2col(x.dtype, x.data(), ctx.input(1).ptr<float>(), cols.ptr<int8_t>(), p.n, g, pp, kp, ctx.stream());
  const Int8Batch batch{p.n, 0, pp * kp, p.o * pp};
  if (int8_gemm_lt(ctx.session, wk, cols.ptr<int8_t>(), acc.ptr<int32_t>(), p.o, pp, kp, batch)) {
    ctx.library = "kiln+cuBLASLt";
  } else {
    if ((pp + 15) / 16 > 65535) ctx.unsupported("an Int8Conv output of " + std::to_string(p.oh * p.ow) + " pixels is beyond the int8 fallback kernel's grid (cuBLASLt has no int8 algorithm for it)");
    launch_int8_gemm_dp4a(wk, cols.ptr<int8_t>(), acc.ptr<int32_t>(), p.o, pp, kp, ctx.stream(), batch.count,
                          batch.stride_x, batch.stride_w, batch.stride_acc);
    ctx.library = "kiln";
  }
  Int8ConvEpilogueCall e;
  e.acc = acc.ptr<int32_t>(), e.op = p.o, e.pp = pp;
  e.x_scale = ctx.input(1).ptr<float>(), e.w_scale = ws.ptr<float>(), e.per_channel = p.per_channel;
  e.bias = bias ? ctx.input(4).data() : nullptr;
  e.z = z ? ctx.input(5).data() : nullptr;
  e.y = y.data(), e.y_type = y.dtype;
  e.n = p.n, e.o = p.o, e.p = p.p();
  e.act = act;
  launch_int8_conv_epilogue(e, ctx.stream());
}

}  // namespace kiln::quant
