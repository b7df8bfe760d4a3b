# Session 14 call 15 (binaries in .devcarry/commit: review mend of MixFFN's loads and type check): GpuMixFfn tests and memcheck; B2 b8 and b1 times.
set -o pipefail
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R; export R
timeout 150 build/tests/kiln_gpu_tests --gtest_filter='GpuMixFfn*' > $R/c74_gpu_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED|fp16:" $R/c74_gpu_tests.txt | head -8
timeout 120 /usr/local/cuda/bin/compute-sanitizer --tool memcheck build/tests/kiln_gpu_tests --gtest_filter='GpuMixFfn.Widths:GpuMixFfn.RaggedImages:GpuMixFfn.StreamTypesAndActivations' > $R/c74_memcheck.txt 2>&1; echo "memcheck exit $?"; grep -E "PASSED|ERROR SUMMARY" $R/c74_memcheck.txt | tail -2
for cfg in "b2 8" "b2 1"; do set -- $cfg; n=seg_$1_b$2
  timeout 200 python3 tools/export/export_segformer.py --variant $1 --batch $2 --out /tmp/$n > $R/${n}_export.log 2>&1 || tail -3 $R/${n}_export.log
  build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > $R/c74_${n}_build.log 2>&1 || tail -3 $R/c74_${n}_build.log
  for round in 1 2; do build/kiln bench /tmp/$n.kiln --iterations 100 --warmup 20 --json > $R/c74_${n}_r$round.bench.json 2>/dev/null
    python3 -c "import json;r=json.load(open('$R/c74_${n}_r$round.bench.json'))['rows'][0]['gpu_ms'];print('$n round $round median',round(r['median'],4),'p90',round(r['p90'],4))"; done
done
(cd /tmp && tar -cf $OUT/results.tar res)
