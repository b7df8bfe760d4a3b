// The INT8 GEMM fusion, run on a graph with Q/DQ pairs (insert_qdq's, or a quantizer's):
//
//   X ─QuantizeLinear(s_x, 0:int8)─DequantizeLinear(s_x, 0)─┐
//                                                            MatMul | kiln.FusedMatMul ─▶ Y
//   W int8 [K, N] ─DequantizeLinear(s_w [N] on axis 1 | one s_w, zero 0)─┘
//     ⇒  kiln.Int8MatMul(X, s_x, Wᵀ int8 [N, K], s_w, [bias], [residual]) ─▶ Y
//
// Fused only when the semantics are the int8 kernel's: X float32; s_x one positive finite
// float32 constant, the same in Q and DQ; activation zero points int8 constants equal to 0 (a
// uint8 or non-zero zero point, asymmetric quantization, stays as it is); W a constant int8
// matrix with zero points 0 (or none) and its scale per tensor or per output column (axis 1,
// not along K); K ≤ kInt8MaxK; a FusedMatMul's bias, residual and Y float32. The Q/DQ pairs go
// when nothing else reads them. On the CPU the fused node equals the Q/DQ graph up to float32
// rounding of the epilogue's order (int8_matmul.h).
#pragma once
#include "ir/graph.h"

namespace kiln {

int fuse_int8_matmul(Graph& g);  // GEMMs fused

}  // namespace kiln
