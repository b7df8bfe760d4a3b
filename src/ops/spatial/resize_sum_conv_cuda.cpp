// Host side of ResizeSumConv on the GPU: the CPU reference's checks, the kernel's layout of the
// plan (resize_sum_conv_layout: the sums and convs it takes, the ones fuse_resize_sum_conv
// makes), the taps on the device, then the fused kernel: the wgmma one (resize_sum_conv_wgmma.cu)
// where its layout fits on Hopper, else the mma.sync one (resize_sum_conv.cu).
#include <cstdint>
#include <string>

#include "ops/spatial/resize_sum_conv.h"
#include "ops/spatial/resize_sum_conv_launch.h"
#include "ops/spatial/resize_sum_cuda.h"
#include "ops/spatial/spatial_cuda.h"
#include "runtime/cuda/cuda_kernel_context.h"
#include "runtime/cuda/tensor_map.h"

namespace kiln::spatial {
namespace {

// `count` [rows, width] fp16 matrices back to back, as one row stack of `count` heads.
cuda::RowStack stacked_rows(const void* base, int64_t count, int64_t rows, int64_t width) {
  cuda::RowStack s = cuda::matrix_rows(base, rows, width);
  s.heads = count, s.outer = s.head * count;
  return s;
}

// The kernel gives every copy (channel, row, stack, 0) coordinates: each stack here has its
// rows inner (rows_head_inner false).
CUtensorMap row_map(CudaKernelContext& ctx, const cuda::RowStack& s, int box_rows) {
  if (!cuda::tiled_rows_fit(s)) ctx.unsupported("a ResizeSumConv operand is not 16-byte aligned or too large for TMA");
  KILN_ASSERT(!cuda::rows_head_inner(s));
  return cuda::tiled_rows_map(s, box_rows);
}

// W's rows and, when projected, Wp's: both kernels stage them alike.
void weight_maps(CudaKernelContext& ctx, const ResizeSumConvParams& p, RscMaps& m) {
  if (p.projected) m.wp = row_map(ctx, cuda::matrix_rows(p.wp, kRscChunk, p.channels), kRscChunk);
  m.w = row_map(ctx, cuda::matrix_rows(p.w, p.classes, p.channels), 32 * p.nt);
}

// The mma.sync kernel's maps: each banded input's source rows, the identity's and x0's pixels.
RscMaps staging_maps(CudaKernelContext& ctx, const ResizeSumConvParams& p) {
  RscMaps m{};
  for (int i = 0; i < p.banded; ++i) {  // rows of in_w columns, batch · in_h of them
    const RscSource& s = p.in[i];
    m.in[i] = row_map(ctx, stacked_rows(s.x, int64_t(p.batch) * s.in_h, s.in_w, p.channels), s.cols);
  }
  const int64_t count = int64_t(p.batch) * p.height * p.width;
  if (p.ident) m.ident = row_map(ctx, cuda::matrix_rows(p.ident, count, p.channels), kRscTileX);
  if (p.projected) m.x0 = row_map(ctx, cuda::matrix_rows(p.x0, count, kRscChunk), kRscTileX);
  weight_maps(ctx, p, m);
  return m;
}

// The wgmma kernel's maps: token windows (channel, column, row, image) of each slot's window, of
// the identity's and x0's 8 x 8 pixels; W's and Wp's rows as the mma.sync kernel's.
RscMaps window_maps(CudaKernelContext& ctx, const ResizeSumConvParams& p) {
  const auto map = [&](const void* base, int64_t h, int64_t w, int64_t c, int rows, int cols) {
    cuda::TokenWindows t;
    t.base = base, t.batch = p.batch, t.height = h, t.width = w, t.channels = c;
    t.box_w = uint32_t(cols), t.box_h = uint32_t(rows);
    if (!cuda::token_window_fits(t)) ctx.unsupported("a ResizeSumConv operand is not 16-byte aligned or too large for TMA");
    return cuda::token_window_map(t);
  };
  RscMaps m{};
  for (int i = 0; i < p.banded; ++i) {
    const RscSource& s = p.in[i];
    m.in[i] = map(s.x, s.in_h, s.in_w, p.channels, s.rows, s.cols);
  }
  if (p.ident) m.ident = map(p.ident, p.height, p.width, p.channels, kRscWinTile, kRscWinTile);
  if (p.projected) m.x0 = map(p.x0, p.height, p.width, kRscChunk, kRscWinTile, kRscWinTile);
  weight_maps(ctx, p, m);
  return m;
}

}  // namespace

void resize_sum_conv_cuda(CudaKernelContext& ctx) {
  const size_t n = ctx.num_inputs();
  std::vector<ValueType> types;
  std::vector<Dims> dims;
  for (size_t i = 0; i < n; ++i) {
    types.push_back({ctx.input(i).dtype, shape_of(ctx.input(i).dims)});
    dims.push_back(ctx.input(i).dims);
  }
  resize_sum_conv_type(ctx, types);
  const ResizeSumPlan plan = plan_resize_sum_conv(ctx, dims);
  const auto [maps, projected] = resize_sum_conv_inputs(ctx, n);
  const DeviceTensor& w = ctx.input(maps);
  const DeviceTensor& b = ctx.input(maps + 1);
  const int64_t classes = w.dims[0];
  const int64_t cin = projected >= 0 ? ctx.input(size_t(projected)).dims.back() : 0;
  std::string why = "float32 (the kernel sums float16)";
  const std::optional<RscLayout> l = ctx.input(0).dtype == DType::kF16
                                         ? resize_sum_conv_layout(plan, classes, projected, cin, &why)
                                         : std::nullopt;
  if (!l) ctx.unsupported("this ResizeSumConv has no CUDA kernel: " + why);
  constexpr int64_t kLimit = int64_t(1) << 31;
  for (size_t i = 0; i < maps; ++i)
    if (ctx.input(i).numel() >= kLimit) ctx.unsupported("a ResizeSumConv input of 2^31 elements or more has no CUDA kernel");
  if (resize_sum_conv_tiles(plan.batch, plan.height, plan.width) >= kLimit)
    ctx.unsupported("a ResizeSumConv of 2^31 tiles or more has no CUDA kernel");
  for (size_t i = 0; i + 1 < n; ++i)  // 16-byte copies (the arena's and the weights' allocations are)
    if ((reinterpret_cast<uintptr_t>(ctx.input(i).data()) & 15) != 0)
      ctx.unsupported("input " + std::to_string(i) + " is not 16-byte aligned");
  DeviceTensor& y = ctx.alloc_output(0);
  if (y.numel() == 0) return;
  const ResizeSumTaps& taps = resize_sum_taps(ctx, plan);
  ResizeSumConvParams p;
  for (int i = 0; i < l->banded; ++i) {
    const size_t k = size_t(l->input[i]);
    RscSource& s = p.in[i];
    s.x = ctx.input(k).data();
    s.row_index = taps.rows[k].index.ptr<int32_t>(), s.row_weight = taps.rows[k].weight.ptr<float>();
    s.col_index = taps.cols[k].index.ptr<int32_t>(), s.col_weight = taps.cols[k].weight.ptr<float>();
    s.in_h = int(plan.inputs[k].height), s.in_w = int(plan.inputs[k].width);
    s.cols = l->cols[i], s.off = l->off[i];
  }
  p.banded = l->banded;
  p.ident = l->ident >= 0 && l->projected < 0 ? ctx.input(size_t(l->ident)).data() : nullptr;
  if (l->projected >= 0) {
    p.projected = 1;
    p.x0 = ctx.input(size_t(l->projected)).data();
    p.wp = ctx.input(maps + 2).data(), p.bp = ctx.input(maps + 3).data();
    p.x0_off = int(l->x0_off), p.wp_off = int(l->wp_off);
  }
  p.batch = int(plan.batch), p.channels = int(plan.channels), p.height = int(plan.height), p.width = int(plan.width);
  p.relu = plan.relu;
  p.w = w.data(), p.bias = b.data(), p.y = y.data();
  p.classes = int(classes), p.nt = l->nt;
  p.bias_f32 = b.dtype == DType::kF32, p.y_f32 = y.dtype == DType::kF32;
  const std::optional<RscWgmmaLayout> wl =
      resize_sum_conv_wgmma_allowed() ? resize_sum_conv_wgmma_layout(plan, *l, classes) : std::nullopt;
  if (wl) {
    const ResizeSumConvParams q = p;  // in the slots' order
    for (int i = 0; i < l->banded; ++i) {
      p.in[i] = q.in[wl->input[i]];
      p.in[i].rows = wl->rows[i], p.in[i].cols = wl->cols[i], p.in[i].off = wl->off[i];
    }
    p.ident_off = int(wl->ident_off), p.w_off = int(wl->w_off), p.wp_off = int(wl->wp_off), p.x0_off = int(wl->x0_off);
    p.stage_bytes = int(wl->stage_bytes), p.smem_bytes = int(wl->smem_bytes);
    p.wt_off = int(wl->wt_off), p.wt_bytes = int(wl->wt_bytes);
    launch_resize_sum_conv_wgmma(p, window_maps(ctx, p), wl->pattern, ctx.stream());
    return;
  }
  p.ident_off = int(l->ident_off), p.a_off = int(l->a_off), p.w_off = int(l->w_off);
  p.stage_off = int(l->stage_off), p.stage_bytes = int(l->stage_bytes), p.smem_bytes = int(l->smem_bytes);
  launch_resize_sum_conv(p, staging_maps(ctx, p), ctx.stream());
}

}  // namespace kiln::spatial
