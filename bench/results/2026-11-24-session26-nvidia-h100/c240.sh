# Session 26 call 10 (tests binary of d05dad4; build/kiln of c239 still on the machine): every GPU test.
source .devcarry/unpack.sh
R=$OUT/c240; mkdir -p $R
ls -la build/kiln
T=build/tests/kiln_gpu_tests
export KILN_TEST_DIR=$PWD/tests
timeout 500 $T > /tmp/gpu_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|tests ran|FAILED  \]" /tmp/gpu_tests.txt | head -12; gzip -c /tmp/gpu_tests.txt > $R/gpu_tests.txt.gz
