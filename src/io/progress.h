// A one-line progress bar on stderr for long work: "label [=====>    ] 412/1200  34%  eta 12 s".
// Drawn only when stderr is a terminal (never into logs, pipes or files; KILN_NO_PROGRESS=1 turns
// it off), at most ten times a second, and only once `delay` has passed, so that short work
// stays quiet. The line is erased when the work ends.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace kiln {

class Progress {
 public:
  Progress(std::string label, int64_t total, std::chrono::milliseconds delay = std::chrono::milliseconds(0));
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void set(int64_t done);  // cheap when nothing is drawn: call it per item
  void advance(int64_t n = 1) { set(done_ + n); }
  // Erases the bar (before printing a line of your own); the next set() draws it again.
  void clear();

  bool shown() const { return enabled_; }
  // The bar text for `done` of `total` at `width` columns of bar; exposed for tests.
  static std::string render(const std::string& label, int64_t done, int64_t total, double elapsed_s, int width);
  static bool terminal();  // stderr is a terminal and progress is not turned off

 private:
  std::string label_;
  int64_t total_, done_ = 0;
  bool enabled_, drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
  std::chrono::milliseconds delay_;
};

}  // namespace kiln
