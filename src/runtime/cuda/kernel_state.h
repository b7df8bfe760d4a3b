// What a CUDA kernel keeps for one node between runs of an execution plan: uploaded tables,
// chosen algorithms, flag buffers. Made on the plan's first run; later runs (and CUDA Graph
// capture, where host-to-device uploads and synchronization are not allowed) reuse it.
#pragma once

namespace kiln {

struct KernelState {
  virtual ~KernelState() = default;
};

}  // namespace kiln
