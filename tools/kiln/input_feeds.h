// --input NAME=FILE.npy|random and --shape NAME=DIMS, as `run` and `compare` read them.
#pragma once
#include <string>
#include <vector>

#include "onnx/importer.h"
#include "runtime/cpu_executor.h"

namespace kiln::cli {

struct InputFeeds {
  ImportOptions import;              // --shape dims, and each .npy file's dims
  TensorMap feeds;                   // the inputs read from .npy files
  std::vector<std::string> random;  // NAME=random, in flag order
};

// Reads the .npy files; refuses an input given twice and a --shape that disagrees with its file.
InputFeeds parse_input_feeds(const std::vector<std::string>& inputs, const std::vector<std::string>& shapes);

// Fills every random input from its (now concrete) type in g, seeds seed, seed+1, ...; refuses
// names g has no input for and inputs whose dims are still symbolic.
void fill_random_inputs(const Graph& g, const std::vector<std::string>& names, uint64_t seed, TensorMap& feeds);

// The --seed flag's seed, or one from the clock when it is negative (unset).
uint64_t seed_from_flag(int64_t flag);

}  // namespace kiln::cli
