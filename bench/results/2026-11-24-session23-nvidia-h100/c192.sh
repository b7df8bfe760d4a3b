# Session 23 call 6 (tests binary of main at 7b9aa79, session 22's review mend, which c186 checked only for the five kernels it touched): every GPU test (the six that need build/kiln run again in c193).
source .devcarry/unpack.sh
R=$OUT/c192; mkdir -p $R
timeout 400 build/tests/kiln_gpu_tests > /tmp/gpu_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|tests ran|FAILED  \]" /tmp/gpu_tests.txt | head -12; gzip -c /tmp/gpu_tests.txt > $R/gpu_tests.txt.gz
