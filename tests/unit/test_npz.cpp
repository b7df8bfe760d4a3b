#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>

#include "../ops/harness.h"
#include "io/npy.h"
#include "io/npz.h"
#include "onnx_builder.h"

namespace kiln {
namespace {

// Archives written by Python 3.11's zipfile exactly as numpy's _savez drives it
// (np.savez: STORED; np.savez_compressed: DEFLATE; "stream": np.savez into an unseekable file,
// which adds data descriptors), holding a = float32 [[0, 1, 2], [3, 4, 5]] and
// b = int64 [1, -2, 3, -4]. numpy is not installed on the build machine, so this script wrote
// them with the standard library only (same .npy bytes as numpy.lib.format.write_array):
//   # Mimics numpy's np.savez / np.savez_compressed (numpy/lib/npyio.py _savez +
//   format.write_array) # with the standard library only: numpy is not installed on the build
//   machine. import io, struct, zipfile, sys
//
//   def npy(descr, shape, payload):
//       shape_s = "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
//       header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_s)
//       total = 10 + len(header) + 1
//       header += " " * ((64 - total % 64) % 64) + "\n"
//       return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1") +
//       payload
//
//   arrays = {
//       "a": npy("<f4", (2, 3), struct.pack("<6f", 0, 1, 2, 3, 4, 5)),
//       "b": npy("<i8", (4,), struct.pack("<4q", 1, -2, 3, -4)),
//   }
//
//   class NoSeek(io.RawIOBase):
//       def __init__(self): self.buf = bytearray()
//       def writable(self): return True
//       def write(self, b): self.buf += b; return len(b)
//       def seekable(self): return False
//       def tell(self): return len(self.buf)
//
//   def savez(compression, seekable=True):
//       f = io.BytesIO() if seekable else NoSeek()
//       with zipfile.ZipFile(f, mode="w", compression=compression, allowZip64=True) as z:
//           for k, v in arrays.items():
//               with z.open(k + ".npy", "w", force_zip64=True) as fid:
//                   fid.write(v)
//       return bytes(f.getvalue() if seekable else f.buf)
//
//   for name, data in [("stored", savez(zipfile.ZIP_STORED)), ("deflate",
//   savez(zipfile.ZIP_DEFLATED)),
//                      ("stream", savez(zipfile.ZIP_STORED, False))]:
//       print("// %s: %d bytes" % (name, len(data)))
//       h = data.hex()
//       print("const char* k_%s_hex =" % name)
//       for i in range(0, len(h), 96):
//           print('    "%s"' % h[i:i+96])
//       print("    ;")
// stored: 546 bytes
const char* k_stored_hex =
    "504b03042d0000000000000021004fe9002affffffffffffffff05001400612e6e7079010010009800000000000000"
    "98"
    "00000000000000934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f6f726465"
    "72"
    "273a2046616c73652c20277368617065273a2028322c2033292c207d20202020202020202020202020202020202020"
    "20"
    "20202020202020202020202020202020202020202020202020202020202020202020202020200a000000000000803f"
    "00"
    "00004000004040000080400000a040504b03042d00000000000000210020061a66ffffffffffffffff05001400622e"
    "6e"
    "707901001000a000000000000000a000000000000000934e554d5059010076007b276465736372273a20273c693827"
    "2c"
    "2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028342c292c207d202020202020"
    "20"
    "2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020"
    "20"
    "20202020200a0100000000000000feffffffffffffff0300000000000000fcffffffffffffff504b01022d032d0000"
    "00"
    "0000000021004fe9002a9800000098000000050000000000000000000000800100000000612e6e7079504b01022d03"
    "2d"
    "00000000000000210020061a66a0000000a00000000500000000000000000000008001cf000000622e6e7079504b05"
    "06"
    "000000000200020066000000a60100000000";
// deflate: 400 bytes
const char* k_deflate_hex =
    "504b03042d0000000800000021004fe9002affffffffffffffff05001400612e6e7079010010009800000000000000"
    "55"
    "000000000000009bec17ea1b10c9c850c650ad9e925a9c5ca46ea5a06e9366a2aea3a09e965f54529498179f5f9492"
    "0a"
    "12774bcc294e058a17672416a402f91a463a0ac69a3a0ab50a64032e063068b007120e4004c40d40bcc00100504b03"
    "04"
    "2d00000008000000210020061a66ffffffffffffffff05001400622e6e707901001000a00000000000000051000000"
    "00"
    "0000009bec17ea1b10c9c850c650ad9e925a9c5ca46ea5a06e9369a1aea3a09e965f54529498179f5f94920a12774b"
    "cc"
    "294e058a17672416a402f91a263a9a3a0ab50a14002e460608f8f71f0298a1fc3f503e00504b01022d032d00000008"
    "00"
    "000021004fe9002a5500000098000000050000000000000000000000800100000000612e6e7079504b01022d032d00"
    "00"
    "0008000000210020061a6651000000a000000005000000000000000000000080018c000000622e6e7079504b050600"
    "00"
    "00000200020066000000140100000000";
// stream: 594 bytes
const char* k_stream_hex =
    "504b03042d00080000000000210000000000ffffffffffffffff05001400612e6e7079010010000000000000000000"
    "00"
    "00000000000000934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f6f726465"
    "72"
    "273a2046616c73652c20277368617065273a2028322c2033292c207d20202020202020202020202020202020202020"
    "20"
    "20202020202020202020202020202020202020202020202020202020202020202020202020200a000000000000803f"
    "00"
    "00004000004040000080400000a040504b07084fe9002a98000000000000009800000000000000504b03042d000800"
    "00"
    "000000210000000000ffffffffffffffff05001400622e6e7079010010000000000000000000000000000000000093"
    "4e"
    "554d5059010076007b276465736372273a20273c6938272c2027666f727472616e5f6f72646572273a2046616c7365"
    "2c"
    "20277368617065273a2028342c292c207d202020202020202020202020202020202020202020202020202020202020"
    "20"
    "20202020202020202020202020202020202020202020202020202020200a0100000000000000feffffffffffffff03"
    "00"
    "000000000000fcffffffffffffff504b070820061a66a000000000000000a000000000000000504b01022d032d0008"
    "00"
    "0000000021004fe9002a9800000098000000050000000000000000000000800100000000612e6e7079504b01022d03"
    "2d"
    "00080000000000210020061a66a0000000a00000000500000000000000000000008001e7000000622e6e7079504b05"
    "06"
    "000000000200020066000000d60100000000";

std::string unhex(const char* hex) {
  std::string out;
  for (size_t i = 0; hex[i] && hex[i + 1]; i += 2)
    out += char(std::stoi(std::string(hex + i, 2), nullptr, 16));
  return out;
}

void put16(std::string& o, uint64_t v) {
  o += char(v & 0xff);
  o += char((v >> 8) & 0xff);
}
void put32(std::string& o, uint64_t v) {
  put16(o, v & 0xffff);
  put16(o, v >> 16);
}
void put64(std::string& o, uint64_t v) {
  put32(o, v & 0xffffffffu);
  put32(o, v >> 32);
}
void set32(std::string& o, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) o[at + size_t(i)] = char((v >> (8 * i)) & 0xff);
}
uint32_t crc_of(const std::string& s) {
  return uint32_t(crc32(0, reinterpret_cast<const Bytef*>(s.data()), uInt(s.size())));
}

std::string raw_deflate(const std::string& in) {
  z_stream s{};
  EXPECT_EQ(deflateInit2(&s, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&s, uLong(in.size())), '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  s.avail_in = uInt(in.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = uInt(out.size());
  EXPECT_EQ(deflate(&s, Z_FINISH), Z_STREAM_END);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

// A zip written by hand, every field under the test's control (for hostile archives).
struct Entry {
  std::string name;
  std::string payload;  // the bytes as they lie in the archive
  uint16_t method = 0;
  uint32_t crc = 0;
  uint64_t compressed = 0, uncompressed = 0;
  uint16_t flags = 0;
  bool zip64 = false;  // 0xFFFFFFFF in the central directory + a zip64 extra field
};

Entry stored(const std::string& name, const std::string& bytes) {
  return {name, bytes, 0, crc_of(bytes), bytes.size(), bytes.size()};
}
Entry deflated(const std::string& name, const std::string& bytes) {
  std::string z = raw_deflate(bytes);
  return {name, z, 8, crc_of(bytes), z.size(), bytes.size()};
}

struct ZipLayout {
  std::string bytes;
  std::vector<size_t> local, central;  // header offsets
  size_t eocd = 0;
};

ZipLayout make_zip(const std::vector<Entry>& entries, bool zip64_end = false) {
  ZipLayout z;
  std::string& o = z.bytes;
  for (const Entry& e : entries) {
    z.local.push_back(o.size());
    put32(o, 0x04034b50);
    put16(o, 20);
    put16(o, e.flags);
    put16(o, e.method);
    put16(o, 0);
    put16(o, 0x21);
    put32(o, e.crc);
    put32(o, e.compressed);
    put32(o, e.uncompressed);
    put16(o, e.name.size());
    put16(o, 0);
    o += e.name + e.payload;
  }
  const size_t cd = o.size();
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    z.central.push_back(o.size());
    put32(o, 0x02014b50);
    put16(o, 0x0314);
    put16(o, 20);
    put16(o, e.flags);
    put16(o, e.method);
    put16(o, 0);
    put16(o, 0x21);
    put32(o, e.crc);
    put32(o, e.zip64 ? 0xffffffffu : e.compressed);
    put32(o, e.zip64 ? 0xffffffffu : e.uncompressed);
    put16(o, e.name.size());
    put16(o, e.zip64 ? 28 : 0);
    put16(o, 0);
    put16(o, 0);
    put16(o, 0);
    put32(o, 0);
    put32(o, e.zip64 ? 0xffffffffu : z.local[i]);
    o += e.name;
    if (e.zip64) {
      put16(o, 1);
      put16(o, 24);
      put64(o, e.uncompressed);
      put64(o, e.compressed);
      put64(o, z.local[i]);
    }
  }
  const size_t cd_size = o.size() - cd;
  if (zip64_end) {
    const size_t record = o.size();
    put32(o, 0x06064b50);
    put64(o, 44);
    put16(o, 45);
    put16(o, 45);
    put32(o, 0);
    put32(o, 0);
    put64(o, entries.size());
    put64(o, entries.size());
    put64(o, cd_size);
    put64(o, cd);
    put32(o, 0x07064b50);
    put32(o, 0);
    put64(o, record);
    put32(o, 1);
  }
  z.eocd = o.size();
  put32(o, 0x06054b50);
  put16(o, 0);
  put16(o, 0);
  put16(o, zip64_end ? 0xffff : entries.size());
  put16(o, zip64_end ? 0xffff : entries.size());
  put32(o, zip64_end ? 0xffffffffu : cd_size);
  put32(o, zip64_end ? 0xffffffffu : cd);
  put16(o, 0);
  return z;
}

void expect_numpy_fixture(const std::vector<NpzArray>& got) {
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].name, "a");
  EXPECT_EQ(got[1].name, "b");
  EXPECT_TRUE(got[0].tensor.same_bytes(Tensor::from_vector<float>({2, 3}, {0, 1, 2, 3, 4, 5})));
  EXPECT_TRUE(got[1].tensor.same_bytes(Tensor::from_vector<int64_t>({4}, {1, -2, 3, -4})));
}

