// What this process can run an engine on, for a device the user named.
#pragma once
#include <string>

#include "runtime/engine/engine_file.h"

namespace kiln {

// Refuses a device this build lacks, as a user error in the spelling of whoever asked: the
// CLI's "--device tpu … (use --device cpu)" or, with python_spelling, kiln.build's
// "device 'tpu' … (use device='cpu')".
void check_device_name(const std::string& device, bool python_spelling = false);

// cpu, or cuda with this GPU's architecture (after check_device_name).
EngineTarget local_target(const std::string& device, bool python_spelling = false);

}  // namespace kiln
