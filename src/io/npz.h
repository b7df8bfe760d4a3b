// NumPy .npz archives: a zip of .npy members, one per array ("x.npy" holds array "x").
// np.savez writes STORED members, np.savez_compressed DEFLATE ones; both are read, with zip64
// (numpy uses it for big arrays and always in local headers). kiln writes STORED members.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "ir/tensor.h"

namespace kiln {

struct NpzArray {
  std::string name;  // the member's name without ".npy"
  Tensor tensor;
};

// Reads every member, in archive order. Throws kNotFound for a missing file and
// kInvalidArgument naming the file for anything else: truncated or corrupt archives (every
// size and offset is checked against the file before anything is allocated), a bad CRC-32, a
// compression method other than stored/deflate, encryption, a member that is not a .npy file,
// duplicate names, and whatever parse_npy refuses in a member.
std::vector<NpzArray> read_npz(const std::string& path);
std::vector<NpzArray> parse_npz(std::string_view bytes, const std::string& what);

// An uncompressed archive np.load reads. Names must be non-empty and distinct
// (kInvalidArgument). force_zip64 writes zip64 extra fields and end records even when nothing
// needs them (as numpy does in its local headers); they are written anyway past 4 GiB.
std::string serialize_npz(const std::vector<NpzArray>& arrays, bool force_zip64 = false);
// Writes atomically: a temporary file renamed into place, so a failure leaves nothing behind.
void write_npz(const std::string& path, const std::vector<NpzArray>& arrays);

}  // namespace kiln
