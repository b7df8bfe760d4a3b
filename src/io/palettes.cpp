#include "io/palettes.h"

#include <cmath>

#include "kiln/status.h"

namespace kiln {
namespace {

constexpr Rgb kCityscapes[] = {
    {128, 64, 128}, {244, 35, 232}, {70, 70, 70},   {102, 102, 156}, {190, 153, 153},
    {153, 153, 153}, {250, 170, 30}, {220, 220, 0}, {107, 142, 35},  {152, 251, 152},
    {70, 130, 180}, {220, 20, 60},  {255, 0, 0},    {0, 0, 142},     {0, 0, 70},
    {0, 60, 100},   {0, 80, 100},   {0, 0, 230},    {119, 11, 32}};

// ADE20K SceneParsing (150 classes), in class-id order: wall, building, sky, floor, tree, ...
constexpr Rgb kAde20k[] = {
    {120, 120, 120}, {180, 120, 120}, {6, 230, 230},   {80, 50, 50},    {4, 200, 3},
    {120, 120, 80},  {140, 140, 140}, {204, 5, 255},   {230, 230, 230}, {4, 250, 7},
    {224, 5, 255},   {235, 255, 7},   {150, 5, 61},    {120, 120, 70},  {8, 255, 51},
    {255, 6, 82},    {143, 255, 140}, {204, 255, 4},   {255, 51, 7},    {204, 70, 3},
    {0, 102, 200},   {61, 230, 250},  {255, 6, 51},    {11, 102, 255},  {255, 7, 71},
    {255, 9, 224},   {9, 7, 230},     {220, 220, 220}, {255, 9, 92},    {112, 9, 255},
    {8, 255, 214},   {7, 255, 224},   {255, 184, 6},   {10, 255, 71},   {255, 41, 10},
    {7, 255, 255},   {224, 255, 8},   {102, 8, 255},   {255, 61, 6},    {255, 194, 7},
    {255, 122, 8},   {0, 255, 20},    {255, 8, 41},    {255, 5, 153},   {6, 51, 255},
    {235, 12, 255},  {160, 150, 20},  {0, 163, 255},   {140, 140, 140}, {250, 10, 15},
    {20, 255, 0},    {31, 255, 0},    {255, 31, 0},    {255, 224, 0},   {153, 255, 0},
    {0, 0, 255},     {255, 71, 0},    {0, 235, 255},   {0, 173, 255},   {31, 0, 255},
    {11, 200, 200},  {255, 82, 0},    {0, 255, 245},   {0, 61, 255},    {0, 255, 112},
    {0, 255, 133},   {255, 0, 0},     {255, 163, 0},   {255, 102, 0},   {194, 255, 0},
    {0, 143, 255},   {51, 255, 0},    {0, 82, 255},    {0, 255, 41},    {0, 255, 173},
    {10, 0, 255},    {173, 255, 0},   {0, 255, 153},   {255, 92, 0},    {255, 0, 255},
    {255, 0, 245},   {255, 0, 102},   {255, 173, 0},   {255, 0, 20},    {255, 184, 184},
    {0, 31, 255},    {0, 255, 61},    {0, 71, 255},    {255, 0, 204},   {0, 255, 194},
    {0, 255, 82},    {0, 10, 255},    {0, 112, 255},   {51, 0, 255},    {0, 194, 255},
    {0, 122, 255},   {0, 255, 163},   {255, 153, 0},   {0, 255, 10},    {255, 112, 0},
    {143, 255, 0},   {82, 0, 255},    {163, 255, 0},   {255, 235, 0},   {8, 184, 170},
    {133, 0, 255},   {0, 255, 92},    {184, 0, 255},   {255, 0, 31},    {0, 184, 255},
    {0, 214, 255},   {255, 0, 112},   {92, 255, 0},    {0, 224, 255},   {112, 224, 255},
    {70, 184, 160},  {163, 0, 255},   {153, 0, 255},   {71, 255, 0},    {255, 0, 163},
    {255, 204, 0},   {255, 0, 143},   {0, 255, 235},   {133, 255, 0},   {255, 0, 235},
    {245, 0, 255},   {255, 0, 122},   {255, 245, 0},   {10, 190, 212},  {214, 255, 0},
    {0, 204, 255},   {20, 0, 255},    {255, 255, 0},   {0, 153, 255},   {0, 41, 255},
    {0, 255, 204},   {41, 0, 255},    {41, 255, 0},    {173, 0, 255},   {0, 245, 255},
    {71, 0, 255},    {122, 0, 255},   {0, 255, 184},   {0, 92, 255},    {184, 255, 0},
    {0, 133, 255},   {255, 214, 0},   {25, 194, 194},  {102, 255, 0},   {92, 0, 255}};

static_assert(std::size(kCityscapes) == 19);
static_assert(std::size(kAde20k) == 150);

// Golden-angle hue steps keep neighbouring ids apart.
Rgb hue_color(int32_t label) {
  double h = std::fmod(std::abs(double(label)) * 137.508, 360.0) / 60.0, s = 0.65, v = 0.9;
  double f = h - std::floor(h), p = v * (1 - s), q = v * (1 - s * f), r = v * (1 - s * (1 - f));
  double rgb[6][3] = {{v, r, p}, {q, v, p}, {p, v, r}, {p, q, v}, {r, p, v}, {v, p, q}};
  const double* c = rgb[int(h) % 6];
  return {uint8_t(c[0] * 255), uint8_t(c[1] * 255), uint8_t(c[2] * 255)};
}

}  // namespace

std::span<const Rgb> cityscapes_palette() { return kCityscapes; }
std::span<const Rgb> ade20k_palette() { return kAde20k; }

Palette parse_palette(const std::string& name) {
  if (name == "auto") return Palette::kAuto;
  if (name == "cityscapes") return Palette::kCityscapes;
  if (name == "ade20k") return Palette::kAde20k;
  if (name == "hues") return Palette::kHues;
  fail(ErrorCode::kInvalidArgument, "--palette " + name + ": use auto, cityscapes, ade20k or hues");
}

std::string palette_name(Palette p) {
  switch (p) {
    case Palette::kAuto: return "auto";
    case Palette::kCityscapes: return "cityscapes";
    case Palette::kAde20k: return "ade20k";
    case Palette::kHues: return "hues";
  }
  return "?";
}

Palette resolve_palette(Palette p, int num_classes) {
  if (p != Palette::kAuto) return p;
  if (num_classes == 19) return Palette::kCityscapes;
  if (num_classes == 150) return Palette::kAde20k;
  return Palette::kHues;
}

Rgb palette_color(int32_t label, Palette resolved) {
  std::span<const Rgb> table;
  if (resolved == Palette::kCityscapes) table = cityscapes_palette();
  if (resolved == Palette::kAde20k) table = ade20k_palette();
  if (label >= 0 && size_t(label) < table.size()) return table[size_t(label)];
  return hue_color(label);
}

}  // namespace kiln
