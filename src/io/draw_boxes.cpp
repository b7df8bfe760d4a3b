#include "io/draw_boxes.h"

#include <algorithm>
#include <cmath>

namespace kiln {

void draw_box(Image& img, std::array<float, 4> box, Rgb color, int thickness) {
  if (img.width <= 0 || img.height <= 0 || thickness < 1) return;
  thickness = std::min(thickness, std::max(img.width, img.height));  // wider covers nothing more
  // NaN corners (a broken model) draw nothing rather than anything arbitrary.
  for (float v : box)
    if (!std::isfinite(v)) return;
  // Pixel range [x0, x1) × [y0, y1) covered by the box, before clipping.
  double x0 = std::floor(std::min(box[0], box[2])), x1 = std::ceil(std::max(box[0], box[2]));
  double y0 = std::floor(std::min(box[1], box[3])), y1 = std::ceil(std::max(box[1], box[3]));
  if (x1 <= 0 || y1 <= 0 || x0 >= img.width || y0 >= img.height || x1 <= x0 || y1 <= y0) return;
  // Edges farther out than the outline's width stay invisible when moved to just beyond the
  // picture, and the coordinates then fit in an int (a model may emit any float).
  const double margin = double(thickness) + 1;
  x0 = std::max(x0, -margin);
  y0 = std::max(y0, -margin);
  x1 = std::min(x1, img.width + margin);
  y1 = std::min(y1, img.height + margin);
  const int bx0 = int(x0), bx1 = int(x1), by0 = int(y0), by1 = int(y1);  // box edges, unclipped
  const int t = std::min({thickness, (bx1 - bx0 + 1) / 2, (by1 - by0 + 1) / 2});
  const int cx0 = std::max(bx0, 0), cx1 = std::min(bx1, img.width);
  const int cy0 = std::max(by0, 0), cy1 = std::min(by1, img.height);
  for (int y = cy0; y < cy1; ++y) {
    const bool edge_row = y < by0 + t || y >= by1 - t;
    for (int x = cx0; x < cx1; ++x) {
      if (!edge_row && x >= bx0 + t && x < bx1 - t) continue;
      uint8_t* p = &img.rgb[(size_t(y) * size_t(img.width) + size_t(x)) * 3];
      p[0] = color[0];
      p[1] = color[1];
      p[2] = color[2];
    }
  }
}

}  // namespace kiln
