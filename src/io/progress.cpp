#include "io/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace kiln {

bool Progress::terminal() {
  const char* off = std::getenv("KILN_NO_PROGRESS");
  const char* term = std::getenv("TERM");
  if (off && *off && std::string(off) != "0") return false;
  if (term && std::string(term) == "dumb") return false;
  return isatty(STDERR_FILENO) == 1;
}

Progress::Progress(std::string label, int64_t total, std::chrono::milliseconds delay)
    : label_(std::move(label)),
      total_(std::max<int64_t>(total, 1)),
      enabled_(terminal()),
      start_(std::chrono::steady_clock::now()),
      delay_(delay) {}

Progress::~Progress() { clear(); }

std::string Progress::render(const std::string& label, int64_t done, int64_t total, double elapsed_s, int width) {
  done = std::clamp<int64_t>(done, 0, total);
  double f = double(done) / double(total);
  int fill = int(f * width);
  std::string bar(size_t(fill), '=');
  if (fill < width) bar += '>' + std::string(size_t(width - fill - 1), ' ');
  char tail[96];
  if (done > 0 && done < total) {
    double eta = elapsed_s * double(total - done) / double(done);
    std::snprintf(tail, sizeof tail, " %lld/%lld %3d%%  eta %.0f s", (long long)done, (long long)total,
                  int(f * 100), eta);
  } else {
    std::snprintf(tail, sizeof tail, " %lld/%lld %3d%%  %.0f s", (long long)done, (long long)total,
                  int(f * 100), elapsed_s);
  }
  return label + " [" + bar + "]" + tail;
}

void Progress::set(int64_t done) {
  done_ = done;
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - start_ < delay_) return;
  if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100) && done_ < total_) return;
  last_draw_ = now;
  double elapsed = std::chrono::duration<double>(now - start_).count();
  std::string line = render(label_, done_, total_, elapsed, 30);
  std::fprintf(stderr, "\r%s\033[K", line.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::clear() {
  if (!drawn_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace kiln
