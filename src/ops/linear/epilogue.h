// What a fused GEMM epilogue applies after the bias: FusedMatMul's `activation` attribute.
// Plain data, so the CUDA epilogue kernel (epilogue.cu) includes it too.
#pragma once

namespace kiln::linear {

enum class EpilogueActivation { kNone, kRelu, kGelu, kGeluTanh };  // gelu: erf; gelu_tanh: tanh form

}  // namespace kiln::linear
