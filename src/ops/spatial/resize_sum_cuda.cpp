// Host side of ResizeSum on the GPU: the plan and taps of the CPU reference (plan_resize_sum),
// uploaded once per plan, which inputs and the output allow 16-byte accesses, and the 32-bit
// limits the kernel's offsets rely on.
#include <cstdint>
#include <string>

#include "ops/spatial/resize_sum_params.h"
#include "ops/spatial/spatial_cuda.h"

namespace kiln::spatial {
namespace {

static_assert(kResizeSumSlots == kResizeSumMaxInputs);

ResizeSumTaps::Axis upload(const AxisTaps& t, CudaStream stream) {
  std::vector<int32_t> idx(t.index.begin(), t.index.end());
  std::vector<float> w(t.weight.begin(), t.weight.end());
  const int64_t n = int64_t(idx.size());
  return {to_device(Tensor::from_vector<int32_t>({n}, idx), stream), to_device(Tensor::from_vector<float>({n}, w), stream)};
}

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

}  // namespace

ResizeSumParams resize_sum_params(CudaKernelContext& ctx, const ResizeSumPlan& plan,
                                  const std::vector<const DeviceTensor*>& xs, int64_t output_elements,
                                  ResizeSumTaps& taps) {
  constexpr int64_t kLimit = int64_t(1) << 31;
  const DType dt = xs.at(0)->dtype;
  const int64_t elem = int64_t(dtype_size(dt));
  for (int64_t e : {plan.batch * plan.channels * plan.height * plan.width, output_elements,
                    resize_sum_blocks(elem, plan.batch, plan.channels, plan.height, plan.width)})
    if (e >= kLimit) ctx.unsupported("a ResizeSum with " + std::to_string(e) + " elements or tiles has no CUDA kernel");
  for (const DeviceTensor* x : xs)
    if (x->numel() >= kLimit) ctx.unsupported("a ResizeSum input of 2^31 elements or more has no CUDA kernel");
  if (taps.rows.empty())
    for (const ResizeSumInput& in : plan.inputs) {
      taps.rows.push_back(upload(in.rows, ctx.stream()));
      taps.cols.push_back(upload(in.cols, ctx.stream()));
    }
  ResizeSumParams p;
  p.inputs = int(plan.inputs.size());
  p.batch = int(plan.batch), p.channels = int(plan.channels), p.height = int(plan.height), p.width = int(plan.width);
  p.relu = plan.relu;
  const int64_t vec = 16 / elem;  // elements per 16-byte access
  for (size_t i = 0; i < plan.inputs.size(); ++i) {
    const ResizeSumInput& in = plan.inputs[i];
    ResizeSumSource& s = p.in[i];
    s.x = xs[i]->data();
    s.row_index = taps.rows[i].index.ptr<int32_t>(), s.row_weight = taps.rows[i].weight.ptr<float>();
    s.col_index = taps.cols[i].index.ptr<int32_t>(), s.col_weight = taps.cols[i].weight.ptr<float>();
    s.in_h = int(in.height), s.in_w = int(in.width);
    s.tokens = in.tokens;
    s.vec = in.tokens && plan.channels % vec == 0 && aligned16(s.x);
  }
  return p;
}

void resize_sum_cuda(CudaKernelContext& ctx) {
  ctx.require_dtype(0, {DType::kF32, DType::kF16});
  const DType dt = ctx.input(0).dtype;
  std::vector<Dims> dims;
  std::vector<const DeviceTensor*> xs;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (ctx.input(i).dtype != dt) ctx.invalid("inputs of different dtypes");
    dims.push_back(ctx.input(i).dims);
    xs.push_back(&ctx.input(i));
  }
  const ResizeSumPlan plan = plan_resize_sum(ctx, dims);
  ResizeSumParams p = resize_sum_params(ctx, plan, xs, 0, ctx.state<ResizeSumTaps>());
  DeviceTensor& y = ctx.alloc_output(0);
  if (y.numel() == 0) return;
  p.y = y.data();
  p.vec_store = plan.width % (16 / int64_t(dtype_size(dt))) == 0 && aligned16(p.y);
  launch_resize_sum(dt, p, ctx.stream());
}

}  // namespace kiln::spatial
