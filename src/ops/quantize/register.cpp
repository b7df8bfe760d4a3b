#include "ops/quantize/quantize_ops.h"
#include "ops/registry.h"

namespace kiln {

// CPU reference only: a CUDA build running these reports "no CUDA kernel yet".
void register_quantize_ops(OpRegistry& r) {
  quant::register_quantize_linear(r);
  quant::register_dynamic_quantize(r);
  quant::register_integer_matmul(r);
  quant::register_integer_conv(r);
}

}  // namespace kiln
