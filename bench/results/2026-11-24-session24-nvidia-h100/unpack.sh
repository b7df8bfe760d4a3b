# Unpacks the carried binaries (xz) into build/ on the device machine.
mkdir -p build/tests build/examples/plugins/scaled_swish
[ -f .devcarry/kiln.xz ] && xz -dc .devcarry/kiln.xz > build/kiln && chmod +x build/kiln
[ -f .devcarry/kiln_gpu_tests.xz ] && xz -dc .devcarry/kiln_gpu_tests.xz > build/tests/kiln_gpu_tests && chmod +x build/tests/kiln_gpu_tests
[ -f .devcarry/libkiln_scaled_swish.so ] && cp .devcarry/libkiln_scaled_swish.so build/examples/plugins/scaled_swish/
nvidia-smi --query-gpu=name --format=csv,noheader
