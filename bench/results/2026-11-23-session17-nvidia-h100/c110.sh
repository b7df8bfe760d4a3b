# Session 17 call 8: MixFFN wgmma, C = 128 with two W1 and H buffers and one barrier a chunk: GpuMixFfn* (both kernels), memcheck + racecheck, B2 b1/b8 + B0 b1 benches, B2 profiles (MixFFN rows).
source .devcarry/unpack.sh
R=$OUT
timeout 200 build/tests/kiln_gpu_tests --gtest_filter='GpuMixFfn*' > $R/c110_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED|OK \]" $R/c110_tests.txt | head -20
grep -B3 -A12 "Failure" $R/c110_tests.txt | head -60
timeout 150 /usr/local/cuda/bin/compute-sanitizer --tool memcheck build/tests/kiln_gpu_tests --gtest_filter='GpuMixFfn.Widths:GpuMixFfn.RaggedImages' > $R/c110_memcheck.txt 2>&1; echo "memcheck exit $?"; grep -E "PASSED|ERROR SUMMARY" $R/c110_memcheck.txt | tail -2
timeout 150 /usr/local/cuda/bin/compute-sanitizer --tool racecheck build/tests/kiln_gpu_tests --gtest_filter='GpuMixFfn.Widths' > $R/c110_racecheck.txt 2>&1; echo "racecheck exit $?"; grep -E "PASSED|RACECHECK SUMMARY" $R/c110_racecheck.txt | tail -2
B=$R/c110_bench.txt
for cfg in "b2 1" "b2 8"; do set -- $cfg; n=seg_$1_b$2
  timeout 200 python3 tools/export/export_segformer.py --variant $1 --batch $2 --out /tmp/$n > /dev/null 2>&1
  build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > /tmp/${n}_build.log 2>&1 || tail -3 /tmp/${n}_build.log
  for r in 1 2; do build/kiln bench /tmp/$n.kiln --iterations 200 --warmup 30 --json > /tmp/${n}_r$r.json 2>/dev/null; python3 -c "import json;d=json.load(open('/tmp/${n}_r$r.json'));r=d['rows'][0];print('$n r$r median',round(r['gpu_ms']['median'],4))" | tee -a $B; done
done
for b in 8 1; do build/kiln profile /tmp/seg_b2_b$b.kiln --iterations 10 --json > $R/c110_profile_seg_b2_b$b.json 2>/dev/null; python3 -c "
import json;d=json.load(open('$R/c110_profile_seg_b2_b$b.json'));print('b$b total',round(d['total_ms'],3),{k:round(v['ms'],3) for k,v in d['by_op'].items() if v['ms']>0.1})
for l in d['layers']:
  if l['op']=='MixFFN': print('  ',l['layer'][-40:],round(l['ms']*1000,1),'us')" | tee -a $B; done
