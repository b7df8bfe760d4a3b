// Self-contained SVG charts for reports (`kiln profile`, `kiln bench`): no scripts, no
// external fonts or styles, so a browser or a Markdown viewer shows them as they are. Every
// piece of text is escaped for XML (and control characters or invalid UTF-8 become '?').
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace kiln {

struct BarItem {
  std::string label;  // e.g. a layer's name
  double value = 0;   // e.g. its time
  std::string note;   // printed after the value, e.g. "Conv, 41% of peak"; may be empty
};

struct BarChartOptions {
  size_t top_n = 25;            // bars kept; the rest are summed into one "other" bar
  size_t max_label_chars = 40;  // longer labels are cut with "..." (full text in a tooltip)
  int width = 960;              // pixels
};

// Horizontal bars, largest value first. Items past top_n become one last bar "other (K items)"
// holding their sum. NaN, inf and |value| ≥ 1e150 count as 0; negative values are drawn as empty
// bars. Each bar is an SVG <rect class="bar">; after it, the value, the unit and " · note".
std::string horizontal_bar_svg(const std::string& title, std::vector<BarItem> items,
                               const std::string& unit, const BarChartOptions& options = {});

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y); NaN, inf and |v| ≥ 1e150 skipped
};

struct LineChartOptions {
  bool log_x = false;  // base-2 x axis with a tick at every x in the data (batch sizes)
  int width = 800;
  int height = 480;
};

// Lines with point markers over a shared x axis, against a left y axis; right_series (drawn
// dashed) against a second y axis on the right labelled right_y_label, e.g. latency (left) and
// throughput (right) against batch size. Axes start at 0 unless the data is negative; ticks are
// 1-2-5 steps. Each series is a <polyline class="series"> with a <circle> per point.
std::string line_chart_svg(const std::string& title, const std::string& x_label,
                           const std::vector<Series>& series, const std::string& y_label,
                           const std::vector<Series>& right_series = {},
                           const std::string& right_y_label = "",
                           const LineChartOptions& options = {});

// XML-escapes text (& < > " '), replacing control characters and invalid UTF-8 with '?'.
std::string xml_escape(const std::string& text);

}  // namespace kiln
