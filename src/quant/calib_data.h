// The calibration set: a directory of pictures (.png .jpg .jpeg .bmp) and/or .npy tensors, one
// model input each, read one at a time (a set of hundreds of pictures never sits in memory).
// Pictures become the input as `kiln run --image` makes it (resized, bilinear, to the input's H
// and W — a symbolic H or W takes the picture's — and normalized by the given mean and std); an
// .npy file is the input tensor itself. Other files (a README, hidden files) are skipped.
#pragma once
#include <array>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace kiln::quant {

// The usable files of dir, sorted by name. kNotFound for a missing dir; kInvalidArgument for a
// file instead of a dir or a dir without usable files. flag: how errors name the directory
// (the accuracy guard's held-out set is read alike: --ref-data).
std::vector<std::string> calibration_files(const std::string& dir, const std::string& flag = "--calib");

// The model's input `input` fed from file `path`: kInvalidArgument naming the file when it is
// unreadable or does not fit the input's dtype and declared shape ("<what> file PATH: ...").
Tensor calibration_input(const std::string& path, const Graph& g, const std::string& input,
                         const std::array<float, 3>& mean, const std::array<float, 3>& std,
                         const std::string& what = "calibration");

}  // namespace kiln::quant
