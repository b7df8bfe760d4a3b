// Scoped single-threaded OpenBLAS. The conv kernels split GEMMs across the OpenMP threads
// themselves; OpenBLAS's own pthread pool (this build is not the OpenMP one) would only
// oversubscribe the cores and spin against the OpenMP workers.
#pragma once
#include <cblas.h>

namespace kiln::conv {

class SerialBlas {
 public:
  SerialBlas() : prev_(openblas_get_num_threads()) { openblas_set_num_threads(1); }
  ~SerialBlas() { openblas_set_num_threads(prev_); }
  SerialBlas(const SerialBlas&) = delete;
  SerialBlas& operator=(const SerialBlas&) = delete;

 private:
  int prev_;
};

}  // namespace kiln::conv
