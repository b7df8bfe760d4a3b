// CUDA kernels of the norm family: LayerNormalization and kiln.LayerNormPatchRows (fp32/fp16
// storage, fp32 statistics, two-pass variance), kernel in layer_norm.cu (layer_norm_launch.h);
// InstanceNormalization and kiln.GroupNorm in group_norm.cu.
#pragma once
#include "ir/dtype.h"
#include "ops/linear/epilogue.h"
#include "ops/norm/layer_norm_launch.h"
#include "ops/op.h"
#include "runtime/cuda/device_tensor.h"

namespace kiln::norm {

void layer_norm_cuda(CudaKernelContext& ctx);
void layer_norm_patch_rows_cuda(CudaKernelContext& ctx);  // kiln.LayerNormPatchRows
void sequence_reduction_cuda(CudaKernelContext& ctx);     // kiln.SequenceReduction (sequence_reduction_cuda.cpp)

// GroupNorm over x viewed as [planes = N·groups, len]: statistics per plane, scale/bias per
// channel (channels / groups per plane, len / that elements each). InstanceNormalization is the
// case groups = channels. Kernels in group_norm.cu.
inline constexpr int64_t kMaxGroupNormChunks = 1024;
struct GroupNormArgs {
  const void* x = nullptr;
  const void* scale = nullptr;  // channels elements, x's type
  const void* bias = nullptr;   // channels elements, x's type
  const void* z = nullptr;      // x's shape and type, or nullptr
  void* y = nullptr;
  void* partials = nullptr;     // group_norm_partials() float2s of scratch
  int64_t planes = 0, len = 0, channels = 0, groups = 1;
  float eps = 1e-5f;
  linear::EpilogueActivation act = linear::EpilogueActivation::kNone;
  int sm_count = 1;
};
// Scratch the launch needs, in float2s (set every field but partials first).
int64_t group_norm_partials(DType dt, const GroupNormArgs& args);
void launch_group_norm(DType dt, const GroupNormArgs& args, CudaStream stream);

void instance_norm_cuda(CudaKernelContext& ctx);
void group_norm_cuda(CudaKernelContext& ctx);  // kiln.GroupNorm

}  // namespace kiln::norm
