#include "io/npz.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <set>

#include "io/file_util.h"
#include "io/npy.h"

namespace kiln {
namespace {

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr size_t kLocalHeaderSize = 30, kCentralHeaderSize = 46, kEndSize = 22;
constexpr size_t kZip64EndSize = 56, kZip64LocatorSize = 20;
constexpr uint32_t kMax32 = 0xFFFFFFFFu;
constexpr uint16_t kMax16 = 0xFFFFu;
constexpr uint16_t kZip64ExtraId = 0x0001;
// Deflate cannot expand by more than 1032:1 (258 bytes from one length/distance pair of at
// least 2 bits); a larger declared size is refused before anything is allocated.
constexpr uint64_t kMaxDeflateRatio = 1032;
constexpr size_t kFirstInflateChunk = size_t(64) << 20;

// Member names come from the file: keep error messages on one printable line.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 200)) out += (uint8_t(c) < 0x20 || c == 0x7f) ? '?' : c;
  if (s.size() > 200) out += "...";
  return out;
}

[[noreturn]] void bad(const std::string& what, const std::string& why) {
  fail(ErrorCode::kInvalidArgument, what + " is not a valid .npz file: " + why);
}

uint32_t crc32_of(std::string_view bytes) {
  return uint32_t(crc32_z(0, reinterpret_cast<const Bytef*>(bytes.data()), bytes.size()));
}

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

// Little-endian fields at offsets that the caller has checked against the size.
struct Bytes {
  std::string_view b;
  uint16_t u16(uint64_t off) const {
    return uint16_t(uint8_t(b[size_t(off)]) | uint16_t(uint8_t(b[size_t(off) + 1])) << 8);
  }
  uint32_t u32(uint64_t off) const { return u16(off) | uint32_t(u16(off + 2)) << 16; }
  uint64_t u64(uint64_t off) const { return u32(off) | uint64_t(u32(off + 4)) << 32; }
  // [off, off + n) lies inside [0, end) (end ≤ size), without overflow.
  bool fits(uint64_t off, uint64_t n, uint64_t end) const { return off <= end && n <= end - off; }
};

struct Member {
  std::string name;
  uint16_t flags = 0, method = 0;
  uint32_t crc = 0;
  uint64_t compressed = 0, uncompressed = 0, local_offset = 0;
};

// The zip64 extended-information extra field replaces, in this order, whichever of the
// uncompressed size, compressed size and local header offset are 0xFFFFFFFF in the header.
void read_zip64_extra(const Bytes& z, uint64_t off, uint64_t len, Member& m, bool size32_u,
                      bool size32_c, bool offset32, const std::string& what) {
  const uint64_t end = off + len;
  while (end - off >= 4) {
    uint16_t id = z.u16(off), size = z.u16(off + 2);
    off += 4;
    if (size > end - off)
      bad(what, "extra field of member '" + printable(m.name) + "' overruns its header");
    if (id == kZip64ExtraId) {
      uint64_t p = off, field_end = off + size;
      auto take = [&](uint64_t& v) {
        if (field_end - p < 8)
          bad(what, "zip64 extra field of member '" + printable(m.name) + "' is too short");
        v = z.u64(p);
        p += 8;
      };
      if (size32_u) take(m.uncompressed);
      if (size32_c) take(m.compressed);
      if (offset32) take(m.local_offset);
      return;
    }
    off += size;
  }
  if (size32_u || size32_c || offset32)
    bad(what, "member '" + printable(m.name) +
                  "' has 32-bit fields of 0xFFFFFFFF and no zip64 extra field");
}

// Inflates a raw deflate stream into exactly m.uncompressed bytes. The buffer grows only as
// data actually comes out (from 64 MiB, doubling), so a lying header costs no memory.
std::string inflate_member(std::string_view in, const Member& m, const std::string& what) {
  const std::string who = "member '" + printable(m.name) + "'";
  z_stream s{};
  if (inflateInit2(&s, -MAX_WBITS) != Z_OK) fail(ErrorCode::kInternal, "zlib inflateInit2 failed");
  struct End {
    z_stream* s;
    ~End() { inflateEnd(s); }
  } end{&s};
  std::string out(size_t(std::min<uint64_t>(m.uncompressed, kFirstInflateChunk)), '\0');
  size_t in_pos = 0, out_pos = 0;
  char probe = 0;
  for (;;) {
    if (out_pos == out.size() && out.size() < m.uncompressed)
      out.resize(size_t(std::min<uint64_t>(m.uncompressed, uint64_t(out.size()) * 2)));
    // Once the declared size is reached, a one-byte probe checks that nothing more comes.
    const bool full = out_pos == out.size();
    const size_t in_chunk = std::min<size_t>(in.size() - in_pos, UINT_MAX);
    const size_t out_chunk = full ? 1 : std::min<size_t>(out.size() - out_pos, UINT_MAX);
    s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + in_pos));
    s.avail_in = uInt(in_chunk);
    s.next_out = reinterpret_cast<Bytef*>(full ? &probe : out.data() + out_pos);
    s.avail_out = uInt(out_chunk);
    const int rc = inflate(&s, Z_NO_FLUSH);
    in_pos += in_chunk - s.avail_in;
    const size_t produced = out_chunk - s.avail_out;
    if (full && produced)
      bad(what,
          who + " inflates to more than its declared " + std::to_string(m.uncompressed) + " bytes");
    if (!full) out_pos += produced;
    if (rc == Z_STREAM_END) break;
    if (rc == Z_MEM_ERROR)
      fail(ErrorCode::kInternal, "out of memory inflating " + who + " of " + what);
    if (rc != Z_OK && rc != Z_BUF_ERROR)
      bad(what,
          who + " has corrupt deflate data" + (s.msg ? std::string(" (zlib: ") + s.msg + ")" : ""));
    if (in_pos == in.size() && (rc == Z_BUF_ERROR || produced == 0))
      bad(what, who + " is truncated (its deflate stream ends early)");
  }
  if (out_pos != m.uncompressed)
    bad(what, who + " inflates to " + std::to_string(out_pos) + " bytes, " +
                  std::to_string(m.uncompressed) + " declared");
  return out;
}

