#include "io/picture_check.h"

#include <algorithm>
#include <cstdint>

#include "kiln/status.h"

namespace kiln {

void check_jpeg_huffman_tables(std::string_view b, const std::string& what) {
  auto at = [&](size_t k) { return unsigned(uint8_t(b[k])); };
  if (b.size() < 2 || at(0) != 0xFF || at(1) != 0xD8) return;
  // Walk every marker segment, also those between the scans of a progressive JPEG. Inside
  // entropy-coded data a 0xFF is followed by 0x00 (stuffing) or a restart marker.
  size_t i = 2;
  while (i + 4 <= b.size()) {
    unsigned m = at(i + 1);
    if (at(i) != 0xFF || m == 0xFF || m == 0x00 || m == 0x01 || (m >= 0xD0 && m <= 0xD8)) {
      ++i;
      continue;
    }
    if (m == 0xD9) return;  // end of image
    size_t len = (at(i + 2) << 8) | at(i + 3);
    size_t end = i + 2 + len;
    if (m == 0xC4) {
      // Tables as stb reads them: one after another while the segment has bytes left, each
      // a class/id byte, 16 code counts, then that many symbols. Past the end of the bytes
      // stb reads zeros, so a table cut short still counts what it has.
      for (size_t p = i + 4; p < end && p < b.size();) {
        size_t n = 0;
        for (size_t k = 1; k <= 16 && p + k < b.size(); ++k) n += at(p + k);
        if (n > 256)
          fail(ErrorCode::kInvalidArgument, what + " is not a readable picture (a JPEG Huffman table declares " +
                                                std::to_string(n) + " codes, at most 256 exist)");
        p += 17 + n;
      }
    }
    i = len < 2 ? i + 2 : end;  // a length under 2 is stb's to refuse
  }
}

void check_jpeg_scan_tables(std::string_view b, const std::string& what) {
  auto at = [&](size_t k) { return unsigned(uint8_t(b[k])); };
  if (b.size() < 2 || at(0) != 0xFF || at(1) != 0xD8) return;
  bool defined[2][4] = {};  // [DC, AC][table id]
  bool progressive = false;
  for (size_t i = 2; i + 4 <= b.size();) {
    const unsigned m = at(i + 1);
    if (at(i) != 0xFF || m == 0xFF || m == 0x00 || m == 0x01 || (m >= 0xD0 && m <= 0xD8)) {
      ++i;
      continue;
    }
    if (m == 0xD9) return;
    const size_t len = (at(i + 2) << 8) | at(i + 3), end = std::min(b.size(), i + 2 + len);
    if (m == 0xC2) progressive = true;
    if (m == 0xC4)  // tables as check_jpeg_huffman_tables walks them
      for (size_t p = i + 4; p < end;) {
        const unsigned cls = at(p) >> 4, id = at(p) & 15;
        if (cls < 2 && id < 4) defined[cls][id] = true;
        size_t n = 0;
        for (size_t k = 1; k <= 16 && p + k < b.size(); ++k) n += at(p + k);
        p += 17 + n;
      }
    if (m == 0xDA) {
      // stb reads zeros past the end of the bytes, so a scan header cut short still selects
      // tables (0) and a spectral start (0: a DC scan); read it the same way.
      auto at_or_zero = [&](size_t k) { return k < b.size() ? at(k) : 0u; };
      const size_t count = at_or_zero(i + 4);
      // Spectral start after the component list: 0 is a DC scan (progressive) or baseline.
      const unsigned ss = at_or_zero(i + 5 + 2 * count);
      const bool dc_scan = !progressive || ss == 0;
      const bool ac_scan = !progressive || ss != 0;
      for (size_t c = 0; c < count; ++c) {
        const unsigned tables = at_or_zero(i + 6 + 2 * c), dc = tables >> 4, ac = tables & 15;
        if ((dc_scan && (dc > 3 || !defined[0][dc])) || (ac_scan && (ac > 3 || !defined[1][ac])))
          fail(ErrorCode::kInvalidArgument, what + " is not a readable picture (a JPEG scan uses a Huffman table "
                                                  "that was never defined)");
      }
    }
    i = len < 2 ? i + 2 : i + 2 + len;
  }
}

void check_jpeg_size(std::string_view b, const std::string& what) {
  auto at = [&](size_t k) { return unsigned(uint8_t(b[k])); };
  if (b.size() < 2 || at(0) != 0xFF || at(1) != 0xD8) return;
  for (size_t i = 2; i + 9 <= b.size();) {
    const unsigned m = at(i + 1);
    if (at(i) != 0xFF || m == 0xFF || m == 0x00 || m == 0x01 || (m >= 0xD0 && m <= 0xD9)) {
      ++i;
      continue;
    }
    const size_t len = (at(i + 2) << 8) | at(i + 3);
    if (m == 0xC0 || m == 0xC1 || m == 0xC2) {  // Huffman baseline / extended / progressive
      const uint64_t h = (at(i + 5) << 8) | at(i + 6), w = (at(i + 7) << 8) | at(i + 8);
      const uint64_t blocks = ((w + 7) / 8) * ((h + 7) / 8);
      if (uint64_t(b.size()) * 8 < blocks)
        fail(ErrorCode::kInvalidArgument, what + " is not a readable picture (a JPEG of " + std::to_string(w) + "x" +
                                              std::to_string(h) + " pixels needs at least " +
                                              std::to_string((blocks + 7) / 8) + " bytes, it has " +
                                              std::to_string(b.size()) + ": truncated?)");
      return;
    }
    i = len < 2 ? i + 2 : i + 2 + len;
  }
}

void check_png_chunk_lengths(std::string_view b, const std::string& what) {
  if (b.substr(0, 8) != std::string_view("\x89PNG\r\n\x1a\n", 8)) return;
  auto be32 = [&](size_t k) {
    return uint64_t(uint8_t(b[k])) << 24 | uint64_t(uint8_t(b[k + 1])) << 16 | uint64_t(uint8_t(b[k + 2])) << 8 |
           uint64_t(uint8_t(b[k + 3]));
  };
  // Chunks: 4-byte length, 4-byte type, data, 4-byte CRC; stb stops at IEND.
  for (size_t off = 8; off + 8 <= b.size();) {
    uint64_t len = be32(off);
    if (off + 12 + len > b.size())
      fail(ErrorCode::kInvalidArgument, what + " is not a readable picture (a PNG chunk declares " +
                                            std::to_string(len) + " bytes, past the end of the file)");
    if (b.substr(off + 4, 4) == "IEND") return;
    // stb 2.27 adds an empty first IDAT's offset to its still-null buffer (UBSan: fuzz_image in
    // CI); encoders never write an empty IDAT.
    if (len == 0 && b.substr(off + 4, 4) == "IDAT")
      fail(ErrorCode::kInvalidArgument, what + " is not a readable picture (an empty PNG IDAT chunk)");
    off += 12 + size_t(len);
  }
}

void check_bmp_size(std::string_view b, const std::string& what) {
  // stb reads zeros past the end of the bytes, so a header cut short still declares a size.
  auto u8 = [&](size_t k) { return k < b.size() ? uint64_t(uint8_t(b[k])) : 0; };
  auto u16 = [&](size_t k) { return u8(k) | u8(k + 1) << 8; };
  auto u32 = [&](size_t k) { return u16(k) | u16(k + 2) << 16; };
  if (b.size() < 2 || b[0] != 'B' || b[1] != 'M') return;
  const uint64_t offset = u32(10), header = u32(14);
  uint64_t w = 0, h = 0, bpp = 0, compression = 0;
  if (header == 12) {  // BITMAPCOREHEADER: 16-bit sizes
    w = u16(18), h = u16(20), bpp = u16(24);
  } else if (header >= 40) {  // BITMAPINFOHEADER and later: signed 32-bit sizes
    const int64_t sw = int32_t(uint32_t(u32(18))), sh = int32_t(uint32_t(u32(22)));
    w = uint64_t(sw < 0 ? -sw : sw), h = uint64_t(sh < 0 ? -sh : sh);  // negative height: top-down rows
    bpp = u16(28), compression = u32(30);
  } else {
    return;  // stb refuses the rest itself
  }
  // stb refuses RLE (1, 2) and decodes every other compression value as uncompressed rows.
  if (compression == 1 || compression == 2) return;
  const uint64_t row = (bpp * w + 31) / 32 * 4, need = offset + row * h;  // rows padded to 4 bytes
  if (bpp == 0 || w == 0 || h == 0 || need <= b.size()) return;
  fail(ErrorCode::kInvalidArgument, what + " is not a readable picture (a BMP of " + std::to_string(w) + "x" +
                                        std::to_string(h) + " pixels at " + std::to_string(bpp) + " bits needs " +
                                        std::to_string(need) + " bytes, it has " + std::to_string(b.size()) +
                                        ": truncated?)");
}

}  // namespace kiln
