# Session 13 call 1 (a22bc7d): the wgmma attention kernel — every GPU test (first GPU run of be3ac9e too), memcheck on the attention tests, SASS op counts of the new kernel, SegFormer B2 b1/b8 and B0 times and profiles.
set -o pipefail
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R; export R
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader
timeout 200 build/tests/kiln_gpu_tests > $R/gpu_tests.txt 2>&1; echo "gpu tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED|tests ran" $R/gpu_tests.txt | head -20
grep -B2 -A12 "Failure" $R/gpu_tests.txt | head -60
timeout 150 compute-sanitizer --tool memcheck build/tests/kiln_gpu_tests --gtest_filter='GpuAttention.Wgmma*' > $R/memcheck_wgmma.txt 2>&1; echo "memcheck exit $?"; grep -E "ERROR SUMMARY|PASSED|FAILED" $R/memcheck_wgmma.txt | head -4
(which cuobjdump || ls /usr/local/cuda/bin/cuobjdump) >/dev/null 2>&1 && { CO=$(which cuobjdump || echo /usr/local/cuda/bin/cuobjdump); $CO -sass build/kiln 2>/dev/null | awk '/Function : .*attention_f16_wgmma/{f=1} f&&/Function : /&&!/wgmma/{f=0} f' > $R/wgmma_sass.txt; grep -oE "HGMMA[.A-Z0-9x]*|MUFU\.[A-Z0-9]+|WARPGROUP\.[A-Z]+|BAR\.[A-Z]+" $R/wgmma_sass.txt | sort | uniq -c | sort -rn | head -12; }
which ncu || ls /usr/local/cuda/bin/ | head -30
bash .devcarry/segbench.sh c50 "b2 1" "b2 8" "b0 1"
(cd /tmp && tar -cf $OUT/results.tar res)
