// The CUDA side of plugin ops: device tensors in, outputs allocated from the run-time infer,
// the plugin's kernel enqueued on kiln's stream.
#include "ops/plugin/plugin_ops.h"
#include "runtime/cuda/cuda_kernel_context.h"

namespace kiln {

void plugin_cuda_kernel(CudaKernelContext& ctx) {
  const PluginOp* op = find_plugin_op(ctx.node.domain, ctx.node.op_type);
  KILN_ASSERT(op && op->desc.cuda);
  std::vector<kiln_value_type> types;
  std::vector<kiln_tensor> in;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const DeviceTensor* t = ctx.has_input(i) ? &ctx.input(i) : nullptr;
    types.push_back(t ? plugin_value_type(t->dtype, t->dims) : kiln_value_type{0, -1, {}});
    in.push_back(t ? kiln_tensor{dtype_to_onnx(t->dtype), t->rank(), t->dims.data(), t->data()}
                   : kiln_tensor{0, 0, nullptr, nullptr});
  }
  std::vector<std::pair<DType, Dims>> shapes = plugin_output_types(*op, ctx, types);
  std::vector<kiln_tensor> out;
  for (size_t i = 0; i < ctx.num_outputs(); ++i) {
    if (shapes.at(i).second != ctx.output_dims(i))
      ctx.unsupported("plugin infer gave different output dims at run time than at build time");
    DeviceTensor& t = ctx.alloc_output(i);
    out.push_back({dtype_to_onnx(t.dtype), t.rank(), t.dims.data(), t.data()});
  }
  PluginCall call(ctx.node);
  size_t bytes = op->desc.workspace_size ? op->desc.workspace_size(&call.ctx, in.data(), int32_t(in.size())) : 0;
  void* workspace = bytes ? ctx.session.workspace(bytes) : nullptr;
  if (op->desc.cuda(&call.ctx, in.data(), int32_t(in.size()), out.data(), int32_t(out.size()), workspace,
                    static_cast<void*>(ctx.stream())))
    call.failed(ctx, "cuda kernel");
}

}  // namespace kiln
