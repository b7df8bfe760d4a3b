#include "runtime/cuda/candidate_timer.h"

#include <algorithm>
#include <limits>

#include "runtime/cuda/cuda_check.h"

namespace kiln::cuda {
namespace {

struct Event {
  cudaEvent_t e = nullptr;
  Event() { CUDA_CHECK(cudaEventCreate(&e)); }
  ~Event() { cudaEventDestroy(e); }
};

}  // namespace

int fastest_candidate(CudaStream stream, int count, const std::function<bool(int)>& launch, int reps) {
  int best = -1;
  float best_ms = std::numeric_limits<float>::infinity();
  std::vector<Event> marks(size_t(reps) + 1);
  for (int i = 0; i < count; ++i) {
    if (!launch(i)) continue;  // warm-up; a candidate that cannot run is skipped
    std::vector<float> ms(static_cast<size_t>(reps));
    bool ok = true;
    CUDA_CHECK(cudaEventRecord(marks[0].e, stream));
    for (int r = 0; r < reps && ok; ++r) {
      ok = launch(i);
      CUDA_CHECK(cudaEventRecord(marks[size_t(r) + 1].e, stream));
    }
    CUDA_CHECK(cudaEventSynchronize(marks[size_t(reps)].e));
    if (!ok) continue;
    for (int r = 0; r < reps; ++r) CUDA_CHECK(cudaEventElapsedTime(&ms[size_t(r)], marks[size_t(r)].e, marks[size_t(r) + 1].e));
    std::nth_element(ms.begin(), ms.begin() + reps / 2, ms.end());
    if (ms[size_t(reps / 2)] < best_ms) best_ms = ms[size_t(reps / 2)], best = i;
  }
  return best;
}

}  // namespace kiln::cuda
