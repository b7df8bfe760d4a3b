# Session 18 call 11 (binaries of 8e174af: 2895349 plus the review mend f19c758 — host and CPU-reference code moved into shared helpers, kernels' PTX identical — and comments): every GPU test.
source .devcarry/unpack.sh
R=$OUT
timeout 300 build/tests/kiln_gpu_tests > /tmp/gpu_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED" /tmp/gpu_tests.txt | head -8; gzip -c /tmp/gpu_tests.txt > $R/c127_gpu_tests.txt.gz
