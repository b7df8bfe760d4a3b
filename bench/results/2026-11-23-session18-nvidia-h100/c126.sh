# Session 18 call 10: ResizeSumConv with each chunk's TMA boxes issued by the lanes 0 of all 8 warps instead of thread 0: GpuResizeSum* tests, memcheck, racecheck, the op bench, B2 b1/b8 benches and the RSC layer time.
source .devcarry/unpack.sh
R=$OUT
timeout 150 build/tests/kiln_gpu_tests --gtest_filter='GpuResizeSum*' > $R/c126_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED" $R/c126_tests.txt | head
timeout 150 /usr/local/cuda/bin/compute-sanitizer --tool memcheck build/tests/kiln_gpu_tests --gtest_filter='GpuResizeSumConv.*' > $R/c126_memcheck.txt 2>&1; echo "memcheck exit $?"; grep -E "PASSED|ERROR SUMMARY" $R/c126_memcheck.txt | tail -2
timeout 100 /usr/local/cuda/bin/compute-sanitizer --tool racecheck build/tests/kiln_gpu_tests --gtest_filter='GpuResizeSumConv.DecodeHeadShapes' > $R/c126_racecheck.txt 2>&1; echo "racecheck exit $?"; grep -E "PASSED|RACECHECK SUMMARY" $R/c126_racecheck.txt | tail -2
B=$R/c126_bench.txt
timeout 120 build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='GpuResizeSumConv.DISABLED_*Bench*' >> $B 2>&1
for cfg in "b2 1" "b2 8"; do set -- $cfg; n=seg_$1_b$2
  timeout 200 python3 tools/export/export_segformer.py --variant $1 --batch $2 --out /tmp/$n > /dev/null 2>&1
  build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > /tmp/${n}_build.log 2>&1 || tail -3 /tmp/${n}_build.log
  for r in 1 2; do build/kiln bench /tmp/$n.kiln --iterations 200 --warmup 30 --json > /tmp/${n}_r$r.json 2>/dev/null; python3 -c "import json;d=json.load(open('/tmp/${n}_r$r.json'));r=d['rows'][0];print('$n r$r median',round(r['gpu_ms']['median'],4))" | tee -a $B; done
  build/kiln profile /tmp/$n.kiln --iterations 10 --json > /tmp/p.json 2>/dev/null; python3 -c "
import json;d=json.load(open('/tmp/p.json'))
for l in d['layers']:
  if l['op']=='ResizeSumConv': print('$n RSC',round(l['ms']*1000,1),'us')" | tee -a $B
done
grep -iE "ms|us" $B | grep -v median | head -8
