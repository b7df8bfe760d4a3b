#include "io/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

namespace kiln {
namespace {

constexpr const char* kFont = "font-family=\"DejaVu Sans, Arial, Helvetica, sans-serif\"";
constexpr double kCharWidth = 7.0;  // rough advance of a 12 px sans-serif character
constexpr double kHuge = 1e150;     // points beyond (or NaN) are left out: axes stay finite
const char* const kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                "#9467bd", "#8c564b", "#e377c2", "#17becf"};

// Valid UTF-8 with control characters replaced: what an XML 1.0 parser accepts.
std::string sanitize(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const uint8_t c = uint8_t(s[i]);
    if (c < 0x80) {
      out += (c < 0x20 && c != '\t') || c == 0x7f ? '?' : char(c);
      ++i;
      continue;
    }
    size_t len = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
    if (c >= 0xF5) len = 0;
    bool ok = len != 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) ok = (uint8_t(s[i + k]) & 0xC0) == 0x80;
    if (ok && len == 3) {  // no overlongs, no surrogates
      const uint8_t c1 = uint8_t(s[i + 1]);
      ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);
    }
    if (ok && len == 4) {
      const uint8_t c1 = uint8_t(s[i + 1]);
      ok = !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
    }
    if (!ok) {
      out += '?';
      ++i;
      continue;
    }
    out.append(s, i, len);
    i += len;
  }
  return out;
}

size_t code_points(const std::string& s) {
  return size_t(
      std::count_if(s.begin(), s.end(), [](char c) { return (uint8_t(c) & 0xC0) != 0x80; }));
}

// The first `max_chars` code points of valid UTF-8, "..." marking a cut.
std::string truncate(const std::string& s, size_t max_chars) {
  if (code_points(s) <= max_chars) return s;
  const size_t keep = max_chars > 3 ? max_chars - 3 : 0;
  size_t i = 0, kept = 0;
  while (i < s.size() && kept < keep) {
    ++i;
    while (i < s.size() && (uint8_t(s[i]) & 0xC0) == 0x80) ++i;
    ++kept;
  }
  return s.substr(0, i) + "...";
}