std::vector<Member> read_central_directory(const Bytes& z, const std::string& what) {
  const uint64_t size = z.b.size();
  if (size >= 6 && z.b.substr(0, 6) == "\x93NUMPY")
    bad(what, "it is a .npy file, not an .npz archive");
  if (size < kEndSize)
    bad(what, "truncated (" + std::to_string(size) + " bytes, no end of central directory)");
  // The end record is the last thing in the file but for a comment of up to 64 KiB.
  uint64_t eocd = UINT64_MAX;
  for (uint64_t p = size - kEndSize + 1; p-- > 0 && size - p <= kEndSize + kMax16;) {
    if (z.u32(p) == kEndSig && z.u16(p + 20) <= size - p - kEndSize) {
      eocd = p;
      break;
    }
  }
  if (eocd == UINT64_MAX)
    bad(what, "no end of central directory record (truncated or not a zip archive)");
  if (z.u16(eocd + 4) != 0 || z.u16(eocd + 6) != 0)
    bad(what, "multi-disk archives are not supported");
  uint64_t entries = z.u16(eocd + 10), cd_size = z.u32(eocd + 12), cd_offset = z.u32(eocd + 16);
  uint64_t cd_limit = eocd;  // the central directory ends before this
  if (eocd >= kZip64LocatorSize && z.u32(eocd - kZip64LocatorSize) == kZip64LocatorSig) {
    const uint64_t locator = eocd - kZip64LocatorSize;
    const uint64_t record = z.u64(locator + 8);
    if (!z.fits(record, kZip64EndSize, locator) || z.u32(record) != kZip64EndSig)
      bad(what, "zip64 end of central directory record missing or out of bounds");
    if (z.u32(record + 16) != 0 || z.u32(record + 20) != 0)
      bad(what, "multi-disk archives are not supported");
    entries = z.u64(record + 32);
    cd_size = z.u64(record + 40);
    cd_offset = z.u64(record + 48);
    cd_limit = record;
  }
  if (!z.fits(cd_offset, cd_size, cd_limit))
    bad(what, "central directory (" + std::to_string(cd_size) + " bytes at offset " +
                  std::to_string(cd_offset) + ") lies outside the file (truncated?)");
  if (entries > cd_size / kCentralHeaderSize)
    bad(what, std::to_string(entries) + " members declared, the central directory has room for " +
                  std::to_string(cd_size / kCentralHeaderSize));

  const uint64_t cd_end = cd_offset + cd_size;
  std::vector<Member> members;
  members.reserve(size_t(entries));
  uint64_t p = cd_offset;
  for (uint64_t i = 0; i < entries; ++i) {
    if (!z.fits(p, kCentralHeaderSize, cd_end) || z.u32(p) != kCentralSig)
      bad(what, "central directory entry " + std::to_string(i) + " is corrupt");
    Member m;
    m.flags = z.u16(p + 8);
    m.method = z.u16(p + 10);
    m.crc = z.u32(p + 16);
    m.compressed = z.u32(p + 20);
    m.uncompressed = z.u32(p + 24);
    const uint16_t name_len = z.u16(p + 28), extra_len = z.u16(p + 30), comment_len = z.u16(p + 32);
    m.local_offset = z.u32(p + 42);
    const uint64_t var_len = uint64_t(name_len) + extra_len + comment_len;
    if (!z.fits(p + kCentralHeaderSize, var_len, cd_end))
      bad(what, "central directory entry " + std::to_string(i) + " overruns the directory");
    m.name = std::string(z.b.substr(size_t(p + kCentralHeaderSize), name_len));
    read_zip64_extra(z, p + kCentralHeaderSize + name_len, extra_len, m, m.uncompressed == kMax32,
                     m.compressed == kMax32, m.local_offset == kMax32, what);
    if (z.u16(p + 34) != 0 && z.u16(p + 34) != kMax16)
      bad(what, "multi-disk archives are not supported");
    members.push_back(std::move(m));
    p += kCentralHeaderSize + var_len;
  }
  return members;
}

}  // namespace

