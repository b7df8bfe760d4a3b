# Session 16 call 7: find the test that hung in c96 — each test alone with a short timeout, logged to $OUT as it goes.
source .devcarry/unpack.sh
L=$OUT/c97_tests.log
for t in $(build/tests/kiln_gpu_tests --gtest_list_tests --gtest_filter='GpuResizeSum*:GpuLayerNorm*:*GpuFp16Model*:*GpuModel*' | awk '/^[^ ]/{s=$1} /^  /{print s $1}'); do
  timeout 40 build/tests/kiln_gpu_tests --gtest_filter="$t" > /tmp/one.txt 2>&1; rc=$?
  echo "$rc $t" >> $L
  if [ $rc -ne 0 ]; then tail -15 /tmp/one.txt >> $L; fi
done
grep -v "^0 " $L | head -40; wc -l $L