std::string escape_valid(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// A coordinate: two decimals are plenty for pixels.
std::string px(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", std::isfinite(v) ? v : 0.0);
  std::string s = buf;
  while (s.size() > 1 && s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

// A value for people: 4 significant figures without exponents in the usual range.
std::string number(double v) {
  if (!std::isfinite(v)) return std::isnan(v) ? "nan" : v > 0 ? "inf" : "-inf";
  char buf[48];
  const double a = std::fabs(v);
  if (a != 0 && (a >= 1e7 || a < 1e-3))
    std::snprintf(buf, sizeof buf, "%.3g", v);
  else if (a >= 1000)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else if (a >= 100)
    std::snprintf(buf, sizeof buf, "%.1f", v);
  else if (a >= 10)
    std::snprintf(buf, sizeof buf, "%.2f", v);
  else
    std::snprintf(buf, sizeof buf, "%.3f", v);
  std::string s = buf;
  if (s.find('.') != std::string::npos && s.find('e') == std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s == "-0" ? "0" : s;
}

// A tick label: as many decimals as the step needs.
std::string tick_label(double v, double step) {
  const int decimals = std::clamp(int(-std::floor(std::log10(step) + 1e-9)), 0, 9);
  if (std::fabs(v) < step * 1e-6) v = 0;
  if (std::fabs(v) >= 1e7) return number(v);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string svg_open(int width, int height) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
         "width=\"" +
         std::to_string(width) + "\" height=\"" + std::to_string(height) + "\" viewBox=\"0 0 " +
         std::to_string(width) + " " + std::to_string(height) + "\" " + kFont +
         " font-size=\"12\">\n<rect x=\"0\" y=\"0\" width=\"" + std::to_string(width) +
         "\" height=\"" + std::to_string(height) + "\" fill=\"white\"/>\n";
}

std::string text(double x, double y, const std::string& content, const std::string& attrs = "") {
  return "<text x=\"" + px(x) + "\" y=\"" + px(y) + "\"" + (attrs.empty() ? "" : " " + attrs) +
         ">" + xml_escape(content) + "</text>\n";
}

struct Axis {
  double lo = 0, hi = 1, step = 0.2;
};

double nice_step(double raw) {
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

// 1-2-5 ticks over [lo, hi], about `ticks` of them.
Axis nice_axis(double lo, double hi, int ticks = 5) {
  if (!(hi > lo)) {
    const double pad = lo == 0 ? 1 : std::fabs(lo) * 0.5;
    lo -= lo >= 0 && lo - pad < 0 ? lo : pad;
    hi += pad;
  }
  Axis a;
  a.step = nice_step((hi - lo) / ticks);
  a.lo = std::floor(lo / a.step + 1e-9) * a.step;
  a.hi = std::ceil(hi / a.step - 1e-9) * a.step;
  if (a.hi <= a.lo) a.hi = a.lo + a.step;
  return a;
}

std::vector<double> ticks_of(const Axis& a) {
  std::vector<double> t;
  for (int i = 0; i <= 1000; ++i) {
    double v = a.lo + i * a.step;
    if (v > a.hi + a.step * 1e-6) break;
    t.push_back(v);
  }
  return t;
}

std::vector<std::pair<double, double>> finite_sorted(const Series& s, bool log_x) {
  std::vector<std::pair<double, double>> p;
  for (const auto& [x, y] : s.points)
    if (std::fabs(x) < kHuge && std::fabs(y) < kHuge && (!log_x || x > 0)) p.emplace_back(x, y);
  std::stable_sort(p.begin(), p.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  return p;
}

}  // namespace

std::string xml_escape(const std::string& s) { return escape_valid(sanitize(s)); }

std::string horizontal_bar_svg(const std::string& title, std::vector<BarItem> items,
                               const std::string& unit, const BarChartOptions& options) {
  for (BarItem& it : items)
    if (!(std::fabs(it.value) < kHuge)) it.value = 0;
  std::stable_sort(items.begin(), items.end(),
                   [](const BarItem& a, const BarItem& b) { return a.value > b.value; });
  const size_t top_n = std::max<size_t>(options.top_n, 1);
  bool has_other = false;
  if (items.size() > top_n) {
    BarItem other;
    other.label = "other (" + std::to_string(items.size() - (top_n - 1)) + " items)";
    for (size_t i = top_n - 1; i < items.size(); ++i) other.value += items[i].value;
    items.resize(top_n - 1);
    items.push_back(other);
    has_other = true;
  }

  const size_t max_chars = std::max<size_t>(options.max_label_chars, 4);
  std::vector<std::string> labels;
  size_t longest = 1;
  for (const BarItem& it : items) {
    labels.push_back(truncate(sanitize(it.label), max_chars));
    longest = std::max(longest, code_points(labels.back()));
  }
  const int width = std::max(options.width, 320);
  const double label_w = double(longest) * kCharWidth + 16;
  const double value_w = 240;
  const double bar_x = label_w;
  const double bar_w = std::max(40.0, width - label_w - value_w);
  const double top = 44, row = 24, bar_h = 18;
  const int height = int(top + row * double(std::max<size_t>(items.size(), 1)) + 16);
  double max_value = 0;
  for (const BarItem& it : items) max_value = std::max(max_value, it.value);

  std::string svg = svg_open(width, height);
  svg += text(10, 24, title, "font-size=\"16\" font-weight=\"bold\"");
  if (items.empty()) svg += text(bar_x, top + 14, "no data", "fill=\"#666\"");
  for (size_t i = 0; i < items.size(); ++i) {
    const BarItem& it = items[i];
    const double y = top + row * double(i);
    const double len = max_value > 0 && it.value > 0 ? it.value / max_value * bar_w : 0;
    const bool other = has_other && i + 1 == items.size();
    std::string value = number(it.value) + (unit.empty() ? "" : " " + unit);
    std::string shown = value + (it.note.empty() ? "" : " \u00b7 " + it.note);
    svg += "<g>\n<title>" + xml_escape(it.label + ": " + shown) + "</title>\n";
    svg += text(bar_x - 6, y + bar_h - 5, labels[i], "text-anchor=\"end\"");
    svg += "<rect class=\"bar\" x=\"" + px(bar_x) + "\" y=\"" + px(y) + "\" width=\"" + px(len) +
           "\" height=\"" + px(bar_h) + "\" fill=\"" + (other ? "#999999" : kPalette[0]) + "\"/>\n";
    svg += text(bar_x + len + 6, y + bar_h - 5, shown);
    svg += "</g>\n";
  }
  svg += "</svg>\n";
  return svg;
}

std::string line_chart_svg(const std::string& title, const std::string& x_label,
                           const std::vector<Series>& series, const std::string& y_label,
                           const std::vector<Series>& right_series,
                           const std::string& right_y_label, const LineChartOptions& options) {
  const bool log_x = options.log_x;
  const bool has_right = !right_series.empty();
  const int width = std::max(options.width, 320);
  int height = std::max(options.height, 240);

  struct Drawn {
    std::string name;
    std::vector<std::pair<double, double>> points;
    bool right;
  };
  std::vector<Drawn> all;
  for (const Series& s : series) all.push_back({s.name, finite_sorted(s, log_x), false});
  for (const Series& s : right_series) all.push_back({s.name, finite_sorted(s, log_x), true});

  // Data ranges.
  double x_min = INFINITY, x_max = -INFINITY;
  double y_min[2] = {0, 0}, y_max[2] = {0, 0};  // the y axes always show 0
  std::set<double> xs;
  for (const Drawn& d : all)
    for (const auto& [x, y] : d.points) {
      const double xv = log_x ? std::log2(x) : x;
      x_min = std::min(x_min, xv);
      x_max = std::max(x_max, xv);
      xs.insert(x);
      y_min[d.right] = std::min(y_min[d.right], y);
      y_max[d.right] = std::max(y_max[d.right], y);
    }
  const bool empty = xs.empty();
  if (empty) x_min = 0, x_max = 1;
  for (int side = 0; side < 2; ++side)
    if (!(y_max[side] > y_min[side])) y_max[side] = 1;  // no data, or all of it 0

  Axis xa;
  std::vector<double> x_ticks;  // in data units
  if (log_x) {
    double lo = x_min, hi = x_max;
    if (hi - lo < 1e-9) lo -= 0.5, hi += 0.5;
    xa = {lo, hi, 1};
    if (xs.size() <= 16 && !empty) {
      x_ticks.assign(xs.begin(), xs.end());
    } else {
      for (double e = std::ceil(lo); e <= hi + 1e-9; ++e) x_ticks.push_back(std::exp2(e));
    }
  } else {
    xa = nice_axis(x_min, x_max, 6);
    x_ticks = ticks_of(xa);
  }
  const Axis ya[2] = {nice_axis(y_min[0], y_max[0]), nice_axis(y_min[1], y_max[1])};

  // Legend rows under the title, wrapped to the width.
  std::vector<std::vector<size_t>> legend_rows(1);
  double row_w = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    std::string label = all[i].name + (all[i].right ? " (right axis)" : "");
    double w = double(code_points(sanitize(label))) * kCharWidth + 44;
    if (row_w > 0 && row_w + w > width - 20) legend_rows.emplace_back(), row_w = 0;
    legend_rows.back().push_back(i);
    row_w += w;
  }
  const double legend_h = all.empty() ? 0 : 18.0 * double(legend_rows.size());
  const double left = 72, right = has_right ? 72 : 24, top = 40 + legend_h + 10, bottom = 52;
  height = std::max(height, int(top + bottom + 80));  // many legend rows: grow, keep the plot
  const double plot_w = width - left - right, plot_h = height - top - bottom;

  auto sx = [&](double x) {
    const double xv = log_x ? std::log2(x) : x;
    return left + (xv - xa.lo) / (xa.hi - xa.lo) * plot_w;
  };
  auto sy = [&](double y, bool r) {
    const Axis& a = ya[r];
    return top + plot_h - (y - a.lo) / (a.hi - a.lo) * plot_h;
  };

  std::string svg = svg_open(width, height);
  svg += text(10, 24, title, "font-size=\"16\" font-weight=\"bold\"");
  // Legend.
  for (size_t r = 0; r < legend_rows.size(); ++r) {
    double x = 12;
    const double y = 40 + 18.0 * double(r);
    for (size_t i : legend_rows[r]) {
      const char* color = kPalette[i % std::size(kPalette)];
      std::string label = all[i].name + (all[i].right ? " (right axis)" : "");
      svg += "<line x1=\"" + px(x) + "\" y1=\"" + px(y - 4) + "\" x2=\"" + px(x + 26) + "\" y2=\"" +
             px(y - 4) + "\" stroke=\"" + color + "\" stroke-width=\"2\"" +
             (all[i].right ? " stroke-dasharray=\"6 4\"" : "") + "/>\n";
      svg += text(x + 32, y, label);
      x += double(code_points(sanitize(label))) * kCharWidth + 44;
    }
  }
  // Grid and left axis ticks.
  for (double t : ticks_of(ya[0])) {
    const double y = sy(t, false);
    svg += "<line x1=\"" + px(left) + "\" y1=\"" + px(y) + "\" x2=\"" + px(left + plot_w) +
           "\" y2=\"" + px(y) + "\" stroke=\"#e0e0e0\"/>\n";
    svg += text(left - 6, y + 4, tick_label(t, ya[0].step), "text-anchor=\"end\"");
  }
  if (has_right)
    for (double t : ticks_of(ya[1]))
      svg += text(left + plot_w + 6, sy(t, true) + 4, tick_label(t, ya[1].step));
  for (double t : x_ticks) {
    const double x = sx(t);
    svg += "<line x1=\"" + px(x) + "\" y1=\"" + px(top + plot_h) + "\" x2=\"" + px(x) + "\" y2=\"" +
           px(top + plot_h + 5) + "\" stroke=\"#333\"/>\n";
    svg += text(x, top + plot_h + 18, log_x ? number(t) : tick_label(t, xa.step),
                "text-anchor=\"middle\"");
  }
  // Axes and their labels.
  svg += "<rect x=\"" + px(left) + "\" y=\"" + px(top) + "\" width=\"" + px(plot_w) +
         "\" height=\"" + px(plot_h) + "\" fill=\"none\" stroke=\"#333\"/>\n";
  svg += text(left + plot_w / 2, height - 10.0, x_label, "text-anchor=\"middle\"");
  const double mid_y = top + plot_h / 2;
  svg += text(16, mid_y, y_label,
              "text-anchor=\"middle\" transform=\"rotate(-90 16 " + px(mid_y) + ")\"");
  if (has_right) {
    const double rx = width - 14.0;
    svg += text(rx, mid_y, right_y_label,
                "text-anchor=\"middle\" transform=\"rotate(90 " + px(rx) + " " + px(mid_y) + ")\"");
  }
  if (empty)
    svg += text(left + plot_w / 2, mid_y, "no data", "text-anchor=\"middle\" fill=\"#666\"");
  // Series.
  for (size_t i = 0; i < all.size(); ++i) {
    const Drawn& d = all[i];
    const char* color = kPalette[i % std::size(kPalette)];
    svg += "<g>\n<title>" + xml_escape(d.name) + "</title>\n";
    std::string pts;
    for (const auto& [x, y] : d.points) {
      if (!pts.empty()) pts += ' ';
      pts += px(sx(x));
      pts += ',';
      pts += px(sy(y, d.right));
    }
    svg += "<polyline class=\"series\" points=\"" + pts + "\" fill=\"none\" stroke=\"" + color +
           "\" stroke-width=\"2\"" + (d.right ? " stroke-dasharray=\"6 4\"" : "") + "/>\n";
    for (const auto& [x, y] : d.points)
      svg += "<circle cx=\"" + px(sx(x)) + "\" cy=\"" + px(sy(y, d.right)) + "\" r=\"3\" fill=\"" +
             color + "\"><title>" + xml_escape(d.name + ": " + number(x) + ", " + number(y)) +
             "</title></circle>\n";
    svg += "</g>\n";
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace kiln