std::vector<NpzArray> parse_npz(std::string_view bytes, const std::string& what) {
  const Bytes z{bytes};
  const uint64_t size = bytes.size();
  std::vector<Member> members = read_central_directory(z, what);
  std::vector<NpzArray> arrays;
  arrays.reserve(members.size());
  std::set<std::string> seen;
  for (const Member& m : members) {
    const std::string who = "member '" + printable(m.name) + "'";
    if (m.name.size() < 4 || m.name.compare(m.name.size() - 4, 4, ".npy") != 0)
      bad(what, who + " is not a .npy array");
    if (!seen.insert(m.name).second) bad(what, "duplicate " + who);
    if (m.flags & 1) bad(what, who + " is encrypted");
    if (m.method != 0 && m.method != 8)
      bad(what, who + " uses compression method " + std::to_string(m.method) +
                    "; only stored (0) and deflate (8) are supported");
    // The local header repeats the name and has its own extra field; the data follows it.
    if (!z.fits(m.local_offset, kLocalHeaderSize, size) || z.u32(m.local_offset) != kLocalSig)
      bad(what, who + ": local header missing or out of bounds (offset " +
                    std::to_string(m.local_offset) + ")");
    const uint16_t name_len = z.u16(m.local_offset + 26), extra_len = z.u16(m.local_offset + 28);
    const uint64_t name_off = m.local_offset + kLocalHeaderSize;
    if (!z.fits(name_off, uint64_t(name_len) + extra_len, size))
      bad(what, who + ": local header is truncated");
    if (bytes.substr(size_t(name_off), name_len) != m.name)
      bad(what, who + ": local header names '" +
                    printable(bytes.substr(size_t(name_off), name_len)) + "'");
    const uint64_t data_off = name_off + name_len + extra_len;
    if (!z.fits(data_off, m.compressed, size))
      bad(what, who + " is truncated (" + std::to_string(m.compressed) + " bytes declared, " +
                    std::to_string(size - data_off) + " present)");
    std::string_view data = bytes.substr(size_t(data_off), size_t(m.compressed));
    std::string inflated;
    if (m.method == 0) {
      if (m.uncompressed != m.compressed)
        bad(what, who + " is stored with sizes that differ (" + std::to_string(m.compressed) +
                      " and " + std::to_string(m.uncompressed) + ")");
    } else {
      if (m.uncompressed / kMaxDeflateRatio > m.compressed)
        bad(what, who + " declares " + std::to_string(m.uncompressed) + " bytes from " +
                      std::to_string(m.compressed) + " compressed, more than deflate can encode");
      inflated = inflate_member(data, m, what);
      data = inflated;
    }
    const uint32_t crc = crc32_of(data);
    if (crc != m.crc)
      bad(what, who + " fails its CRC-32 check (recorded " + hex32(m.crc) + ", computed " +
                    hex32(crc) + ")");
    Tensor t = parse_npy(data, what + ": member '" + printable(m.name) + "'");
    arrays.push_back({m.name.substr(0, m.name.size() - 4), std::move(t)});
  }
  return arrays;
}

std::vector<NpzArray> read_npz(const std::string& path) { return parse_npz(read_file(path), path); }

namespace {

void put16(std::string& o, uint64_t v) {
  o += char(v & 0xff);
  o += char((v >> 8) & 0xff);
}
void put32(std::string& o, uint64_t v) {
  put16(o, v & 0xffff);
  put16(o, (v >> 16) & 0xffff);
}
void put64(std::string& o, uint64_t v) {
  put32(o, v & kMax32);
  put32(o, v >> 32);
}

constexpr uint16_t kDosDate1980 = (0 << 9) | (1 << 5) | 1;  // 1980-01-01: reproducible files
constexpr uint32_t kUnixRw = 0600u << 16;                   // external attributes, as numpy's
constexpr uint16_t kMadeByUnix = 3 << 8;

}  // namespace

