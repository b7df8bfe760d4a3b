// A model on the command line is an ONNX file or a kiln engine file, told apart by the
// engine magic (not the extension). Both become a Graph that run_passes then prepares.
#pragma once
#include <string>

#include "ir/graph.h"
#include "onnx/importer.h"
#include "runtime/engine/engine_file.h"
#include "runtime/local_target.h"  // local_target, for the subcommands

namespace kiln::cli {

struct ModelSource {
  bool engine = false;
  EngineTarget target;       // engines: what it was built for
  std::string kiln_version;  // engines: the kiln that wrote it
  EngineBuild build;         // engines: precision, profiles, tuning cache
};

// The device to run on: the --device flag if given (device_flag non-empty), else the engine's
// own device, else cpu. Refuses devices this build lacks.
std::string resolve_device(const std::string& model, const std::string& device_flag);

// Imports the ONNX file, or loads the engine file — refusing one not built for *run_on (when
// given) — and gives the engine's inputs the shapes in import.input_shapes (checked against
// the shapes it was built for, as the importer checks an ONNX model's).
Graph open_model(const std::string& path, const ImportOptions& import, const EngineTarget* run_on,
                 ModelSource* source = nullptr);

// The CUDA engine at `path` for `command` ("bench", "profile"): an engine file, built for cuda on
// this GPU's architecture (kInvalidArgument saying how to get one otherwise).
Engine load_cuda_engine(const std::string& path, const std::string& command);
// The dims input `name` of engine e runs with unless told: its profile's opt, else its static
// dims; otherwise kInvalidArgument asking for `flag` (e.g. "--shape").
Dims default_input_dims(const Engine& e, const std::string& name, const std::string& flag);

}  // namespace kiln::cli
