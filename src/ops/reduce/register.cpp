#include "ops/reduce/masked_softmax.h"
#include "ops/reduce/reduce_common.h"
#ifdef KILN_WITH_CUDA
#include "ops/reduce/reduce_cuda.h"
#endif

namespace kiln {

void register_reduce_ops(OpRegistry& r) {
  reduce::register_reduction_ops(r);
  reduce::register_arg_ops(r);
  reduce::register_softmax_ops(r);
  reduce::register_topk_op(r);
  reduce::register_cumsum_op(r);
  reduce::register_masked_softmax(r);
#ifdef KILN_WITH_CUDA
  r.set_cuda("Softmax", reduce::softmax_cuda);
  r.set_cuda("LogSoftmax", reduce::log_softmax_cuda);
  r.set_cuda("CumSum", reduce::cumsum_cuda);
  r.set_cuda(reduce::kMaskedSoftmaxOp, reduce::masked_softmax_cuda, kKilnDomain);
  r.set_cuda("ReduceSum", reduce::reduce_sum_cuda);
  r.set_cuda("ReduceMean", reduce::reduce_mean_cuda);
  r.set_cuda("ReduceMax", reduce::reduce_max_cuda);
  r.set_cuda("ReduceMin", reduce::reduce_min_cuda);
#endif
}

}  // namespace kiln
