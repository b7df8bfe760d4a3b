# Session 16 call 5: wgmma attention with TMA + mbarriers (no per-tile block barrier), key splits, vectorized combine: attention GPU tests, memcheck, racecheck; B2 b1/b8 times; ncu attention kernel times.
set -o pipefail
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R; export R
timeout 200 build/tests/kiln_gpu_tests --gtest_filter='GpuAttention*' > $R/c95_gpu_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED" $R/c95_gpu_tests.txt | head -12
timeout 150 /usr/local/cuda/bin/compute-sanitizer --tool memcheck build/tests/kiln_gpu_tests --gtest_filter='GpuAttention.Wgmma*:GpuAttention.SegFormerSized' > $R/c95_memcheck.txt 2>&1; echo "memcheck exit $?"; grep -E "PASSED|ERROR SUMMARY" $R/c95_memcheck.txt | tail -2
timeout 150 /usr/local/cuda/bin/compute-sanitizer --tool racecheck build/tests/kiln_gpu_tests --gtest_filter='GpuAttention.WgmmaKernelSplitKeys' > $R/c95_racecheck.txt 2>&1; echo "racecheck exit $?"; grep -E "PASSED|ERROR SUMMARY|RACECHECK SUMMARY" $R/c95_racecheck.txt | tail -2
for cfg in "b2 1" "b2 8"; do set -- $cfg; n=seg_$1_b$2
  timeout 200 python3 tools/export/export_segformer.py --variant $1 --batch $2 --out /tmp/$n > /dev/null 2>&1
  build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > $R/c95_${n}_build.log 2>&1 || tail -3 $R/c95_${n}_build.log
  for r in 1 2; do build/kiln bench /tmp/$n.kiln --iterations 200 --warmup 30 --json > $R/c95_${n}_r$r.bench.json 2>/dev/null; python3 -c "import json;d=json.load(open('$R/c95_${n}_r$r.bench.json'));r=d['rows'][0];print('$n r$r median',round(r['gpu_ms']['median'],4))"; done
  timeout 200 /usr/local/cuda/bin/ncu --metrics gpu__time_duration.sum --cache-control none --clock-control none --csv --print-units base -k regex:"attention|combine" build/kiln bench /tmp/$n.kiln --iterations 1 --warmup 0 > $R/c95_ncu_attn_$n.csv 2>/dev/null; echo "ncu exit $?"
done
(cd /tmp && tar -cf $OUT/results.tar res)
