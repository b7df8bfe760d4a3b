# Session 12 call 10 (1c63ef5, the final source): every GPU test; memcheck on the new kernels' tests; bench/segformer.sh B2 b1 with the PyTorch peers; B2 b8 and B0 kiln fp16 times; the B2 b1 fp16 profile. Falls back to the binaries of 898c632 (prev_kiln.xz) for the timings if a GPU test fails.
set -o pipefail
source .devcarry/unpack.sh
R=$OUT/res; mkdir -p $R; export R
timeout 150 build/tests/kiln_gpu_tests > $R/gpu_tests.txt 2>&1; echo "gpu tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED" $R/gpu_tests.txt | head -12
if grep -q "FAILED" $R/gpu_tests.txt; then xz -dc .devcarry/prev_kiln.xz > build/kiln; echo "timings with prev binaries $(cat .devcarry/prev_commit)"; fi
timeout 60 compute-sanitizer --tool memcheck --leak-check full build/tests/kiln_gpu_tests --gtest_filter='GpuResizeSum.*:GpuIm2ColTokens.*:GpuNorm.*:GpuTokenDwconv.*' > $R/memcheck_new_kernels.txt 2>&1; echo "memcheck exit $?"; grep -E "ERROR SUMMARY|PASSED|FAILED" $R/memcheck_new_kernels.txt | head -4
export KILN_COMMIT=$(cat .devcarry/commit)
SEGFORMER_BATCHES=1 SEGFORMER_WORK=/tmp/sw KILN=build/kiln timeout 170 env -u OUT bash bench/segformer.sh > $R/segformer_b1.log 2>&1; echo "segformer.sh exit $?"; grep "^| 1 " $R/segformer_b1.log
tar -cf $R/segformer_b1_results.tar bench/results/$(date +%F)-segformer-b2-*-b1* 2>/dev/null
E=$(ls /tmp/sw/*fp16*.kiln 2>/dev/null | head -1); [ -n "$E" ] && timeout 40 build/kiln profile $E --iterations 10 --json > $R/profile_b2_b1_fp16.json 2>/dev/null && timeout 40 build/kiln profile $E --iterations 10 --top 40 > $R/profile_b2_b1_fp16.txt 2>&1; head -1 $R/profile_b2_b1_fp16.txt
for cfg in "b0 1" "b2 8"; do set -- $cfg; n=seg_$1_b$2
  timeout 90 python3 tools/export/export_segformer.py --variant $1 --batch $2 --out /tmp/$n > $R/${n}_export.log 2>&1
  build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > $R/${n}_build.log 2>&1
  build/kiln bench /tmp/$n.kiln --iterations 100 --warmup 20 --json > $R/${n}_fp16.bench.json 2>/dev/null; python3 -c "import json;r=json.load(open('$R/${n}_fp16.bench.json'))['rows'][0]['gpu_ms'];print('$n fp16 median',r['median'],'p90',r['p90'])"
done
