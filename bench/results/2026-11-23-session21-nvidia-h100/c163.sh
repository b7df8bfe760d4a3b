# Session 21 call 14 (tests binary of d01a7df): every GPU test (the six that need build/kiln run again in c164), memcheck and racecheck of SequenceReduction.
source .devcarry/unpack.sh
R=$OUT/c163; mkdir -p $R
timeout 330 build/tests/kiln_gpu_tests > /tmp/gpu_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED|tests ran" /tmp/gpu_tests.txt | head -12; gzip -c /tmp/gpu_tests.txt > $R/gpu_tests.txt.gz
