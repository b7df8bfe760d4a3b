// Checks on picture bytes before stb_image decodes them, for what stb 2.27 (Debian's) misses;
// each found by fuzz_image (tests/fuzz).
#pragma once
#include <string>
#include <string_view>

namespace kiln {

// Refuses (kInvalidArgument naming `what`) a JPEG whose Huffman table (DHT) declares more
// than 256 codes: stb_image 2.27 (Debian's) writes them past its 257-entry size table.
// Bytes that are not a JPEG pass untouched.
void check_jpeg_huffman_tables(std::string_view bytes, const std::string& what);

// Refuses (kInvalidArgument) a JPEG scan that names a Huffman table no DHT segment defined
// before it (DC tables for baseline and progressive DC scans, AC tables for baseline and
// progressive AC scans): stb_image 2.27 decodes with the empty table and indexes its symbol
// arrays with a negative code (fuzz_image). Bytes that are not a JPEG pass untouched.
void check_jpeg_scan_tables(std::string_view bytes, const std::string& what);

// Refuses (kInvalidArgument) a Huffman-coded JPEG with fewer bytes than one bit per 8x8 block of
// its declared size: every block codes at least its DC difference, so such a file is cut short,
// and stb_image would decode all of it from zeros (a 288-byte file declaring 16128 x 4096 took
// over 10 s under the sanitizers). Bytes that are not a JPEG pass untouched.
void check_jpeg_size(std::string_view bytes, const std::string& what);

// Refuses (kInvalidArgument) a PNG chunk whose declared length runs past the end of the bytes:
// stb allocates an IDAT chunk's declared size (up to 2 GiB) before reading it. Empty IDAT chunks
// are refused too (stb computes null + 0 on one). Bytes that are not a PNG pass untouched.
void check_png_chunk_lengths(std::string_view bytes, const std::string& what);

// Refuses (kInvalidArgument) a BMP stb would read as uncompressed (any compression value but
// RLE) with fewer bytes than its declared rows take:
// stb_image reads zeros past the end for every missing pixel (a 180-byte file declaring
// 16449281 x 2 pixels timed out fuzz_image under the sanitizers). Bytes that are not a BMP pass
// untouched.
void check_bmp_size(std::string_view bytes, const std::string& what);

}  // namespace kiln