// The error is a kiln user error naming the archive and saying what is wrong.
void expect_refused(const std::string& bytes, const std::string& fragment) {
  try {
    parse_npz(bytes, "t.npz");
    ADD_FAILURE() << "accepted; expected: " << fragment;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << e.what();
    const std::string msg = e.what();
    EXPECT_NE(msg.find("t.npz"), std::string::npos) << msg;
    EXPECT_NE(msg.find(fragment), std::string::npos) << "want '" << fragment << "' in: " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

// Anything at all: a kiln Error or a successful parse, never a crash or another exception.
void expect_error_or_success(const std::string& bytes, const std::string& context) {
  try {
    parse_npz(bytes, "t.npz");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << context << ": " << e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << context << ": not a kiln Error: " << e.what();
  }
}

std::vector<NpzArray> sample_arrays() {
  std::vector<NpzArray> a;
  int seed = 1;
  for (DType dt : {DType::kF32, DType::kF16, DType::kBF16, DType::kF64, DType::kI64, DType::kI32,
                   DType::kI8, DType::kU8, DType::kBool})
    a.push_back(
        {std::string("t_") + dtype_name(dt), test::random_tensor(dt, {2, 3, 5}, seed++, -5, 5)});
  a.push_back({"scalar", Tensor::scalar<float>(2.5f)});
  a.push_back({"empty", Tensor(DType::kF32, {0, 4})});
  a.push_back({"dir/nested", Tensor::from_vector<int32_t>({3}, {7, 8, 9})});
  a.push_back({"caf\xc3\xa9", Tensor::from_vector<uint8_t>({2}, {1, 2})});
  return a;
}

void expect_same(const std::vector<NpzArray>& got, const std::vector<NpzArray>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].name, want[i].name);
    EXPECT_EQ(got[i].tensor.dtype(), want[i].tensor.dtype()) << want[i].name;
    EXPECT_TRUE(got[i].tensor.same_bytes(want[i].tensor)) << want[i].name;
  }
}

