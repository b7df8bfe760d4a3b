// Host side of the depthwise conv kernel: geometry from the shared window code into the
// launcher's plain parameters, with the 31-bit index limits the kernel relies on.
#include <string>

#include "ops/conv/conv_paths_cuda.h"
#include "ops/conv/depthwise_conv.h"

namespace kiln::conv {
namespace {

constexpr int64_t kIndexLimit = int64_t(1) << 30;  // leaves headroom for grid-stride steps

}  // namespace

void depthwise_conv_forward(CudaKernelContext& ctx, const DeviceTensor& x, const DeviceTensor& w,
                            const DeviceTensor* b, DeviceTensor& y, const std::vector<Axis>& axes) {
  const Axis& h = axes[0];
  const Axis& v = axes[1];
  const int64_t planes = x.dims[0] * x.dims[1];
  for (int64_t e : {planes, h.in * v.in, h.out * v.out, h.in + h.pb + h.pe, v.in + v.pb + v.pe, h.extent(),
                    v.extent(), h.k * v.k})
    if (e >= kIndexLimit)
      ctx.unsupported("a depthwise Conv with " + std::to_string(e) + " elements in one extent has no CUDA kernel");
  DepthwiseParams p;
  p.x = x.data(), p.w = w.data(), p.b = b ? b->data() : nullptr, p.y = y.data();
  p.planes = int(planes), p.channels = int(x.dims[1]);
  p.in_h = int(h.in), p.in_w = int(v.in), p.out_h = int(h.out), p.out_w = int(v.out);
  p.k_h = int(h.k), p.k_w = int(v.k), p.s_h = int(h.s), p.s_w = int(v.s), p.d_h = int(h.d), p.d_w = int(v.d);
  p.p_h = int(h.pb), p.p_w = int(v.pb);
  launch_depthwise_conv(x.dtype, p, ctx.stream());
}

}  // namespace kiln::conv
