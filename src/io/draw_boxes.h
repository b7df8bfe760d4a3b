// Rectangle outlines on a picture, for detections: no text, the color tells the class.
#pragma once
#include <array>

#include "io/image.h"
#include "io/palettes.h"

namespace kiln {

// Draws the outline of the box with corners (x0, y0) and (x1, y1) in pixel coordinates
// (continuous: pixel i covers [i, i + 1)), `thickness` pixels wide inward from the edges,
// clipped to the picture. Boxes wholly outside, or empty, draw nothing.
void draw_box(Image& img, std::array<float, 4> box, Rgb color, int thickness);

}  // namespace kiln