TEST(Npz, RoundTripsInOrder) {
  const std::vector<NpzArray> arrays = sample_arrays();
  expect_same(parse_npz(serialize_npz(arrays), "t.npz"), arrays);
  expect_same(parse_npz(serialize_npz(arrays, /*force_zip64=*/true), "t.npz"), arrays);
  EXPECT_TRUE(parse_npz(serialize_npz({}), "t.npz").empty());
  EXPECT_EQ(serialize_npz({}).size(), 22u);  // just the end record, like np.savez() of nothing
}

TEST(Npz, WritesDeterministicStoredMembers) {
  const std::vector<NpzArray> arrays = sample_arrays();
  const std::string bytes = serialize_npz(arrays);
  EXPECT_EQ(bytes, serialize_npz(arrays));
  // Each member is "<name>.npy", stored (method 0), its data the .npy file itself.
  const std::string npy = serialize_npy(arrays[0].tensor);
  EXPECT_EQ(bytes.substr(0, 4), "PK\x03\x04");
  EXPECT_EQ(bytes[8], 0);
  EXPECT_EQ(bytes.substr(30, 14), "t_float32.npy" + npy.substr(0, 1));
  EXPECT_EQ(bytes.substr(30 + 13, npy.size()), npy);
}

TEST(Npz, ReadsWhatNumpyWrites) {
  expect_numpy_fixture(parse_npz(unhex(k_stored_hex), "stored.npz"));
  expect_numpy_fixture(parse_npz(unhex(k_deflate_hex), "deflate.npz"));
  expect_numpy_fixture(parse_npz(unhex(k_stream_hex), "stream.npz"));
  // kiln writes the same .npy bytes numpy does (numpy's local headers carry a 20-byte zip64
  // extra field, so a.npy's data starts at 30 + 5 + 20).
  const std::string numpy_file = unhex(k_stored_hex);
  const std::vector<NpzArray> arrays = parse_npz(numpy_file, "stored.npz");
  EXPECT_EQ(numpy_file.substr(55, 152), serialize_npy(arrays[0].tensor));
  EXPECT_EQ(serialize_npz(arrays).size(), 22 + 2 * (30 + 46 + 5 * 2) + 152 + 160u);
}

