# Session 14 call 8: MixFFN at C 128 on 8x8 tiles, two blocks an SM (binaries in .devcarry/commit) against 52a7814 (one block of 16 warps) and against no fusion: GpuMixFfn tests, memcheck, B2 b8 and b1 in alternation (two rounds), profiles.
set -o pipefail
source .devcarry/unpack.sh
xz -dc .devcarry/kiln_52a7814.xz > build/kiln_prev && chmod +x build/kiln_prev
R=/tmp/res; rm -rf $R; mkdir -p $R; export R
timeout 150 build/tests/kiln_gpu_tests --gtest_filter='GpuMixFfn*' > $R/c67_gpu_tests.txt 2>&1; echo "mixffn tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED|fp16:|Failure" $R/c67_gpu_tests.txt | head -30
timeout 120 /usr/local/cuda/bin/compute-sanitizer --tool memcheck build/tests/kiln_gpu_tests --gtest_filter='GpuMixFfn.Widths:GpuMixFfn.RaggedImages:GpuMixFfn.StreamTypesAndActivations' > $R/c67_memcheck.txt 2>&1; echo "memcheck exit $?"; tail -1 $R/c67_memcheck.txt
for cfg in "b2 8" "b2 1"; do set -- $cfg; n=seg_$1_b$2
  timeout 200 python3 tools/export/export_segformer.py --variant $1 --batch $2 --out /tmp/$n > $R/${n}_export.log 2>&1 || tail -3 $R/${n}_export.log
  build/kiln build /tmp/$n/model.onnx -o /tmp/${n}_new.kiln --device cuda --fp16 > $R/c67_${n}_new_build.log 2>&1 || tail -3 $R/c67_${n}_new_build.log
  build/kiln_prev build /tmp/$n/model.onnx -o /tmp/${n}_prev.kiln --device cuda --fp16 > $R/c67_${n}_prev_build.log 2>&1 || tail -3 $R/c67_${n}_prev_build.log
  build/kiln build /tmp/$n/model.onnx -o /tmp/${n}_nomix.kiln --device cuda --fp16 --disable-pass fuse_mix_ffn > $R/c67_${n}_nomix_build.log 2>&1 || tail -3 $R/c67_${n}_nomix_build.log
  for round in 1 2; do for v in new prev nomix; do
    K=build/kiln; [ $v = prev ] && K=build/kiln_prev
    $K bench /tmp/${n}_$v.kiln --iterations 100 --warmup 20 --json > $R/c67_${n}_${v}_r$round.bench.json 2>/dev/null
    python3 -c "import json;r=json.load(open('$R/c67_${n}_${v}_r$round.bench.json'))['rows'][0]['gpu_ms'];print('$n $v round $round median',round(r['median'],4),'p90',round(r['p90'],4))"
  done; done
  build/kiln profile /tmp/${n}_new.kiln --iterations 10 --top 40 > $R/c67_profile_${n}_new.txt 2>&1; grep MixFFN $R/c67_profile_${n}_new.txt | head -8
done
(cd /tmp && tar -cf $OUT/results.tar res)
