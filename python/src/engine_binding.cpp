// kiln.Engine, kiln.TensorInfo, kiln.DeviceArray, kiln.build and kiln.load.
// Engine.run takes host arrays (numpy or anything numpy.asarray reads) and returns numpy
// arrays, or takes CUDA tensors through DLPack and runs on the caller's stream without a host
// round trip, writing into caller-provided outputs or into new DeviceArrays.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings.h"
#include "dlpack_tensor.h"
#include "engine_handle.h"
#include "numpy_tensor.h"

namespace py = pybind11;

namespace kiln::python {
namespace {

// An input or output as Engine.inputs/outputs describe it.
struct TensorInfo {
  std::string name;
  py::tuple shape;  // ints, or strings for symbolic dims ("batch"), None for unknown ones
  std::string dtype;
};

TensorInfo info_of(const Graph& g, const std::string& name) {
  const ValueType& t = g.value(name).type;
  py::tuple shape(t.shape ? t.shape->size() : 0);
  for (size_t i = 0; t.shape && i < t.shape->size(); ++i) {
    const Dim& d = (*t.shape)[i];
    shape[i] = d.known() ? py::object(py::int_(d.value)) : d.symbol.empty() ? py::object(py::none()) : py::object(py::str(d.symbol));
  }
  return {name, shape, dtype_name(t.dtype)};
}

// Inputs as (name, object) pairs from a dict, a sequence in Engine.inputs order, or one object
// for a single-input engine.
std::vector<std::pair<std::string, py::object>> named_inputs(const Graph& g, const py::object& inputs) {
  std::vector<std::pair<std::string, py::object>> named;
  if (py::isinstance<py::dict>(inputs)) {
    for (auto [key, value] : py::reinterpret_borrow<py::dict>(inputs)) {
      if (!py::isinstance<py::str>(key))
        fail(ErrorCode::kInvalidArgument, "input names are strings, got " + std::string(py::repr(key)));
      named.emplace_back(key.cast<std::string>(), py::reinterpret_borrow<py::object>(value));
    }
    return named;
  }
  std::string names;
  for (const auto& n : g.inputs) names += (names.empty() ? "" : ", ") + n;
  if (py::isinstance<py::list>(inputs) || py::isinstance<py::tuple>(inputs)) {
    py::sequence seq = inputs;
    if (seq.size() != g.inputs.size())
      fail(ErrorCode::kInvalidArgument, "run() got " + std::to_string(seq.size()) + " inputs, the engine takes " +
                                            std::to_string(g.inputs.size()) + " (" + names + ")");
    for (size_t i = 0; i < seq.size(); ++i) named.emplace_back(g.inputs[i], seq[i]);
    return named;
  }
  if (g.inputs.size() != 1)
    fail(ErrorCode::kInvalidArgument, "the engine takes " + std::to_string(g.inputs.size()) + " inputs (" + names +
                                          "); give them as a dict or a sequence");
  named.emplace_back(g.inputs[0], inputs);
  return named;
}

bool on_cuda(const py::handle& obj) {
  auto d = dlpack_device(obj);
  return d && (d->device_type == kDLCUDA || d->device_type == kDLCUDAManaged);
}

py::dict run_host(EngineHandle& h, const std::vector<std::pair<std::string, py::object>>& named) {
  TensorMap feeds;
  for (const auto& [name, obj] : named) feeds[name] = tensor_from_numpy(obj, "input '" + name + "'");
  TensorMap outs;
  {
    py::gil_scoped_release release;
    outs = h.run_host(feeds);
  }
  py::dict result;
  for (const auto& name : h.engine().graph.outputs) result[py::str(name)] = numpy_from_tensor(outs.at(name));
  return result;
}

#ifdef KILN_WITH_CUDA
// A kiln-allocated device output: memory from the stream it was made on (the caller's), freed
// in that stream's order once every consumer let go. Hand it to torch.from_dlpack,
// cupy.from_dlpack, ... (zero-copy).
struct DeviceArray {
  std::shared_ptr<DeviceBuffer> buffer;
  DType dtype = DType::kUndefined;
  Dims dims;
  intptr_t stream = 0;  // the writes were queued on this stream