TEST(Npz, ReadsDeflateMembersAndZip64Records) {
  const std::string a = serialize_npy(test::random_tensor(DType::kF32, {64, 33}, 5));
  const std::string b = serialize_npy(Tensor(DType::kF64, {1000}));  // compresses well
  for (bool zip64 : {false, true}) {
    Entry ea = deflated("a.npy", a), eb = stored("b.npy", b), ec = deflated("c.npy", b);
    ea.zip64 = eb.zip64 = ec.zip64 = zip64;
    const std::vector<NpzArray> got = parse_npz(make_zip({ea, eb, ec}, zip64).bytes, "t.npz");
    ASSERT_EQ(got.size(), 3u);
    EXPECT_TRUE(got[0].tensor.same_bytes(parse_npy(a, "a")));
    EXPECT_TRUE(got[1].tensor.same_bytes(parse_npy(b, "b")));
    EXPECT_TRUE(got[2].tensor.same_bytes(parse_npy(b, "b")));
    EXPECT_LT(ec.compressed * 10, ec.uncompressed);
  }
}

TEST(Npz, FileRoundTripIsAtomic) {
  const std::string dir = test::make_temp_dir("npz");
  const std::vector<NpzArray> arrays = sample_arrays();
  write_npz(dir + "/a.npz", arrays);
  expect_same(read_npz(dir + "/a.npz"), arrays);
  EXPECT_FALSE(std::filesystem::exists(dir + "/a.npz.tmp"));
  try {
    read_npz(dir + "/missing.npz");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
  std::filesystem::remove_all(dir);
}

TEST(Npz, RefusesBadNamesWhenWriting) {
  for (const std::vector<NpzArray>& bad :
       {std::vector<NpzArray>{{"", Tensor::scalar<float>(1)}},
        std::vector<NpzArray>{{"x", Tensor::scalar<float>(1)}, {"x", Tensor::scalar<float>(2)}}}) {
    try {
      serialize_npz(bad);
      ADD_FAILURE();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    }
  }
}

TEST(Npz, RefusesEveryTruncation) {
  for (const std::string& good : {serialize_npz(sample_arrays()), unhex(k_deflate_hex),
                                  unhex(k_stream_hex), serialize_npz(sample_arrays(), true)}) {
    for (size_t n = 0; n < good.size(); ++n) {
      try {
        parse_npz(std::string_view(good).substr(0, n), "t.npz");
        ADD_FAILURE() << "accepted the first " << n << " of " << good.size() << " bytes";
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << e.what();
        EXPECT_NE(std::string(e.what()).find("t.npz"), std::string::npos) << e.what();
      }
    }
  }
  expect_refused("", "truncated");
  expect_refused(unhex(k_stored_hex).substr(0, 400), "end of central directory");
}

TEST(Npz, SurvivesEveryFlippedByte) {
  const std::vector<NpzArray> small = {{"a", Tensor::from_vector<float>({2}, {1, 2})},
                                       {"b", Tensor::from_vector<int8_t>({3}, {1, 2, 3})}};
  for (const std::string& good :
       {unhex(k_stored_hex), unhex(k_deflate_hex), serialize_npz(small, true)})
    for (size_t i = 0; i < good.size(); ++i)
      for (uint8_t mask : {uint8_t(0x01), uint8_t(0x80), uint8_t(0xff)}) {
        std::string bad = good;
        bad[i] = char(uint8_t(bad[i]) ^ mask);
        expect_error_or_success(bad, "byte " + std::to_string(i));
      }
}

TEST(Npz, RefusesCorruptMembers) {
  const std::string npy = serialize_npy(Tensor::from_vector<float>({3}, {1, 2, 3}));
  {  // a data byte changed: the CRC catches it
    ZipLayout z = make_zip({stored("x.npy", npy)});
    z.bytes[z.local[0] + 30 + 5 + npy.size() - 1] ^= 0x40;
    expect_refused(z.bytes, "CRC-32");
  }
  {
    Entry e = deflated("x.npy", npy);
    e.crc ^= 1;
    expect_refused(make_zip({e}).bytes, "CRC-32");
  }
  {
    Entry e = stored("x.npy", npy);
    e.method = 12;  // bzip2
    expect_refused(make_zip({e}).bytes, "compression method 12");
  }
  expect_refused(make_zip({stored("x.txt", npy)}).bytes, "'x.txt' is not a .npy array");
  expect_refused(make_zip({stored("x.npy", npy), stored("x.npy", npy)}).bytes, "duplicate");
  expect_refused(make_zip({stored("x.npy", "not numpy")}).bytes,
                 "member 'x.npy' is not a valid .npy file");
  {
    Entry e = stored("x.npy", npy);
    e.flags = 1;
    expect_refused(make_zip({e}).bytes, "encrypted");
  }
  {  // central and local names disagree
    ZipLayout z = make_zip({stored("x.npy", npy)});
    z.bytes[z.local[0] + 30] = 'y';
    expect_refused(z.bytes, "local header names 'y.npy'");
  }
  {  // deflate data damaged in the middle
    Entry e = deflated("x.npy", serialize_npy(test::random_tensor(DType::kF32, {200}, 3)));
    for (size_t i = 2; i < e.payload.size(); i += 7) e.payload[i] = char(~e.payload[i]);
    expect_error_or_success(make_zip({e}).bytes, "damaged deflate");
    expect_refused(make_zip({e}).bytes, "");
  }
  {  // deflate data that ends early
    Entry e = deflated("x.npy", npy);
    e.payload.resize(e.payload.size() / 2);
    e.compressed = e.payload.size();
    expect_refused(make_zip({e}).bytes, "ends early");
  }
  {  // declared sizes that disagree with the stream
    Entry e = deflated("x.npy", npy);
    e.uncompressed -= 1;
    expect_refused(make_zip({e}).bytes, "more than its declared");
    e.uncompressed += 2;
    expect_refused(make_zip({e}).bytes, "declared");
  }
  {
    Entry e = stored("x.npy", npy);
    e.uncompressed += 1;
    expect_refused(make_zip({e}).bytes, "sizes that differ");
  }
  expect_refused(npy, "is a .npy file, not an .npz archive");
  expect_refused(std::string(100, 'x'), "no end of central directory");
}

// Sizes and counts beyond the file are refused before anything is allocated: with sizes of
// 2^40 and more, an attempt to allocate would throw std::bad_alloc (or abort under ASan).
TEST(Npz, RefusesHostileSizesWithoutAllocating) {
  const std::string npy = serialize_npy(Tensor::from_vector<float>({3}, {1, 2, 3}));
  {
    Entry e = stored("x.npy", npy);
    e.compressed = e.uncompressed = 0xfffffff0u;
    expect_refused(make_zip({e}).bytes, "is truncated (4294967280 bytes declared");
  }
  {
    Entry e = stored("x.npy", npy);
    e.zip64 = true;
    e.compressed = e.uncompressed = uint64_t(1) << 62;
    expect_refused(make_zip({e}, true).bytes, "truncated");
  }
  {
    Entry e = deflated("x.npy", npy);
    e.zip64 = true;
    e.uncompressed = uint64_t(1) << 50;
    expect_refused(make_zip({e}, true).bytes, "more than deflate can encode");
    e.uncompressed = 0xf0000000u;
    e.zip64 = false;
    expect_refused(make_zip({e}).bytes, "more than deflate can encode");
  }
  {  // a deflate member that claims ~1000x its size: within deflate's reach, so inflated, and
     // found short without allocating the claim up front (the buffer grows with the output)
    Entry e = deflated("x.npy", npy);
    e.uncompressed = e.compressed * 1000;
    expect_refused(make_zip({e}).bytes, "declared");
  }
  {
    ZipLayout z = make_zip({stored("x.npy", npy)});
    set32(z.bytes, z.eocd + 16, 0x7fffffff);  // central directory offset
    expect_refused(z.bytes, "outside the file");
  }
  {
    ZipLayout z = make_zip({stored("x.npy", npy)});
    z.bytes[z.eocd + 10] = char(0xff);  // 65535 members in a 51-byte directory
    z.bytes[z.eocd + 11] = char(0xff);
    expect_refused(z.bytes, "65535 members declared");
  }
  {
    ZipLayout z = make_zip({stored("x.npy", npy)});
    set32(z.bytes, z.central[0] + 42, 0x7ffffff0);  // local header offset
    expect_refused(z.bytes, "local header missing or out of bounds");
  }
  {  // zip64 end record: entry count and directory size of 2^60
    ZipLayout z = make_zip({stored("x.npy", npy)}, true);
    const size_t record = z.eocd - 20 - 56;
    std::string big;
    put64(big, uint64_t(1) << 60);
    z.bytes.replace(record + 24, 8, big);
    z.bytes.replace(record + 32, 8, big);
    expect_refused(z.bytes, "members declared");
    z.bytes.replace(record + 40, 8, big);
    expect_refused(z.bytes, "outside the file");
  }
  {  // zip64 locator pointing past the file
    ZipLayout z = make_zip({stored("x.npy", npy)}, true);
    std::string far;
    put64(far, uint64_t(1) << 40);
    z.bytes.replace(z.eocd - 20 + 8, 8, far);
    expect_refused(z.bytes, "zip64 end of central directory");
  }
  {  // 0xFFFFFFFF sizes without the zip64 extra field that should carry them
    Entry e = stored("x.npy", npy);
    ZipLayout z = make_zip({e});
    set32(z.bytes, z.central[0] + 20, 0xffffffffu);
    expect_refused(z.bytes, "no zip64 extra field");
  }
  {  // a huge shape in a member's .npy header
    std::string huge = npy;
    huge.replace(huge.find("(3,)"), 4, "(99999999999,)");
    expect_refused(make_zip({stored("x.npy", huge)}).bytes,
                   "member 'x.npy' is not a valid .npy file");
  }
}

}  // namespace
}  // namespace kiln
