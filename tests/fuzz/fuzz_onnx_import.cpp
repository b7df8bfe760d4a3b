// The ONNX importer and the pass pipeline on arbitrary bytes. A kiln::Error is the expected
// answer to a bad model; a crash, a sanitizer report, an allocation past libFuzzer's limit or a
// timeout is a finding (docs/RELIABILITY.md).
#include <cstddef>
#include <cstdint>
#include <string>

#include "kiln/status.h"
#include "onnx/importer.h"
#include "passes/pipeline.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    // A directory that does not exist: external-data references must fail, never read files.
    kiln::Graph g = kiln::import_onnx_bytes(bytes, "/nonexistent-kiln-fuzz", "fuzz.onnx");
    kiln::run_passes(g);
  } catch (const kiln::Error&) {
  }
  return 0;
}
