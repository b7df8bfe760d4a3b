# Session 19 call 1: MixFFN's depthwise conv on mma m16n8k8 (diagonal B): MixFFN GPU tests, memcheck, racecheck, B2 b8/b1 medians and profiles, ncu of stage 0 and 1 MixFFN at b8.
source .devcarry/unpack.sh
R=$OUT
timeout 200 build/tests/kiln_gpu_tests --gtest_filter='GpuMixFfn*:GpuMixedPrecision*' > $R/c129_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED|Failure" $R/c129_tests.txt | head
timeout 150 /usr/local/cuda/bin/compute-sanitizer --tool memcheck build/tests/kiln_gpu_tests --gtest_filter='GpuMixFfn.Widths:GpuMixFfn.RaggedImages' > $R/c129_memcheck.txt 2>&1; echo "memcheck exit $?"; grep -E "PASSED|ERROR SUMMARY" $R/c129_memcheck.txt | tail -2
timeout 150 /usr/local/cuda/bin/compute-sanitizer --tool racecheck build/tests/kiln_gpu_tests --gtest_filter='GpuMixFfn.Widths' > $R/c129_racecheck.txt 2>&1; echo "racecheck exit $?"; grep -E "PASSED|RACECHECK SUMMARY" $R/c129_racecheck.txt | tail -2
for bs in 8 1; do n=seg_b2_b$bs
  timeout 200 python3 tools/export/export_segformer.py --variant b2 --batch $bs --out /tmp/$n > /dev/null 2>&1 || echo export failed
  build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > /tmp/b.log 2>&1 || tail -3 /tmp/b.log
  for r in 1 2; do build/kiln bench /tmp/$n.kiln --iterations 100 --warmup 20 --json > /tmp/j.json 2>/dev/null; python3 -c "import json;r=json.load(open('/tmp/j.json'))['rows'][0]['gpu_ms'];print('$n r$r median',r['median'],'p90',r['p90'])" | tee -a $R/c129_bench.txt; done
  build/kiln profile /tmp/$n.kiln --iterations 10 --top 60 > $R/c129_profile_b$bs.txt 2>&1; build/kiln profile /tmp/$n.kiln --iterations 10 --json > $R/c129_profile_b$bs.json 2>&1; head -1 $R/c129_profile_b$bs.txt; grep MixFFN $R/c129_profile_b$bs.txt | head -8
done
for s in 0 1; do skip=$([ $s = 0 ] && echo 0 || echo 3)
  timeout 120 /usr/local/cuda/bin/ncu --set full --import-source no -k regex:mix_ffn --launch-skip $skip -c 1 -o /tmp/mf$s build/kiln bench /tmp/seg_b2_b8.kiln --iterations 1 --warmup 0 > /dev/null 2>&1; echo "ncu $s exit $?"
  /usr/local/cuda/bin/ncu -i /tmp/mf$s.ncu-rep --page details > $R/c129_mixffn$s\_details.txt 2>&1
  /usr/local/cuda/bin/ncu -i /tmp/mf$s.ncu-rep --page source --csv --print-source sass 2>/dev/null | gzip > $R/c129_mixffn$s\_sass.csv.gz
  grep -E "Duration|Issue Slots Busy|Executed Ipc A|Registers Per|Achieved Occ" $R/c129_mixffn$s\_details.txt | head -8
done
