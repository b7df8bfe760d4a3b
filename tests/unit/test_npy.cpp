#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../ops/harness.h"
#include "io/file_util.h"
#include "io/npy.h"
#include "onnx_builder.h"

namespace kiln {
namespace {

TEST(Npy, RoundTripsEveryDtypeAndRank) {
  int seed = 1;
  for (DType dt : {DType::kF32, DType::kF16, DType::kBF16, DType::kF64, DType::kI64, DType::kI32,
                   DType::kI8, DType::kU8, DType::kBool})
    for (const Dims& dims : {Dims{}, Dims{1}, Dims{3}, Dims{2, 17}, Dims{1, 3, 5, 7}, Dims{0, 4}}) {
      Tensor t = test::random_tensor(dt, dims, seed++, -5, 5);
      Tensor back = parse_npy(serialize_npy(t), "t");
      EXPECT_TRUE(back.same_bytes(t)) << dtype_name(dt) << " " << dims_to_string(dims);
    }
}

TEST(Npy, HeaderIsAlignedTo64Bytes) {
  std::string bytes = serialize_npy(Tensor(DType::kF32, {2, 3}));
  size_t header_len = uint8_t(bytes[8]) | size_t(uint8_t(bytes[9])) << 8;
  EXPECT_EQ((10 + header_len) % 64, 0u);
  EXPECT_NE(bytes.find("'shape': (2, 3)"), std::string::npos);
  EXPECT_NE(serialize_npy(Tensor(DType::kF32, {5})).find("'shape': (5,)"), std::string::npos);
}

void expect_invalid(const std::string& bytes, const std::string& fragment) {
  try {
    parse_npy(bytes, "x.npy");
    FAIL() << "accepted: " << fragment;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("x.npy"), std::string::npos) << e.what();
  }
}

TEST(Npy, RejectsCorruptFiles) {
  std::string good = serialize_npy(test::random_tensor(DType::kF32, {4, 4}, 7));
  expect_invalid("", "magic");
  expect_invalid("not a numpy file at all", "magic");
  expect_invalid(good.substr(0, good.size() - 3), "data bytes");
  expect_invalid(good + "xx", "data bytes");
  expect_invalid(good.substr(0, 20), "truncated");
  std::string fortran = good;
  fortran.replace(fortran.find("False"), 5, "True ");
  expect_invalid(fortran, "Fortran");
  std::string big_endian = good;
  big_endian.replace(big_endian.find("<f4"), 3, ">f4");
  expect_invalid(big_endian, "dtype");
  std::string bad_shape = good;
  bad_shape.replace(bad_shape.find("(4, 4)"), 6, "(4, q)");
  expect_invalid(bad_shape, "shape");
  std::string huge = good;
  huge.replace(huge.find("(4, 4)"), 6, "(999999999999, 99999999)");
  expect_invalid(huge, "");
}

// fuzz_npy in CI: a 91 KB header of spaces and digits overflowed the stack of the std::regex
// that parsed it; the hand-written reader takes it in one pass and names what is wrong.
TEST(Npy, LongHeadersDoNotRecurse) {
  const std::string bytes = read_file(std::string(KILN_TEST_DIR) + "/fuzz/regressions/npy_long_header.npy");
  expect_invalid(bytes, "header has no shape");
}

TEST(Npy, MissingFileIsNotFound) {
  try {
    read_npy("/nonexistent/kiln/x.npy");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
}

TEST(Npy, WriteIsAtomicAndReadable) {
  std::string dir = test::make_temp_dir("npy");
  Tensor t = test::random_tensor(DType::kF64, {3, 2}, 3);
  write_npy(dir + "/a.npy", t);
  EXPECT_TRUE(read_npy(dir + "/a.npy").same_bytes(t));
  EXPECT_FALSE(std::filesystem::exists(dir + "/a.npy.tmp"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kiln
