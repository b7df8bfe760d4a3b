// How the GPU reductions accumulate (reduce_kernel.cu, reduce_runs.cu): floats in double as the
// CPU reference does, integers in int64.
#pragma once
#include <type_traits>

#include "runtime/cuda/kernel_util.cuh"

namespace kiln::reduce {

template <class T> using Acc = std::conditional_t<std::is_integral_v<T>, int64_t, double>;

template <class T> __device__ __forceinline__ Acc<T> load_acc(const T* p, int64_t i) {
  if constexpr (std::is_integral_v<T>) return int64_t(p[i]);
  else return double(cuda::load_f(p, i));
}

}  // namespace kiln::reduce
