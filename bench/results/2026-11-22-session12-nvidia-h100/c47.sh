# Session 12 call 8 (841af17, the final source): every GPU test + memcheck + test models, plus the reference models under memcheck.
set -o pipefail
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R /tmp/bin && cp build/kiln build/tests/kiln_gpu_tests /tmp/bin/
export KILN_BINARY=$PWD/build/kiln
SECTIONS="tests models memcheck memcheck_models" MEMCHECK_TIMEOUT=200 timeout 560 bash tests/gpu/run_on_device.sh /tmp/bin /tmp/gpu > $R/gpu_summary.txt 2>&1; echo "run_on_device exit $?"
grep -E "kiln_gpu_tests:|memcheck|FAILED|Failure" $R/gpu_summary.txt | head -20; cp /tmp/gpu/*.md /tmp/gpu/*.log $R/ 2>/dev/null
(cd /tmp && tar -cf $OUT/results.tar res)
