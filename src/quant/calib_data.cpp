#include "quant/calib_data.h"

#include <algorithm>
#include <filesystem>

#include "io/image.h"
#include "io/npy.h"
#include "runtime/cpu_executor.h"

namespace kiln::quant {
namespace {
namespace fs = std::filesystem;

std::string lower_extension(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return e;
}

bool is_picture(const std::string& ext) { return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp"; }

Tensor picture_input(const std::string& path, const Graph& g, const std::string& input,
                     const std::array<float, 3>& mean, const std::array<float, 3>& std, const std::string& what) {
  const ValueType& t = g.value(input).type;
  if (t.dtype != DType::kF32 || !t.shape || t.shape->size() != 4 || ((*t.shape)[1].known() && (*t.shape)[1].value != 3) ||
      ((*t.shape)[0].known() && (*t.shape)[0].value != 1))
    fail(ErrorCode::kInvalidArgument, what + " picture " + path + ": pictures feed a float32 [1, 3, H, W] input; '" +
                                          input + "' is " + t.to_string() + " (give .npy files instead)");
  const Image img = read_image(path);
  const Shape& s = *t.shape;
  const int h = s[2].known() ? int(s[2].value) : img.height, w = s[3].known() ? int(s[3].value) : img.width;
  return image_to_tensor(img, w, h, mean, std);
}

}  // namespace

std::vector<std::string> calibration_files(const std::string& dir, const std::string& flag) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) fail(ErrorCode::kNotFound, flag + " " + dir + ": no such directory");
  if (!fs::is_directory(dir, ec)) fail(ErrorCode::kInvalidArgument, flag + " " + dir + " is not a directory");
  std::vector<std::string> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    const std::string ext = lower_extension(p);
    if (p.filename().string().rfind('.', 0) == 0 || !(ext == ".npy" || is_picture(ext))) continue;
    files.push_back(p.string());
  }
  if (ec) fail(ErrorCode::kInvalidArgument, flag + " " + dir + ": cannot list it (" + ec.message() + ")");
  if (files.empty())
    fail(ErrorCode::kInvalidArgument, flag + " " + dir + " holds no .npy or picture (.png .jpg .jpeg .bmp) files");
  std::sort(files.begin(), files.end());
  return files;
}

Tensor calibration_input(const std::string& path, const Graph& g, const std::string& input,
                         const std::array<float, 3>& mean, const std::array<float, 3>& std, const std::string& what) {
  Tensor t = lower_extension(path) == ".npy" ? read_npy(path) : picture_input(path, g, input, mean, std, what);
  try {
    check_inputs(g, {{input, t}});
  } catch (const Error& e) {
    fail(ErrorCode::kInvalidArgument, what + " file " + path + ": " + e.what());
  }
  return t;
}

}  // namespace kiln::quant
