// Colors for class ids in label maps: the Cityscapes palette (19 classes), the ADE20K palette
// (150 classes, the table published with the dataset's scene-parsing benchmark) and, for other
// class counts, a spread of hues.
#pragma once
#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace kiln {

using Rgb = std::array<uint8_t, 3>;

enum class Palette { kAuto, kCityscapes, kAde20k, kHues };

std::span<const Rgb> cityscapes_palette();  // 19 colors, road first
std::span<const Rgb> ade20k_palette();      // 150 colors, wall first

// "auto" | "cityscapes" | "ade20k" | "hues"; kInvalidArgument naming the choices otherwise.
Palette parse_palette(const std::string& name);
std::string palette_name(Palette p);
// auto: Cityscapes for 19 classes, ADE20K for 150, hues for any other count.
Palette resolve_palette(Palette p, int num_classes);

// Color of `label`; ids beyond the palette's size (or negative) wrap onto hues.
Rgb palette_color(int32_t label, Palette resolved);

}  // namespace kiln
