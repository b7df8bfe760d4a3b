// Host side of ResizeSum on the GPU: the plan and taps of the CPU reference (plan_resize_sum),
// uploaded once per plan, which inputs and the output allow 16-byte accesses, how the kernel
// reads each input (identity copy, staged through shared memory, or tap by tap) and the 32-bit
// limits the kernel's offsets rely on.
#include <algorithm>
#include <cstdint>
#include <string>

#include "ops/spatial/resize_sum.h"
#include "ops/spatial/resize_sum_cuda.h"
#include "ops/spatial/resize_sum_launch.h"
#include "ops/spatial/spatial_cuda.h"
#include "runtime/cuda/cuda_kernel_context.h"

namespace kiln::spatial {
namespace {

static_assert(kResizeSumSlots == kResizeSumMaxInputs);

DeviceAxis upload(const AxisTaps& t, CudaStream stream) {
  std::vector<int32_t> idx(t.index.begin(), t.index.end());
  std::vector<float> w(t.weight.begin(), t.weight.end());
  const int64_t n = int64_t(idx.size());
  return {to_device(Tensor::from_vector<int32_t>({n}, idx), stream), to_device(Tensor::from_vector<float>({n}, w), stream)};
}

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

// Columns one x tile reads, from its first pixel's first tap on (the kernel's `lo`), at most;
// 0 when some tile reads a column left of that (taps that decrease: not staged).
int64_t stage_span(const AxisTaps& t) {
  int64_t span = 0;
  for (int64_t x0 = 0; x0 < t.out; x0 += kResizeSumTileX) {
    const int64_t lo = t.index[size_t(2 * x0)], end = std::min(t.out, x0 + kResizeSumTileX);
    int64_t hi = lo;
    for (size_t k = size_t(2 * x0); k < size_t(2 * end); ++k) {
      if (t.index[k] < lo) return 0;
      hi = std::max(hi, t.index[k]);
    }
    span = std::max(span, hi - lo + 1);
  }
  return span;
}

}  // namespace

const ResizeSumTaps& resize_sum_taps(CudaKernelContext& ctx, const ResizeSumPlan& plan) {
  bool fresh = false;
  ResizeSumTaps& st = ctx.state<ResizeSumTaps>(&fresh);
  if (fresh)
    for (const ResizeSumInput& in : plan.inputs) {
      st.rows.push_back(upload(in.rows, ctx.stream()));
      st.cols.push_back(upload(in.cols, ctx.stream()));
    }
  return st;
}

void resize_sum_cuda(CudaKernelContext& ctx) {
  ctx.require_dtype(0, {DType::kF32, DType::kF16});
  const DType dt = ctx.input(0).dtype;
  std::vector<Dims> dims;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (ctx.input(i).dtype != dt) ctx.invalid("inputs of different dtypes");
    dims.push_back(ctx.input(i).dims);
  }
  const ResizeSumPlan plan = plan_resize_sum(ctx, dims);
  constexpr int64_t kLimit = int64_t(1) << 31;
  const int64_t elem = int64_t(dtype_size(dt));
  for (int64_t e : {plan.batch * plan.channels * plan.height * plan.width,
                    resize_sum_tiles(elem, plan.batch, plan.channels, plan.height, plan.width)})
    if (e >= kLimit) ctx.unsupported("a ResizeSum with " + std::to_string(e) + " elements or tiles has no CUDA kernel");
  for (size_t i = 0; i < dims.size(); ++i)
    if (ctx.input(i).numel() >= kLimit) ctx.unsupported("a ResizeSum input of 2^31 elements or more has no CUDA kernel");
  DeviceTensor& y = ctx.alloc_output(0);
  if (y.numel() == 0) return;
  const ResizeSumTaps& st = resize_sum_taps(ctx, plan);
  ResizeSumParams p;
  p.inputs = int(plan.inputs.size());
  p.y = y.data();
  p.batch = int(plan.batch), p.channels = int(plan.channels), p.height = int(plan.height), p.width = int(plan.width);
  p.relu = plan.relu;
  const int64_t vec = 16 / elem;  // elements per 16-byte access
  p.vec_store = plan.width % vec == 0 && aligned16(p.y);
  for (size_t i = 0; i < plan.inputs.size(); ++i) {
    const ResizeSumInput& in = plan.inputs[i];
    ResizeSumSource& s = p.in[i];
    s.x = ctx.input(i).data();
    s.row_index = st.rows[i].index.ptr<int32_t>(), s.row_weight = st.rows[i].weight.ptr<float>();
    s.col_index = st.cols[i].index.ptr<int32_t>(), s.col_weight = st.cols[i].weight.ptr<float>();
    s.in_h = int(in.height), s.in_w = int(in.width);
    s.tokens = in.tokens;
    s.vec = in.tokens && plan.channels % vec == 0 && aligned16(s.x);
    if (s.vec && p.ident < 0 && taps_copy(in.rows) && taps_copy(in.cols)) p.ident = int(i), p.ident_x = s.x;
  }
  // Shared memory: the output tile, the identity's two buffers, then staged inputs in input
  // order while they fit the budget (the rest go tap by tap).
  int64_t smem = kResizeSumOutTileBytes;
  if (p.ident >= 0) p.ident_off = int(smem), smem += 2 * kResizeSumOutTileBytes;
  for (size_t i = 0; i < plan.inputs.size(); ++i) {
    ResizeSumSource& s = p.in[i];
    const int64_t span = stage_span(plan.inputs[i].cols);
    const int64_t bytes = kResizeSumTapBytes + span * resize_sum_column_bytes(elem);
    if (!s.vec || int(i) == p.ident || span == 0 || smem + bytes > kResizeSumSmemBudget) continue;
    s.stage = int(smem), s.span = int(span), s.stage_rank = p.staged++, s.stage_first = p.stage_items;
    p.stage_items += int(span) * (kResizeSumTileBytes / 16);
    smem += bytes;
  }
  p.smem_bytes = int(smem);
  launch_resize_sum(dt, p, ctx.stream());
}

}  // namespace kiln::spatial
