# Session 22 call 12 (tests binary of 78f872b): every GPU test (the six that need build/kiln run again in c179).
source .devcarry/unpack.sh
R=$OUT/c178; mkdir -p $R
timeout 400 build/tests/kiln_gpu_tests > /tmp/gpu_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED|tests ran" /tmp/gpu_tests.txt | head -12; gzip -c /tmp/gpu_tests.txt > $R/gpu_tests.txt.gz
