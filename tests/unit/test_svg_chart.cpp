#include <gtest/gtest.h>

#include <cmath>
#include <regex>

#include "io/svg_chart.h"

namespace kiln {
namespace {

// A small XML well-formedness check: one <svg> root, balanced tags, quoted attributes without
// '<', text without '<' and with '&' only starting an entity.
void expect_well_formed(const std::string& svg) {
  ASSERT_EQ(svg.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", 0), 0u);
  std::vector<std::string> open;
  size_t i = svg.find('>') + 1, roots = 0;
  static const std::regex entity("^&(amp|lt|gt|quot|apos);");
  while (i < svg.size()) {
    if (svg[i] != '<') {
      if (svg[i] == '&') {
        ASSERT_TRUE(std::regex_search(svg.substr(i, 8), entity))
            << "bare & at " << i << ": " << svg.substr(i, 20);
      }
      ASSERT_FALSE(open.empty() && !std::isspace(uint8_t(svg[i])))
          << "text outside the root at " << i;
      ++i;
      continue;
    }
    size_t j = i + 1;
    bool in_quote = false;
    for (; j < svg.size() && (in_quote || svg[j] != '>'); ++j) {
      if (svg[j] == '"') in_quote = !in_quote;
      ASSERT_FALSE(in_quote && svg[j] == '<') << "'<' in an attribute at " << j;
      ASSERT_FALSE(!in_quote && svg[j] == '<') << "'<' inside a tag at " << j;
    }
    ASSERT_LT(j, svg.size()) << "unterminated tag";
    std::string tag = svg.substr(i + 1, j - i - 1);
    if (tag[0] == '/') {
      ASSERT_FALSE(open.empty()) << "stray " << tag;
      EXPECT_EQ(open.back(), tag.substr(1));
      open.pop_back();
    } else {
      std::string name = tag.substr(0, tag.find_first_of(" \n/"));
      if (open.empty()) {
        ++roots;
        EXPECT_EQ(name, "svg");
      }
      if (tag.back() != '/') open.push_back(name);
    }
    i = j + 1;
  }
  EXPECT_TRUE(open.empty()) << "unclosed " << (open.empty() ? "" : open.back());
  EXPECT_EQ(roots, 1u);
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

// Every x/y/cx/cy/width/height number lies inside the picture.
void expect_inside(const std::string& svg, double width, double height) {
  static const std::regex attr(R"re(\s(x|y|cx|cy|x1|x2|y1|y2)="(-?[0-9.]+)")re");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), attr); it != std::sregex_iterator();
       ++it) {
    const double v = std::stod((*it)[2].str());
    const double limit = (*it)[1].str().find('x') != std::string::npos ? width : height;
    EXPECT_GE(v, 0) << (*it)[0].str();
    EXPECT_LE(v, limit) << (*it)[0].str();
  }
}

TEST(SvgChart, BarsAreSortedEscapedAndLabelled) {
  std::vector<BarItem> items = {{"encoder.block1.attn/MatMul", 1.25, "MatMul, 12% of peak"},
                                {"<script>&\"x'", 12.5, "Conv"},
                                {"decoder/Resize", 3.0, ""}};
  const std::string svg = horizontal_bar_svg("Time per layer <b0>", items, "ms");
  expect_well_formed(svg);
  EXPECT_EQ(count(svg, "class=\"bar\""), 3u);
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  EXPECT_NE(svg.find("&lt;script&gt;&amp;&quot;x&apos;"), std::string::npos);
  EXPECT_NE(svg.find("Time per layer &lt;b0&gt;"), std::string::npos);
  EXPECT_NE(svg.find("12.5 ms \u00b7 Conv"), std::string::npos);
  EXPECT_NE(svg.find("1.25 ms \u00b7 MatMul, 12% of peak"), std::string::npos);
  EXPECT_NE(svg.find(">3 ms</text>"), std::string::npos);
  // Largest first.
  const size_t script = svg.find("&lt;script"), resize = svg.find("decoder/Resize"),
               matmul = svg.find("encoder.block1");
  EXPECT_LT(script, resize);
  EXPECT_LT(resize, matmul);
  expect_inside(svg, 960, 1e9);
}

TEST(SvgChart, LongTailBecomesOneOtherBar) {
  std::vector<BarItem> items;
  for (int i = 0; i < 30; ++i) items.push_back({"layer" + std::to_string(i), double(i + 1), ""});
  BarChartOptions o;
  o.top_n = 10;
  const std::string svg = horizontal_bar_svg("t", items, "us", o);
  expect_well_formed(svg);
  EXPECT_EQ(count(svg, "class=\"bar\""), 10u);
  // Kept: layer29..layer21 (values 30..22); the other 21 (1..21) sum to 231.
  EXPECT_NE(svg.find("layer21"), std::string::npos);
  EXPECT_EQ(svg.find("layer20<"), std::string::npos);
  EXPECT_NE(svg.find("other (21 items)"), std::string::npos);
  EXPECT_NE(svg.find("231 us"), std::string::npos);
}

TEST(SvgChart, LabelsAreTruncatedAndSanitized) {
  const std::string long_label =
      "model/encoder/layer.11/attention/self/query/MatMul_with_a_long_suffix";
  const std::string bad_utf8 = std::string("caf\xc3\xa9 ") + "\xff\xfe" + "\x01" + "bell\x07";
  BarChartOptions o;
  o.max_label_chars = 20;
  const std::string svg = horizontal_bar_svg("t", {{long_label, 1, ""}, {bad_utf8, 2, ""}}, "", o);
  expect_well_formed(svg);
  EXPECT_NE(svg.find(">model/encoder/lay...</text>"), std::string::npos);
  EXPECT_NE(svg.find("<title>" + long_label + ": 1</title>"),
            std::string::npos);  // full in tooltip
  EXPECT_NE(svg.find("caf\xc3\xa9 ??"
                     "?bell?"),
            std::string::npos);
  EXPECT_EQ(svg.find('\xff'), std::string::npos);
  EXPECT_EQ(svg.find('\x07'), std::string::npos);
  // A cut never splits a multi-byte character.
  o.max_label_chars = 6;
  const std::string cut = horizontal_bar_svg(
      "t", {{"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 1, ""}}, "", o);
  EXPECT_NE(cut.find(">\xc3\xa9\xc3\xa9\xc3\xa9...</text>"), std::string::npos);
}

TEST(SvgChart, EmptyAndOddValues) {
  const std::string empty = horizontal_bar_svg("nothing", {}, "ms");
  expect_well_formed(empty);
  EXPECT_NE(empty.find("no data"), std::string::npos);
  const std::string odd =
      horizontal_bar_svg("t", {{"nan", NAN, ""}, {"neg", -1, ""}, {"zero", 0, ""}}, "ms");
  expect_well_formed(odd);
  EXPECT_EQ(count(odd, "class=\"bar\""), 3u);
  EXPECT_EQ(odd.find("nan\""), std::string::npos);  // no NaN coordinates
  expect_inside(odd, 960, 1e9);
}

TEST(SvgChart, LineChartWithTwoAxes) {
  std::vector<Series> left = {
      {"latency p50", {{1, 2.5}, {2, 3.1}, {4, 4.9}, {8, 9.2}, {16, 18.0}}},
      {"latency p99 <&>", {{16, 21.5}, {1, 3.0}, {2, 3.4}, {4, NAN}, {8, 10.1}}}};
  std::vector<Series> right = {{"throughput", {{1, 400}, {2, 645}, {4, 816}, {8, 870}, {16, 889}}}};
  LineChartOptions o;
  o.log_x = true;
  const std::string svg = line_chart_svg("SegFormer-B0 on H100", "batch size", left, "latency (ms)",
                                         right, "images/s", o);
  expect_well_formed(svg);
  EXPECT_EQ(count(svg, "class=\"series\""), 3u);
  EXPECT_EQ(count(svg, "<circle"), 5u + 4u + 5u);  // the NaN point is skipped
  EXPECT_NE(svg.find("latency p99 &lt;&amp;&gt;"), std::string::npos);
  for (const char* label :
       {">batch size<", ">latency (ms)<", ">images/s<", "throughput (right axis)"})
    EXPECT_NE(svg.find(label), std::string::npos) << label;
  for (const char* tick : {">1<", ">2<", ">4<", ">8<", ">16<"})
    EXPECT_NE(svg.find(tick), std::string::npos) << tick;
  EXPECT_NE(svg.find("stroke-dasharray"), std::string::npos);  // the right-axis series
  EXPECT_NE(svg.find("throughput: 16, 889"), std::string::npos);
  expect_inside(svg, 800, 480);

  // Points come out sorted by x: p99's polyline starts at batch 1.
  const std::regex poly("class=\"series\" points=\"([^\"]*)\"");
  std::vector<std::string> lines;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), poly); it != std::sregex_iterator();
       ++it)
    lines.push_back((*it)[1].str());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].substr(0, lines[0].find(',')), lines[1].substr(0, lines[1].find(',')));
}

