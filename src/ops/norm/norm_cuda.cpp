// Host side of the norm family on the GPU: LayerNormalization (shapes, parameter layout, optional
// statistics) and kiln.LayerNormPatchRows (the same kernel with the window row map),
// InstanceNormalization and kiln.GroupNorm (one launcher: instance norm is groups = C).
#include "ops/norm/norm_cuda.h"

#include "ops/op_util.h"
#include "ops/linear/linear_ops.h"
#include "ops/norm/layer_norm_patch_rows.h"
#include "runtime/cuda/cuda_kernel_context.h"
#include "runtime/cuda/gpu_arch.h"

namespace kiln::norm {
namespace {

Dims without_leading_ones(Dims d) {
  while (!d.empty() && d.front() == 1) d.erase(d.begin());
  return d;
}

}  // namespace

void layer_norm_cuda(CudaKernelContext& ctx) {
  ctx.require_dtype(0, {DType::kF32, DType::kF16});
  const DeviceTensor& x = ctx.input(0);
  if (x.rank() == 0) ctx.invalid("X must have rank >= 1");
  const int axis = normalize_axis(ctx, ctx.attrs().get_int("axis", -1), x.rank());
  Dims inner_dims(x.dims.begin() + axis, x.dims.end());
  const int64_t inner = numel_of(inner_dims), rows = x.numel() / std::max<int64_t>(inner, 1);
  const DType y_dtype = ctx.input(1).dtype;  // Scale's, which Y takes (layer_norm.cpp)
  if (y_dtype != DType::kF32 && y_dtype != DType::kF16) ctx.unsupported("Scale must be float32 or float16");
  for (size_t i = 1; i < 3; ++i) {
    if (!ctx.has_input(i)) continue;
    const DeviceTensor& p = ctx.input(i);
    if (p.dtype != y_dtype) ctx.invalid("Scale and B must have one type");
    if (without_leading_ones(p.dims) != without_leading_ones(inner_dims))
      ctx.unsupported("the CUDA kernel needs Scale and B shaped like the normalized axes (" +
                      dims_to_string(inner_dims) + "), got " + dims_to_string(p.dims));
  }
  for (size_t o = 1; o < ctx.num_outputs(); ++o)
    if (ctx.has_output(o) && ctx.output_dtype(o) != DType::kF32)
      ctx.unsupported("the CUDA kernel writes Mean and InvStdDev only as float32 (stash_type 1)");
  LayerNormArgs a;
  a.x = x.data();
  a.scale = ctx.input(1).data();
  a.bias = ctx.has_input(2) ? ctx.input(2).data() : nullptr;
  a.y = ctx.alloc_output(0).data();
  if (ctx.has_output(1)) a.mean = ctx.alloc_output(1).ptr<float>();
  if (ctx.has_output(2)) a.inv_std = ctx.alloc_output(2).ptr<float>();
  a.rows = rows;
  a.inner = inner;
  a.eps = ctx.attrs().get_float("epsilon", 1e-5f);
  launch_layer_norm(x.dtype, y_dtype, a, ctx.stream());
}

void layer_norm_patch_rows_cuda(CudaKernelContext& ctx) {
  ctx.require_dtype(0, {DType::kF32, DType::kF16});
  const DeviceTensor& x = ctx.input(0);
  const PatchRowsGeometry g = patch_rows_geometry(ctx);
  if (x.rank() != 3 || x.dims[1] != g.height * g.width)
    ctx.invalid("X must be [batch, " + std::to_string(g.height * g.width) + " tokens, channels], got " +
                dims_to_string(x.dims));
  const int64_t channels = x.dims[2];
  const DType y_dtype = ctx.input(1).dtype;  // Scale's, which Y and P take (layer_norm_patch_rows.h)
  if (y_dtype != DType::kF32 && y_dtype != DType::kF16) ctx.unsupported("Scale must be float32 or float16");
  for (size_t i = 1; i < 3; ++i) {
    if (!ctx.has_input(i)) continue;
    if (ctx.input(i).dtype != y_dtype) ctx.invalid("Scale and B must have one type");
    if (ctx.input(i).dims != Dims{channels})
      ctx.invalid(std::string(i == 1 ? "Scale" : "B") + " must be [" + std::to_string(channels) + "], got " +
                  dims_to_string(ctx.input(i).dims));
  }
  if (x.numel() / std::max<int64_t>(channels, 1) > 0x7fffffff)
    ctx.unsupported("the CUDA kernel takes fewer than 2^31 token rows, got " + dims_to_string(x.dims));
  LayerNormArgs a;
  a.x = x.data();
  a.scale = ctx.input(1).data();
  a.bias = ctx.has_input(2) ? ctx.input(2).data() : nullptr;
  a.y = ctx.has_output(0) ? ctx.alloc_output(0).data() : nullptr;
  a.rows_out = ctx.alloc_output(1).data();
  a.row_map = {uint32_t(g.height), uint32_t(g.width), uint32_t(g.patch)};
  a.rows = x.dims[0] * x.dims[1];
  a.inner = channels;
  a.eps = ctx.attrs().get_float("epsilon", 1e-5f);
  launch_layer_norm(x.dtype, y_dtype, a, ctx.stream());
}

namespace {

// X [N, C, ...] normalized per (n, group) with per-channel scale/B (inputs 1, 2) and input 3 as Z.
void launch_groups(CudaKernelContext& ctx, int64_t groups, linear::EpilogueActivation act) {
  ctx.require_dtype(0, {DType::kF32, DType::kF16});
  const DeviceTensor& x = ctx.input(0);
  if (x.rank() < 2) ctx.invalid("X must have rank >= 2");
  const int64_t n = x.dims[0], c = x.dims[1];
  if (c % groups != 0) ctx.invalid("channels not divisible by the groups");
  for (size_t i = 1; i < 3; ++i) {
    const DeviceTensor& p = ctx.input(i);
    if (p.dtype != x.dtype) ctx.invalid("scale and B must have X's dtype");
    if (p.numel() != c) ctx.invalid("scale and B must hold one value per channel");
  }
  GroupNormArgs a;
  if (ctx.has_input(3)) {
    const DeviceTensor& z = ctx.input(3);
    if (z.dtype != x.dtype || z.dims != x.dims) ctx.invalid("Z must have X's shape and type");
    a.z = z.data();
  }
  a.x = x.data();
  a.scale = ctx.input(1).data();
  a.bias = ctx.input(2).data();
  a.y = ctx.alloc_output(0).data();
  a.planes = n * groups;
  a.len = a.planes == 0 ? 0 : x.numel() / a.planes;
  a.channels = c;
  a.groups = groups;
  a.eps = ctx.attrs().get_float("epsilon", 1e-5f);
  a.act = act;
  a.sm_count = cuda_sm_count();
  // Held until the launch: on a plan's first run scratch is a per-call allocation it owns.
  DeviceTensor partials;
  if (const int64_t p = group_norm_partials(x.dtype, a)) partials = ctx.scratch(DType::kF32, {2 * p});
  a.partials = partials.data();
  launch_group_norm(x.dtype, a, ctx.stream());
}

}  // namespace

void instance_norm_cuda(CudaKernelContext& ctx) {
  const DeviceTensor& x = ctx.input(0);
  launch_groups(ctx, x.rank() >= 2 ? std::max<int64_t>(x.dims[1], 1) : 1, linear::EpilogueActivation::kNone);
}

void group_norm_cuda(CudaKernelContext& ctx) {
  const int64_t groups = ctx.attrs().get_int("num_groups", 0);
  if (groups <= 0) ctx.invalid("num_groups must be positive");
  launch_groups(ctx, groups, linear::epilogue_activation(ctx));
}

}  // namespace kiln::norm
