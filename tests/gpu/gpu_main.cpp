// The GPU tests' entry point: without a CUDA GPU it prints why and exits 77, which ctest
// reports as skipped (CI has no GPU); otherwise it runs every test.
#include <gtest/gtest.h>

#include <cstdio>

#include "runtime/cuda/cuda_session.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (kiln::cuda_device_count() == 0) {
    std::printf("kiln_gpu_tests: no CUDA GPU visible, skipping\n");
    return 77;
  }
  return RUN_ALL_TESTS();
}
