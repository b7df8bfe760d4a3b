#include "ops/quantize/int8_conv.h"
#include "ops/quantize/int8_matmul.h"
#include "ops/quantize/quantize_ops.h"
#include "ops/registry.h"
#ifdef KILN_WITH_CUDA
#include "ops/quantize/quantize_cuda.h"
#endif

namespace kiln {

// QuantizeLinear, DequantizeLinear, kiln.Int8MatMul and kiln.Int8Conv have CUDA kernels; the integer ops of
// ONNX (DynamicQuantizeLinear, MatMulInteger, ConvInteger, the QLinear ops) run on the CPU only.
void register_quantize_ops(OpRegistry& r) {
  quant::register_quantize_linear(r);
  quant::register_dynamic_quantize(r);
  quant::register_integer_matmul(r);
  quant::register_integer_conv(r);
  quant::register_int8_matmul(r);
  quant::register_int8_conv(r);
#ifdef KILN_WITH_CUDA
  r.set_cuda("QuantizeLinear", quant::quantize_linear_cuda);
  r.set_cuda("DequantizeLinear", quant::dequantize_linear_cuda);
  r.set_cuda(quant::kInt8MatMulOp, quant::int8_matmul_cuda, kKilnDomain);
  r.set_cuda(quant::kInt8ConvOp, quant::int8_conv_cuda, kKilnDomain);
#endif
}

}  // namespace kiln
