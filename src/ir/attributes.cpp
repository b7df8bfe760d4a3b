#include "ir/attributes.h"

namespace kiln {

template <class T> const T& Attributes::get(const std::string& name, const char* type_name) const {
  auto it = values_.find(name);
  if (it == values_.end()) fail(ErrorCode::kInvalidModel, "missing required attribute '" + name + "'");
  const T* v = std::get_if<T>(&it->second);
  if (!v) fail(ErrorCode::kInvalidModel, "attribute '" + name + "' must be of type " + type_name);
  return *v;
}

int64_t Attributes::get_int(const std::string& n) const { return get<int64_t>(n, "int"); }
int64_t Attributes::get_int(const std::string& n, int64_t fb) const { return has(n) ? get_int(n) : fb; }
float Attributes::get_float(const std::string& n) const { return get<float>(n, "float"); }
float Attributes::get_float(const std::string& n, float fb) const { return has(n) ? get_float(n) : fb; }
std::string Attributes::get_string(const std::string& n) const { return get<std::string>(n, "string"); }
std::string Attributes::get_string(const std::string& n, const std::string& fb) const {
  return has(n) ? get_string(n) : fb;
}
std::vector<int64_t> Attributes::get_ints(const std::string& n) const {
  return get<std::vector<int64_t>>(n, "ints");
}
std::vector<int64_t> Attributes::get_ints(const std::string& n, std::vector<int64_t> fb) const {
  return has(n) ? get_ints(n) : fb;
}
std::vector<float> Attributes::get_floats(const std::string& n) const {
  return get<std::vector<float>>(n, "floats");
}
std::vector<float> Attributes::get_floats(const std::string& n, std::vector<float> fb) const {
  return has(n) ? get_floats(n) : fb;
}
std::vector<std::string> Attributes::get_strings(const std::string& n) const {
  return get<std::vector<std::string>>(n, "strings");
}
const Tensor& Attributes::get_tensor(const std::string& n) const { return get<Tensor>(n, "tensor"); }

}  // namespace kiln
