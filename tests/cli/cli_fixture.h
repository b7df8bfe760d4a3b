// What the CLI tests share: the real kiln binary run in a temporary directory with its stdout
// and stderr captured, and the user-error contract (exit 2, one stderr line, nothing written).
#pragma once
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "../unit/onnx_builder.h"

namespace kiln::test {

struct CliResult {
  int code;
  std::string out, err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

inline int64_t lines(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

class CliTest : public ::testing::Test {
 protected:
  // A fresh directory named after `tag`; out_ inside it is where commands may write.
  void make_dirs(const std::string& tag) {
    dir_ = make_temp_dir(tag);
    out_ = dir_ + "/out";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  CliResult kiln(const std::string& args) {
    std::string cmd = std::string(KILN_BINARY) + " " + args + " >" + dir_ + "/stdout 2>" + dir_ + "/stderr";
    int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(dir_ + "/stdout"), slurp(dir_ + "/stderr")};
  }

  // Exit 2, exactly one stderr line containing `fragment`, and no output directory.
  void expect_user_error(const std::string& args, const std::string& fragment) {
    CliResult r = kiln(args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
    EXPECT_EQ(lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find(fragment), std::string::npos) << "want '" << fragment << "' in: " << r.err;
    EXPECT_FALSE(std::filesystem::exists(out_)) << args << " wrote output";
  }

  std::string dir_, out_;
};

}  // namespace kiln::test
