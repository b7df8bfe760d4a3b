# Session 16 call 2: key splits on the wgmma attention kernel (small grids): GPU attention tests, memcheck, B2 b1 A/B (ec4886c's figures: c91).
set -o pipefail
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R; export R
timeout 200 build/tests/kiln_gpu_tests --gtest_filter='GpuAttention*' > $R/c92_gpu_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED|tests ran" $R/c92_gpu_tests.txt | head -8
timeout 120 /usr/local/cuda/bin/compute-sanitizer --tool memcheck build/tests/kiln_gpu_tests --gtest_filter='GpuAttention.WgmmaKernelSplitKeys' > $R/c92_memcheck.txt 2>&1; echo "memcheck exit $?"; grep -E "PASSED|ERROR SUMMARY" $R/c92_memcheck.txt | tail -2
n=seg_b2_b1; timeout 200 python3 tools/export/export_segformer.py --variant b2 --batch 1 --out /tmp/$n > /dev/null 2>&1
build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > $R/c92_${n}_build.log 2>&1 || tail -3 $R/c92_${n}_build.log
for r in 1 2; do for e in $n; do k=build/kiln
  $k bench /tmp/$e.kiln --iterations 200 --warmup 30 --json > $R/c92_${e}_r$r.bench.json 2>/dev/null; python3 -c "import json;r=json.load(open('$R/c92_${e}_r$r.bench.json'))['rows'][0]['gpu_ms'];print('$e r$r median',round(r['median'],4))"; done; done
timeout 200 /usr/local/cuda/bin/ncu --metrics gpu__time_duration.sum --cache-control none --clock-control none --csv --print-units base -k regex:"attention|combine" build/kiln bench /tmp/$n.kiln --iterations 1 --warmup 0 > $R/c92_ncu_attn_b1.csv 2>/dev/null; echo "ncu exit $?"
(cd /tmp && tar -cf $OUT/results.tar res)
