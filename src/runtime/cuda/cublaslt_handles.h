// RAII for the three cuBLASLt descriptor kinds, and the operand alignment cuBLASLt must be told
// (its heuristic assumes 256 bytes unless told, and would pick kernels that fault on less): what
// the float GEMMs (ops/linear/gemm_lt_cuda.cpp) and the int8 GEMM (ops/quantize) share.
#pragma once
#include <cublasLt.h>

#include <cstdint>

#include "runtime/cuda/library_check.h"

namespace kiln::cublaslt {

struct Layout {
  cublasLtMatrixLayout_t h = nullptr;
  Layout(cudaDataType_t t, int64_t rows, int64_t cols, int64_t ld, int64_t batch, int64_t stride) {
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&h, t, uint64_t(rows), uint64_t(cols), ld));
    if (batch > 1) {
      const int32_t count = int32_t(batch);
      CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(h, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count)));
      CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(h, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride,
                                                    sizeof(stride)));
    }
  }
  ~Layout() { cublasLtMatrixLayoutDestroy(h); }
  Layout(const Layout&) = delete;
  Layout& operator=(const Layout&) = delete;
};

struct Desc {
  cublasLtMatmulDesc_t h = nullptr;
  Desc(cublasComputeType_t compute, cudaDataType_t scale) { CUBLAS_CHECK(cublasLtMatmulDescCreate(&h, compute, scale)); }
  ~Desc() { cublasLtMatmulDescDestroy(h); }
  Desc(const Desc&) = delete;
  Desc& operator=(const Desc&) = delete;
};

struct Pref {
  cublasLtMatmulPreference_t h = nullptr;
  Pref() { CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&h)); }
  ~Pref() { cublasLtMatmulPreferenceDestroy(h); }
  Pref(const Pref&) = delete;
  Pref& operator=(const Pref&) = delete;
};

// The largest power of two up to 256 dividing p's address.
inline uint32_t alignment_of(const void* p) {
  const uintptr_t v = reinterpret_cast<uintptr_t>(p);
  uint32_t a = 256;
  while (a > 1 && (v % a)) a >>= 1;
  return a;
}

}  // namespace kiln::cublaslt