  py::capsule dlpack(const py::object& consumer) const {
    // -1: the consumer asks for no ordering; None: the legacy default stream (spec).
    intptr_t s = consumer.is_none() ? 1 : consumer.cast<intptr_t>();
    if (s != -1) order_streams(reinterpret_cast<CudaStream>(stream), reinterpret_cast<CudaStream>(s));
    return dlpack_capsule(buffer, buffer->data(), dtype, dims, {kDLCUDA, 0});
  }
};

py::dict run_device(EngineHandle& h, const std::vector<std::pair<std::string, py::object>>& named,
                    const py::object& outputs, const py::object& stream) {
  if (h.engine().target.device != "cuda")
    fail(ErrorCode::kInvalidArgument, "the inputs are in CUDA memory but the engine runs on " +
                                          h.engine().target.device + "; pass numpy arrays, or build it with device='cuda'");
  const intptr_t s = stream.is_none() ? 0 : stream.cast<intptr_t>();
  std::vector<ImportedTensor> held;  // the producers' memory stays ours until the run is queued
  BorrowedTensorMap in, out;
  std::map<std::string, Dims> dims;
  for (const auto& [name, obj] : named) {
    if (!on_cuda(obj))
      fail(ErrorCode::kInvalidArgument, "input '" + name + "' is host memory while other inputs are CUDA tensors; "
                                            "give all inputs on one device");
    held.emplace_back(obj, s, "input '" + name + "'");
    in[name] = {held.back().dtype(), held.back().dims(), held.back().data()};
    dims[name] = held.back().dims();
  }
  py::dict result;
  if (!outputs.is_none()) {
    if (!py::isinstance<py::dict>(outputs))
      fail(ErrorCode::kInvalidArgument, "outputs= takes a dict of CUDA tensors by output name");
    for (auto [key, value] : py::reinterpret_borrow<py::dict>(outputs)) {
      const std::string name = py::str(key);
      held.emplace_back(value, s, "output '" + name + "'");
      out[name] = {held.back().dtype(), held.back().dims(), held.back().data()};
    }
    for (const auto& name : h.engine().graph.outputs)
      if (outputs.contains(py::str(name))) result[py::str(name)] = outputs[py::str(name)];
  } else {
    for (const auto& [name, type] : h.output_types(dims)) {
      DeviceArray a{nullptr, type.first, type.second, s};
      a.buffer = std::make_shared<DeviceBuffer>(size_t(numel_of(a.dims)) * dtype_size(a.dtype), reinterpret_cast<CudaStream>(s));
      out[name] = {a.dtype, a.dims, a.buffer->data()};
      result[py::str(name)] = py::cast(std::move(a));
    }
  }
  {
    py::gil_scoped_release release;
    h.run_device(in, out, reinterpret_cast<CudaStream>(s));
  }
  return result;
}

// kiln.torch's path: raw device pointers in Engine.inputs / Engine.outputs order with their
// dims; dtypes are the engine's (the caller checked them: on torch tensors that is cheap). Skips
// DLPack's per-tensor Python protocol calls, which cost tens of microseconds a call. The output
// dims are checked against the plan's before anything runs. The caller keeps the memory alive
// until the work on `stream` is queued.
void run_pointers(EngineHandle& h, const std::vector<uintptr_t>& input_ptrs, const std::vector<Dims>& input_dims,
                  const std::vector<uintptr_t>& output_ptrs, const std::vector<Dims>& output_dims, intptr_t stream) {
  const Graph& g = h.engine().graph;
  if (h.engine().target.device != "cuda")
    fail(ErrorCode::kInvalidArgument, "the engine runs on " + h.engine().target.device + ", not on CUDA pointers");
  if (input_ptrs.size() != g.inputs.size() || input_dims.size() != g.inputs.size() ||
      output_ptrs.size() != g.outputs.size() || output_dims.size() != g.outputs.size())
    fail(ErrorCode::kInvalidArgument, "the engine takes " + std::to_string(g.inputs.size()) + " inputs and " +
                                          std::to_string(g.outputs.size()) + " outputs");
  BorrowedTensorMap in, out;
  for (size_t i = 0; i < g.inputs.size(); ++i)
    in[g.inputs[i]] = {g.value(g.inputs[i]).type.dtype, input_dims[i], reinterpret_cast<void*>(input_ptrs[i])};
  for (size_t i = 0; i < g.outputs.size(); ++i)
    out[g.outputs[i]] = {g.value(g.outputs[i]).type.dtype, output_dims[i], reinterpret_cast<void*>(output_ptrs[i])};
  py::gil_scoped_release release;
  h.run_device(in, out, reinterpret_cast<CudaStream>(stream));
}
#endif

py::dict run(EngineHandle& h, const py::object& inputs, const py::object& outputs, const py::object& stream) {
  auto named = named_inputs(h.engine().graph, inputs);
  bool any_cuda = false;
  for (const auto& [name, obj] : named) any_cuda = any_cuda || on_cuda(obj);
  if (any_cuda) {
#ifdef KILN_WITH_CUDA
    return run_device(h, named, outputs, stream);
#else
    fail(ErrorCode::kInvalidArgument, "the inputs are CUDA tensors, but this kiln build has only the cpu device");
#endif
  }
  if (!outputs.is_none())
    fail(ErrorCode::kInvalidArgument, "outputs= takes CUDA tensors (with CUDA inputs); host runs return new numpy arrays");
  return run_host(h, named);
}

std::map<std::string, Dims> shapes_from(const py::object& shapes) {
  std::map<std::string, Dims> out;
  if (shapes.is_none()) return out;
  for (auto [key, value] : py::reinterpret_borrow<py::dict>(shapes)) {
    Dims d;
    for (auto v : value) d.push_back(v.cast<int64_t>());
    out[key.cast<std::string>()] = d;
  }
  return out;
}

}  // namespace

void bind_engine(py::module_& m) {
  py::class_<TensorInfo>(m, "TensorInfo", "An engine input or output: name, shape, dtype.")
      .def_readonly("name", &TensorInfo::name)
      .def_readonly("shape", &TensorInfo::shape)
      .def_readonly("dtype", &TensorInfo::dtype)
      .def("__repr__", [](const TensorInfo& t) {
        return "TensorInfo(name=" + std::string(py::repr(py::str(t.name))) + ", shape=" + std::string(py::repr(t.shape)) +
               ", dtype='" + t.dtype + "')";
      });

#ifdef KILN_WITH_CUDA
  py::class_<DeviceArray>(m, "DeviceArray", "A kiln-allocated CUDA output; consume it with torch.from_dlpack & co.")
      .def_property_readonly("shape", [](const DeviceArray& a) { return py::tuple(py::cast(a.dims)); })
      .def_property_readonly("dtype", [](const DeviceArray& a) { return std::string(dtype_name(a.dtype)); })
      // max_version, dl_device, copy: newer consumers pass them; kiln exports the unversioned
      // capsule, which the protocol lets every consumer take, on its own device, never copied.
      .def("__dlpack__",
           [](const DeviceArray& a, const py::object& stream, const py::object&, const py::object&,
              const py::object&) { return a.dlpack(stream); },
           py::arg("stream") = py::none(), py::kw_only(),
           py::arg("max_version") = py::none(), py::arg("dl_device") = py::none(), py::arg("copy") = py::none())
      .def("__dlpack_device__", [](const DeviceArray&) { return py::make_tuple(int(kDLCUDA), 0); });
  m.attr("has_cuda") = true;
#else
  m.attr("has_cuda") = false;
#endif

  py::class_<EngineHandle, std::shared_ptr<EngineHandle>> engine(m, "Engine", "A built or loaded kiln engine.");
  engine
      .def_property_readonly("device", [](const EngineHandle& h) { return h.engine().target.device; })
      .def_property_readonly("arch", [](const EngineHandle& h) { return h.engine().target.arch; })
      .def_property_readonly("precision", [](const EngineHandle& h) { return h.engine().build.precision; })
      .def_property_readonly("inputs", [](const EngineHandle& h) {
        std::vector<TensorInfo> v;
        for (const auto& n : h.engine().graph.inputs) v.push_back(info_of(h.engine().graph, n));
        return v;
      })
      .def_property_readonly("outputs", [](const EngineHandle& h) {
        std::vector<TensorInfo> v;
        for (const auto& n : h.engine().graph.outputs) v.push_back(info_of(h.engine().graph, n));
        return v;
      })
      .def("save", [](const EngineHandle& h, const std::string& path) { h.save(path); }, py::arg("path"))
      .def("run", &run, py::arg("inputs"), py::arg("outputs") = py::none(), py::arg("stream") = py::none(),
           "Runs the engine. inputs: a dict by name, a sequence in Engine.inputs order, or one array.\n"
           "Host arrays in, numpy arrays out; CUDA tensors (DLPack) in, and the outputs are written\n"
           "into outputs= (a dict of CUDA tensors) or new DeviceArrays, ordered on `stream` (a CUDA\n"
           "stream handle; None: the legacy default stream). Returns a dict by output name.");
#ifdef KILN_WITH_CUDA
  engine.def("_run_pointers", &run_pointers, py::arg("input_ptrs"), py::arg("input_dims"), py::arg("output_ptrs"),
             py::arg("output_dims"), py::arg("stream"),
             "kiln.torch's fast path: device pointers in Engine.inputs/outputs order, outputs already\n"
             "allocated with the engine's output dtypes and shapes, work queued on `stream`.");
#endif

  m.def("build",
        [](const std::string& onnx_path, const std::string& precision, const py::object& shapes, const std::string& device) {
          BuildRequest r{onnx_path, precision, shapes_from(shapes), device};
          py::gil_scoped_release release;
          return EngineHandle::build(r);
        },
        py::arg("onnx_path"), py::arg("precision") = "fp16", py::arg("shapes") = py::none(), py::arg("device") = "cuda");
  m.def("load", [](const std::string& path) { return EngineHandle::load(path); }, py::arg("path"));
  m.attr("__version__") = KILN_VERSION;
}

}  // namespace kiln::python