std::string serialize_npz(const std::vector<NpzArray>& arrays, bool force_zip64) {
  struct Written {
    std::string name;
    uint32_t crc;
    uint64_t size, offset;
  };
  std::vector<Written> written;
  std::set<std::string> names;
  std::string out;
  for (const NpzArray& a : arrays) {
    if (a.name.empty()) fail(ErrorCode::kInvalidArgument, "an .npz array needs a non-empty name");
    if (!names.insert(a.name).second)
      fail(ErrorCode::kInvalidArgument, "two .npz arrays are named '" + printable(a.name) + "'");
    std::string member = a.name + ".npy";
    if (member.size() > kMax16)
      fail(ErrorCode::kInvalidArgument,
           "an .npz array name is too long (" + std::to_string(a.name.size()) + " bytes)");
    const std::string npy = serialize_npy(a.tensor);
    const Written w{member, crc32_of(npy), npy.size(), out.size()};
    const bool zip64 = force_zip64 || w.size >= kMax32;
    const bool utf8 =
        std::any_of(member.begin(), member.end(), [](char c) { return uint8_t(c) >= 0x80; });
    put32(out, kLocalSig);
    put16(out, zip64 ? 45 : 20);
    put16(out, utf8 ? 0x800 : 0);
    put16(out, 0);  // stored
    put16(out, 0);
    put16(out, kDosDate1980);
    put32(out, w.crc);
    put32(out, zip64 ? kMax32 : w.size);
    put32(out, zip64 ? kMax32 : w.size);
    put16(out, member.size());
    put16(out, zip64 ? 20 : 0);
    out += member;
    if (zip64) {
      put16(out, kZip64ExtraId);
      put16(out, 16);
      put64(out, w.size);
      put64(out, w.size);
    }
    out += npy;
    written.push_back(w);
  }

  const uint64_t cd_offset = out.size();
  for (const Written& w : written) {
    const bool big_size = force_zip64 || w.size >= kMax32;
    const bool big_offset = force_zip64 || w.offset >= kMax32;
    const bool zip64 = big_size || big_offset;
    const uint16_t extra = (big_size ? 16 : 0) + (big_offset ? 8 : 0);
    const bool utf8 =
        std::any_of(w.name.begin(), w.name.end(), [](char c) { return uint8_t(c) >= 0x80; });
    put32(out, kCentralSig);
    put16(out, kMadeByUnix | (zip64 ? 45 : 20));
    put16(out, zip64 ? 45 : 20);
    put16(out, utf8 ? 0x800 : 0);
    put16(out, 0);
    put16(out, 0);
    put16(out, kDosDate1980);
    put32(out, w.crc);
    put32(out, big_size ? kMax32 : w.size);
    put32(out, big_size ? kMax32 : w.size);
    put16(out, w.name.size());
    put16(out, zip64 ? extra + 4 : 0);
    put16(out, 0);  // comment
    put16(out, 0);  // disk
    put16(out, 0);  // internal attributes
    put32(out, kUnixRw);
    put32(out, big_offset ? kMax32 : w.offset);
    out += w.name;
    if (zip64) {
      put16(out, kZip64ExtraId);
      put16(out, extra);
      if (big_size) {
        put64(out, w.size);
        put64(out, w.size);
      }
      if (big_offset) put64(out, w.offset);
    }
  }
  const uint64_t cd_size = out.size() - cd_offset;
  const uint64_t entries = written.size();
  const bool zip64_end =
      force_zip64 || entries >= kMax16 || cd_offset >= kMax32 || cd_size >= kMax32;
  if (zip64_end) {
    const uint64_t record = out.size();
    put32(out, kZip64EndSig);
    put64(out, kZip64EndSize - 12);  // the record's size after this field
    put16(out, kMadeByUnix | 45);
    put16(out, 45);
    put32(out, 0);
    put32(out, 0);
    put64(out, entries);
    put64(out, entries);
    put64(out, cd_size);
    put64(out, cd_offset);
    put32(out, kZip64LocatorSig);
    put32(out, 0);
    put64(out, record);
    put32(out, 1);
  }
  put32(out, kEndSig);
  put16(out, 0);
  put16(out, 0);
  put16(out, zip64_end ? kMax16 : entries);
  put16(out, zip64_end ? kMax16 : entries);
  put32(out, zip64_end ? kMax32 : cd_size);
  put32(out, zip64_end ? kMax32 : cd_offset);
  put16(out, 0);  // comment
  return out;
}

void write_npz(const std::string& path, const std::vector<NpzArray>& arrays) {
  write_file_atomic(path, serialize_npz(arrays));
}

}  // namespace kiln
