// Pictures in and out: resizing, normalization into NCHW, palettes, mattes, and PNG writing
// (gray and RGBA) read back through stb's decoder.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "../ops/harness.h"
#include "onnx_builder.h"
#include "io/file_util.h"
#include "io/image.h"
#include "io/matte.h"
#include "io/palettes.h"
#include "io/png_rgba.h"
#include "io/progress.h"

namespace kiln {
namespace {

Image gradient(int w, int h) {
  Image img{w, h, std::vector<uint8_t>(size_t(w) * h * 3)};
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) img.rgb[(size_t(y) * w + x) * 3 + c] = uint8_t((x * 37 + y * 11 + c * 80) % 256);
  return img;
}

TEST(PictureResize, SameSizeIsIdentity) {
  Image img = gradient(17, 5);
  EXPECT_EQ(resize_bilinear(img, 17, 5).rgb, img.rgb);
  EXPECT_EQ(resize_nearest(img, 17, 5).rgb, img.rgb);
}

TEST(PictureResize, BilinearHalfPixelUpscale) {
  // 2x1 → 4x1 with half-pixel centers: outputs sample at x = -0.25 (clamped 0), 0.25, 0.75, 1.25 (clamped 1).
  Image img{2, 1, {0, 0, 0, 200, 100, 40}};
  Image out = resize_bilinear(img, 4, 1);
  std::vector<uint8_t> want = {0, 0, 0, 50, 25, 10, 150, 75, 30, 200, 100, 40};
  EXPECT_EQ(out.rgb, want);
}

TEST(PictureResize, DownscaleAveragesNeighbours) {
  Image img{4, 1, {0, 0, 0, 100, 100, 100, 200, 200, 200, 255, 255, 255}};
  Image out = resize_bilinear(img, 2, 1);  // samples at x = 0.5 and 2.5
  EXPECT_EQ(out.rgb, (std::vector<uint8_t>{50, 50, 50, 228, 228, 228}));
}

TEST(PictureTensor, NormalizesPerChannelInNchw) {
  Image img{2, 1, {255, 0, 128, 0, 255, 64}};
  Tensor t = image_to_tensor(img, 2, 1, {0.5f, 0.25f, 0.0f}, {0.5f, 0.25f, 2.0f});
  ASSERT_EQ(t.dims(), (Dims{1, 3, 1, 2}));
  const float* p = t.data<float>();
  // channel-major: R of both pixels, then G, then B
  EXPECT_FLOAT_EQ(p[0], 1.0f);                    // (1 - 0.5) / 0.5
  EXPECT_FLOAT_EQ(p[1], -1.0f);                   // (0 - 0.5) / 0.5
  EXPECT_FLOAT_EQ(p[2], -1.0f);                   // (0 - 0.25) / 0.25
  EXPECT_FLOAT_EQ(p[3], 3.0f);                    // (1 - 0.25) / 0.25
  EXPECT_NEAR(p[4], 128.0 / 255 / 2, 1e-6);
  EXPECT_NEAR(p[5], 64.0 / 255 / 2, 1e-6);
}

TEST(PictureTensor, IsnetNormalizationMatchesItsRuntime) {
  // @imgly/background-removal feeds ISNet (v - 128) / 256 on 0..255 values.
  Image img{1, 1, {0, 128, 255}};
  float m = 128.0f / 255, s = 256.0f / 255;
  Tensor t = image_to_tensor(img, 1, 1, {m, m, m}, {s, s, s});
  EXPECT_NEAR(t.data<float>()[0], -0.5, 1e-6);
  EXPECT_NEAR(t.data<float>()[1], 0.0, 1e-6);
  EXPECT_NEAR(t.data<float>()[2], 127.0 / 256, 1e-6);
}

TEST(Palettes, SizesAndKnownColors) {
  ASSERT_EQ(cityscapes_palette().size(), 19u);
  ASSERT_EQ(ade20k_palette().size(), 150u);
  EXPECT_EQ(cityscapes_palette()[0], (Rgb{128, 64, 128}));   // road
  EXPECT_EQ(cityscapes_palette()[11], (Rgb{220, 20, 60}));   // person
  EXPECT_EQ(cityscapes_palette()[18], (Rgb{119, 11, 32}));   // bicycle
  EXPECT_EQ(ade20k_palette()[0], (Rgb{120, 120, 120}));      // wall
  EXPECT_EQ(ade20k_palette()[2], (Rgb{6, 230, 230}));        // sky
  EXPECT_EQ(ade20k_palette()[12], (Rgb{150, 5, 61}));        // person
  EXPECT_EQ(ade20k_palette()[149], (Rgb{92, 0, 255}));       // flag
}

TEST(Palettes, AutoPicksByClassCount) {
  EXPECT_EQ(resolve_palette(Palette::kAuto, 19), Palette::kCityscapes);
  EXPECT_EQ(resolve_palette(Palette::kAuto, 150), Palette::kAde20k);
  EXPECT_EQ(resolve_palette(Palette::kAuto, 7), Palette::kHues);
  EXPECT_EQ(resolve_palette(Palette::kAde20k, 19), Palette::kAde20k);
  EXPECT_EQ(palette_color(12, Palette::kAde20k), (Rgb{150, 5, 61}));
  EXPECT_NE(palette_color(19, Palette::kCityscapes), palette_color(20, Palette::kCityscapes));  // beyond: hues
  EXPECT_THROW(parse_palette("pascal"), Error);
  EXPECT_EQ(parse_palette("ade20k"), Palette::kAde20k);
}

TEST(Palettes, ColorizeUsesThePalette) {
  Image img = colorize({0, 12, 2}, 3, 1, Palette::kAde20k);
  EXPECT_EQ(img.rgb, (std::vector<uint8_t>{120, 120, 120, 150, 5, 61, 6, 230, 230}));
}

class PngFiles : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::make_temp_dir("png"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(PngFiles, RgbaRoundTripThroughStb) {
  ImageRgba img{5, 3, {}};
  for (int i = 0; i < 5 * 3 * 4; ++i) img.rgba.push_back(uint8_t(i * 17 + 3));
  write_png_rgba(dir_ + "/a.png", img);
  ImageRgba back = read_image_rgba(dir_ + "/a.png");
  EXPECT_EQ(back.width, 5);
  EXPECT_EQ(back.height, 3);
  EXPECT_EQ(back.rgba, img.rgba);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/a.png.tmp"));
}

TEST_F(PngFiles, GrayRoundTripAndOpaqueRgb) {
  std::vector<uint8_t> gray = {0, 64, 128, 255, 7, 9};
  write_png_gray(dir_ + "/g.png", 3, 2, gray);
  ImageRgba back = read_image_rgba(dir_ + "/g.png");
  ASSERT_EQ(back.rgba.size(), 24u);
  for (size_t i = 0; i < gray.size(); ++i) {
    EXPECT_EQ(back.rgba[i * 4], gray[i]);
    EXPECT_EQ(back.rgba[i * 4 + 1], gray[i]);
    EXPECT_EQ(back.rgba[i * 4 + 3], 255);
  }
  Image rgb = gradient(4, 2);
  write_png(dir_ + "/c.png", rgb);
  EXPECT_EQ(read_image(dir_ + "/c.png").rgb, rgb.rgb);
}

TEST_F(PngFiles, UnreadablePictureIsAUserError) {
  std::ofstream(dir_ + "/x.png") << "not a picture";
  try {
    read_image(dir_ + "/x.png");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("not a readable picture"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_image(dir_ + "/missing.png"), Error);
}

TEST_F(PngFiles, DecodesFromBytesAsFromTheFile) {
  Image rgb = gradient(6, 4);
  write_png(dir_ + "/d.png", rgb);
  std::string bytes = read_file(dir_ + "/d.png");
  EXPECT_EQ(decode_image(bytes, "d.png").rgb, rgb.rgb);
  ImageRgba rgba = decode_image_rgba(bytes, "d.png");
  EXPECT_EQ(rgba.width, 6);
  EXPECT_EQ(rgba.height, 4);
  EXPECT_EQ(rgba.rgba[3], 255);
}

// A 15-byte JPEG header declaring 40000 x 40000 gray pixels (stb itself allows up to 2^31
// bytes): refused from the header, before stb allocates 4.8 GB of RGB for it.
TEST(PictureDecode, RefusesAbsurdDimensionsBeforeDecoding) {
  std::string jpg("\xff\xd8\xff\xc0\x00\x0b\x08\x9c\x40\x9c\x40\x01\x01\x11\x00", 15);
  for (bool rgba : {false, true}) {
    try {
      if (rgba)
        decode_image_rgba(jpg, "big.jpg");
      else
        decode_image(jpg, "big.jpg");
      ADD_FAILURE() << "decoded";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find("big.jpg declares 40000x40000 pixels"), std::string::npos) << e.what();
    }
  }
}

// Both decoders refuse `bytes` as a user error whose message holds `fragment`.
void expect_refused_both_ways(const std::string& bytes, const std::string& name, const std::string& fragment) {
  for (bool rgba : {false, true}) {
    try {
      if (rgba)
        decode_image_rgba(bytes, name);
      else
        decode_image(bytes, name);
      ADD_FAILURE() << name << " decoded" << (rgba ? " (rgba)" : "");
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  }
}

// fuzz_image's timeout: a few hundred bytes declaring 16128 x 4096 pixels (under the pixel cap)
// made stb decode 66 Mpixels from zeros, over 10 s under the sanitizers. One bit per 8x8 block
// is the least a Huffman-coded JPEG can hold: fewer bytes mean it was cut short.
TEST(PictureDecode, RefusesJpegsTooShortForTheirSize) {
  // SOI, SOF0 (8-bit, 4096 rows, 16128 columns, one component), EOI.
  const std::string jpg("\xff\xd8\xff\xc0\x00\x0b\x08\x10\x00\x3f\x00\x01\x01\x11\x00\xff\xd9", 17);
  expect_refused_both_ways(jpg, "short.jpg",
                           "short.jpg is not a readable picture (a JPEG of 16128x4096 pixels needs at least 129024 "
                           "bytes, it has 17");
}

// A 24-bit bottom-up BMP of w x h pixels (BITMAPINFOHEADER), rows padded to 4 bytes.
std::string bmp24(int w, int h) {
  const int row = (24 * w + 31) / 32 * 4;
  std::string b(54 + size_t(row) * size_t(h), '\0');
  auto put = [&](size_t at, uint32_t v, int n) {
    for (int k = 0; k < n; ++k) b[at + size_t(k)] = char((v >> (8 * k)) & 0xff);
  };
  b[0] = 'B', b[1] = 'M';
  put(2, uint32_t(b.size()), 4), put(10, 54, 4), put(14, 40, 4), put(18, uint32_t(w), 4), put(22, uint32_t(h), 4);
  put(26, 1, 2), put(28, 24, 2);
  for (size_t i = 54; i < b.size(); ++i) b[i] = char(i * 7);
  return b;
}

TEST(PictureDecode, BmpsWithAllTheirRowsDecodeAndCutOnesDoNot) {
  const std::string good = bmp24(5, 3);  // 5 pixels: 15 bytes, padded to 16 per row
  Image img = decode_image(good, "good.bmp");
  EXPECT_EQ(img.width, 5);
  EXPECT_EQ(img.height, 3);
  EXPECT_EQ(img.rgb.size(), 5u * 3 * 3);
  try {
    decode_image(good.substr(0, good.size() - 1), "cut.bmp");
    ADD_FAILURE() << "decoded a BMP missing its last byte";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("cut.bmp is not a readable picture (a BMP of 5x3 pixels at 24 bits needs 102 "
                                         "bytes, it has 101: truncated?)"),
              std::string::npos)
        << e.what();
  }
}

// fuzz_image's 10-minute run: a 180-byte BMP declaring 16449281 x 2 pixels at 24 bits; stb read
// zeros past the end for all of them (over 10 s under the sanitizers).
TEST(PictureDecode, RefusesBmpsTooShortForTheirRows) {
  const std::string bytes = read_file(std::string(KILN_TEST_DIR) + "/fuzz/regressions/image_bmp_cut_short.bmp");
  expect_refused_both_ways(bytes, "short.bmp",
                           "short.bmp is not a readable picture (a BMP of 16449281x2 pixels at 24 bits needs 98695742 "
                           "bytes, it has 180: truncated?)");
  // CI's 60-second run: 63 x 1048578 pixels with a garbage compression field, which stb reads as
  // uncompressed (it refuses only RLE).
  const std::string odd = read_file(std::string(KILN_TEST_DIR) + "/fuzz/regressions/image_bmp_odd_compression.bmp");
  expect_refused_both_ways(odd, "odd.bmp", "odd.bmp is not a readable picture (a BMP of 63x1048578 pixels at 24 bits");
  // The 10-minute run after finding 11: a 29-byte BMP, cut inside its header, declaring 11403536 x 2
  // pixels at 8 bits; stb reads the missing header bytes and rows as zeros (over 12 s fuzzed).
  const std::string header = read_file(std::string(KILN_TEST_DIR) + "/fuzz/regressions/image_bmp_header_cut_short.bmp");
  expect_refused_both_ways(header, "header.bmp",
                           "header.bmp is not a readable picture (a BMP of 11403536x2 pixels at 8 bits needs");
}

// fuzz_image's findings (tests/fuzz/regressions): JPEGs whose Huffman table declares 412
// codes, and one cut short in its counts (stb reads zeros past the end) declaring 809;
// stb_image 2.27 wrote them past its 257-entry table (UBSan, then heap corruption).
TEST(PictureDecode, RefusesJpegHuffmanTablesWithTooManyCodes) {
  for (std::string name : {"image_jpeg_dht_257_codes.jpg", "image_jpeg_dht_cut_short.jpg"})
    expect_refused_both_ways(read_file(std::string(KILN_TEST_DIR) + "/fuzz/regressions/" + name), "dht.jpg",
                             "dht.jpg is not a readable picture (a JPEG Huffman table declares");
}

// fuzz_image, after the first five: a 152-byte JPEG whose scan uses an AC table no DHT defined;
// stb 2.27 decoded with the empty table and indexed its symbols at -343 (UBSan).
// fuzz_image in CI: a PNG whose first IDAT chunk is empty; stb 2.27 added its offset to a null
// buffer (UBSan).
TEST(PictureDecode, RefusesEmptyPngIdatChunks) {
  const std::string bytes = read_file(std::string(KILN_TEST_DIR) + "/fuzz/regressions/image_png_empty_idat.png");
  expect_refused_both_ways(bytes, "idat.png", "idat.png is not a readable picture (an empty PNG IDAT chunk)");
}

TEST(PictureDecode, RefusesJpegScansWithUndefinedHuffmanTables) {
  const std::string bytes = read_file(std::string(KILN_TEST_DIR) + "/fuzz/regressions/image_jpeg_undefined_ac_table.jpg");
  expect_refused_both_ways(bytes, "scan.jpg",
                           "scan.jpg is not a readable picture (a JPEG scan uses a Huffman table that was never "
                           "defined)");
}

// fuzz_image in CI at 5aa2fb4: a progressive JPEG whose last scan header is cut short; stb reads
// zeros past the end, so it is a DC scan using DC table 3, which no DHT defined. stb 2.27
// decoded with the uninitialized table and indexed its symbols at -1 (UBSan).
TEST(PictureDecode, RefusesJpegScansCutShortBeforeTheirSpectralStart) {
  const std::string bytes = read_file(std::string(KILN_TEST_DIR) + "/fuzz/regressions/image_jpeg_scan_cut_short.jpg");
  expect_refused_both_ways(bytes, "cut.jpg",
                           "cut.jpg is not a readable picture (a JPEG scan uses a Huffman table that was never "
                           "defined)");
}

// The 10-minute run after finding 12: a 172-byte JPEG whose DC differences add up, block after
// block, past what stb 2.27 multiplies by the quantizer in an int (UBSan: signed overflow). stb is
// now compiled with -fwrapv, so it decodes to some picture of the broken file; under the ASan +
// UBSan build (halt_on_error) undefined behaviour would abort this test.
TEST(PictureDecode, CorruptJpegDcSumsAreDefinedBehaviour) {
  const std::string bytes = read_file(std::string(KILN_TEST_DIR) + "/fuzz/regressions/image_jpeg_dc_sum_overflow.jpg");
  Image img = decode_image(bytes, "dc.jpg");
  EXPECT_EQ(img.width, 8);
  EXPECT_EQ(img.height, 2816);
}

// fuzz_image in CI at 3ecb064 (finding 14): a 185-byte baseline JPEG whose AC table has no codes;
// its scan runs out of bits, and stb 2.27 then refills its bit buffer with zeros shifted by 32
// (undefined; stb_image_decoder.c is built without the shift checks, the rest of UBSan stays on).
// The picture is refused cleanly.
TEST(PictureDecode, JpegScansThatRunOutOfBitsAreRefused) {
  const std::string bytes = read_file(std::string(KILN_TEST_DIR) + "/fuzz/regressions/image_jpeg_bits_run_out.jpg");
  expect_refused_both_ways(bytes, "bits.jpg", "bits.jpg is not a readable picture (");
}

// fuzz_image's third finding: a 29-byte 16-bit PNM that stb 2.27 reads past its buffer.
// Only PNG, JPEG and BMP reach stb; the rest are refused by their first bytes.
TEST(PictureDecode, OnlyPngJpegAndBmpReachTheDecoder) {
  std::string pnm = read_file(std::string(KILN_TEST_DIR) + "/fuzz/regressions/image_pnm_16bit_overread.ppm");
  for (const std::string& bytes : {pnm, std::string("GIF89a\x01\x00\x01\x00\x00\x00\x00;", 14)}) {
    try {
      decode_image_rgba(bytes, "p.ppm");
      ADD_FAILURE() << "decoded";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("p.ppm is not a readable picture (its first bytes are not PNG"),
                std::string::npos) << e.what();
    }
  }
}

// fuzz_image's fourth finding: a 98-byte PNG whose IDAT chunk declares about 1 GiB; stb
// allocated it (twice over) before reading. Refused from the chunk lengths.
TEST(PictureDecode, RefusesPngChunksPastTheEnd) {
  std::string bytes = read_file(std::string(KILN_TEST_DIR) + "/fuzz/regressions/image_png_idat_length.png");
  try {
    decode_image(bytes, "c.png");
    FAIL() << "decoded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("c.png is not a readable picture (a PNG chunk declares"), std::string::npos)
        << e.what();
  }
}

TEST(Mattes, FromProbabilitiesOrLogits) {
  Tensor probs = Tensor::from_vector<float>({1, 1, 1, 4}, {-0.5f, 0.25f, 1.5f, NAN});
  Matte m = matte_from_output(probs, false);
  EXPECT_EQ(m.width, 4);
  EXPECT_EQ(m.height, 1);
  EXPECT_EQ(m.alpha, (std::vector<float>{0, 0.25f, 1, 0}));
  Matte l = matte_from_output(Tensor::from_vector<float>({1, 2}, {0.0f, 2.0f}), true);
  EXPECT_FLOAT_EQ(l.alpha[0], 0.5f);
  EXPECT_NEAR(l.alpha[1], 1 / (1 + std::exp(-2.0)), 1e-6);
  EXPECT_EQ(matte_bytes(l), (std::vector<uint8_t>{128, 225}));
  EXPECT_DOUBLE_EQ(foreground_fraction(l), 1.0);
  EXPECT_THROW(matte_from_output(Tensor(DType::kF32, {1, 3, 2, 2}), false), Error);
  EXPECT_THROW(matte_from_output(Tensor(DType::kF32, {4}), false), Error);
}

TEST(Mattes, ResizeCutOutAndSideBySide) {
  Matte m{2, 1, {0.0f, 1.0f}};
  Matte r = resize_matte(m, 4, 1);
  EXPECT_EQ(r.alpha, (std::vector<float>{0, 0.25f, 0.75f, 1}));
  Image pic{4, 1, {10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120}};
  ImageRgba cut = cut_out(pic, r);
  EXPECT_EQ(cut.rgba, (std::vector<uint8_t>{10, 20, 30, 0, 40, 50, 60, 64, 70, 80, 90, 191, 100, 110, 120, 255}));
  Image shown = over_checkerboard(cut, 16);
  EXPECT_EQ(shown.rgb[0], 255);   // transparent → the checkerboard's white square
  EXPECT_EQ(shown.rgb[9], 100);   // opaque → the picture
  Image both = side_by_side(pic, gradient(8, 2), 8);
  EXPECT_EQ(both.width, 4 + 8 + 4);  // the right picture is scaled to the left's height
  EXPECT_EQ(both.height, 1);
  EXPECT_EQ(both.rgb[4 * 3], 255);  // the gap is white
}

TEST(ProgressBar, RendersAndStaysQuietOffTerminal) {
  EXPECT_EQ(Progress::render("run", 5, 10, 2.0, 10), "run [=====>    ] 5/10  50%  eta 2 s");
  EXPECT_EQ(Progress::render("run", 10, 10, 3.0, 4), "run [====] 10/10 100%  3 s");
  if (!Progress::terminal()) {
    Progress p("quiet", 3);
    p.advance();
    EXPECT_FALSE(p.shown());
  }
}

}  // namespace
}  // namespace kiln