TEST(SvgChart, LinearAxesAndEmptyCharts) {
  const std::string svg = line_chart_svg("t", "x", {{"s", {{0, 0}, {10, 7.5}, {20, 3}}}}, "y");
  expect_well_formed(svg);
  for (const char* tick : {">0<", ">10<", ">20<", ">2<", ">8<"})
    EXPECT_NE(svg.find(tick), std::string::npos) << tick;
  EXPECT_EQ(svg.find("dasharray"), std::string::npos);
  expect_inside(svg, 800, 480);

  const std::string empty = line_chart_svg("nothing", "x", {}, "y");
  expect_well_formed(empty);
  EXPECT_NE(empty.find("no data"), std::string::npos);
  const std::string one_point =
      line_chart_svg("one", "x", {{"s", {{4, 2}}}}, "y", {}, "", {true, 800, 480});
  expect_well_formed(one_point);
  expect_inside(one_point, 800, 480);
  const std::string huge =
      line_chart_svg("huge", "x", {{"s", {{1, 1e300}, {2, 3}, {INFINITY, 1}}}}, "y");
  expect_well_formed(huge);
  EXPECT_EQ(count(huge, "<circle"), 1u);  // only (2, 3) is drawn
  expect_inside(huge, 800, 480);
  const std::string negative = line_chart_svg("neg", "x", {{"s", {{1, -5}, {2, 5}}}}, "y");
  expect_well_formed(negative);
  EXPECT_NE(negative.find(">-4<"), std::string::npos);
  expect_inside(negative, 800, 480);
}

TEST(SvgChart, EscapesXml) {
  EXPECT_EQ(xml_escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
  EXPECT_EQ(xml_escape("tab\tok\nnewline"), "tab\tok?newline");
  EXPECT_EQ(xml_escape("\xe2\x82\xac \xed\xa0\x80"), "\xe2\x82\xac ???");  // a surrogate is invalid
}

}  // namespace
}  // namespace kiln
