// Times kernel candidates on a stream, for the builder's choices (cuBLASLt algorithms, cuDNN
// convolution algorithms): each candidate runs once to warm up, then `reps` times between CUDA
// events. A candidate whose launch fails is skipped.
#pragma once
#include <functional>
#include <vector>

#include "runtime/cuda/device_tensor.h"

namespace kiln::cuda {

// launch(i) enqueues candidate i on stream and returns false if it could not. Returns the
// index of the fastest candidate (median of reps), or -1 when none launched.
int fastest_candidate(CudaStream stream, int count, const std::function<bool(int)>& launch, int reps = 5);

}  // namespace kiln::cuda
