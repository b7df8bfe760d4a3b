# Session 14 call 1: MixFFN kernel tests + memcheck; A/B of fuse_mix_ffn on SegFormer B2 b8, b1 and B0 b1 (two rounds, alternating); profiles with it.
set -o pipefail
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R; export R
timeout 150 build/tests/kiln_gpu_tests --gtest_filter='GpuMixFfn*' > $R/c60_gpu_tests.txt 2>&1; echo "mixffn tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED|fp16:|Failure|rel|index" $R/c60_gpu_tests.txt | head -30
timeout 120 /usr/local/cuda/bin/compute-sanitizer --tool memcheck build/tests/kiln_gpu_tests --gtest_filter='GpuMixFfn.Widths:GpuMixFfn.RaggedImages' > $R/c60_memcheck.txt 2>&1; echo "memcheck exit $?"; tail -2 $R/c60_memcheck.txt
for cfg in "b2 8" "b2 1" "b0 1"; do set -- $cfg; n=seg_$1_b$2
  timeout 200 python3 tools/export/export_segformer.py --variant $1 --batch $2 --out /tmp/$n > $R/${n}_export.log 2>&1 || tail -3 $R/${n}_export.log
  build/kiln build /tmp/$n/model.onnx -o /tmp/${n}_mix.kiln --device cuda --fp16 > $R/c60_${n}_mix_build.log 2>&1 || tail -3 $R/c60_${n}_mix_build.log
  build/kiln build /tmp/$n/model.onnx -o /tmp/${n}_nomix.kiln --device cuda --fp16 --disable-pass fuse_mix_ffn > $R/c60_${n}_nomix_build.log 2>&1 || tail -3 $R/c60_${n}_nomix_build.log
  for round in 1 2; do for v in mix nomix; do
    build/kiln bench /tmp/${n}_$v.kiln --iterations 100 --warmup 20 --json > $R/c60_${n}_${v}_r$round.bench.json 2>/dev/null
    python3 -c "import json;r=json.load(open('$R/c60_${n}_${v}_r$round.bench.json'))['rows'][0]['gpu_ms'];print('$n $v round $round median',round(r['median'],4),'p90',round(r['p90'],4))"
  done; done
  build/kiln profile /tmp/${n}_mix.kiln --iterations 10 --json > $R/c60_profile_${n}_mix.json 2>/dev/null
  build/kiln profile /tmp/${n}_mix.kiln --iterations 10 --top 40 > $R/c60_profile_${n}_mix.txt 2>&1; grep -A12 "^by op" $R/c60_profile_${n}_mix.txt; grep MixFFN $R/c60_profile_${n}_mix.txt | head -8
done
(cd /tmp && tar -cf $OUT/results.tar res)
