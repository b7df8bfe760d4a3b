// dlopen side of plugins: find the library, resolve kiln_register_ops, hand it to the registry.
#include <dlfcn.h>

#include <filesystem>

#include "ops/plugin/plugin_ops.h"

namespace kiln {

void load_plugin(const std::string& path) {
  if (!std::filesystem::is_regular_file(path))
    fail(ErrorCode::kInvalidArgument, "plugin " + path + ": no such file");
  // A path without a slash would make dlopen search the library path instead of this file.
  std::string where = path.find('/') == std::string::npos ? "./" + path : path;
  // RTLD_LOCAL: a plugin's symbols never satisfy another plugin's; RTLD_NOW: fail here, not mid-run.
  void* handle = dlopen(where.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    fail(ErrorCode::kInvalidArgument,
         "plugin " + path + " is not a loadable shared library (" + (why ? why : "dlopen failed") + ")");
  }
  dlerror();
  auto entry = reinterpret_cast<kiln_register_ops_fn>(dlsym(handle, "kiln_register_ops"));
  if (!entry)
    fail(ErrorCode::kInvalidArgument,
         "plugin " + path + " does not define kiln_register_ops (see docs/PLUGINS.md)");
  register_plugin_ops(entry, path);  // never dlclose: its kernels stay registered
}

void load_plugins(const std::vector<std::string>& paths) {
  for (const auto& p : paths) load_plugin(p);
}

}  // namespace kiln
