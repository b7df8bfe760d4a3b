# Session 16 call 11: ResizeSumConv staging by TMA with the expected-bytes fix, ResizeSum's 48 KB launch fix: each GpuResizeSum* test alone, memcheck, racecheck, op bench; B2 b1/b8 and B0 times; B2 b8 profile. At most 8 files come back: logs only.
source .devcarry/unpack.sh
L=$OUT/c101_tests.log
for t in $(build/tests/kiln_gpu_tests --gtest_list_tests --gtest_filter='GpuResizeSum*' | awk '/^[^ ]/{s=$1} /^  /{print s $1}'); do
  timeout 60 build/tests/kiln_gpu_tests --gtest_filter="$t" > /tmp/one.txt 2>&1; rc=$?; echo "$rc $t" >> $L; [ $rc -ne 0 ] && tail -12 /tmp/one.txt >> $L
done
cat $L | grep -E "^[0-9]+ " 
timeout 150 /usr/local/cuda/bin/compute-sanitizer --tool memcheck build/tests/kiln_gpu_tests --gtest_filter='GpuResizeSumConv.*' > $OUT/c101_memcheck.txt 2>&1; echo "memcheck exit $?"; grep -E "PASSED|ERROR SUMMARY" $OUT/c101_memcheck.txt | tail -2
timeout 100 /usr/local/cuda/bin/compute-sanitizer --tool racecheck build/tests/kiln_gpu_tests --gtest_filter='GpuResizeSumConv.DecodeHeadShapes' > $OUT/c101_racecheck.txt 2>&1; echo "racecheck exit $?"; grep -E "PASSED|RACECHECK SUMMARY" $OUT/c101_racecheck.txt | tail -2
B=$OUT/c101_bench.txt
timeout 120 build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='GpuResizeSumConv.DISABLED_*Bench*' >> $B 2>&1
for cfg in "b2 1" "b2 8" "b0 1"; do set -- $cfg; n=seg_$1_b$2
  timeout 200 python3 tools/export/export_segformer.py --variant $1 --batch $2 --out /tmp/$n > /dev/null 2>&1
  build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > /tmp/${n}_build.log 2>&1 || tail -3 /tmp/${n}_build.log >> $B
  for r in 1 2; do build/kiln bench /tmp/$n.kiln --iterations 200 --warmup 30 --json > /tmp/${n}_r$r.json 2>/dev/null; python3 -c "import json;d=json.load(open('/tmp/${n}_r$r.json'));r=d['rows'][0];print('$n r$r median',round(r['gpu_ms']['median'],4))" | tee -a $B; done
done
build/kiln profile /tmp/seg_b2_b8.kiln --iterations 10 --top 12 > $OUT/c101_profile_seg_b2_b8.txt 2>&1; grep -A6 "^by op" $OUT/c101_profile_seg_b2_b8.txt
grep -iE "ResizeSumConv.*ms|ms" $B | head -6
