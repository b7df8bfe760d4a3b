# Session 32 call 1: the flash loop's exponentials as ex2.approx.f16x2 (two a MUFU op). kiln_new/tests = 0016b65 + that change; kiln_old = 807ed9b (same code as 0016b65).
R=$OUT/c300; mkdir -p $R build/tests
xz -dc .devcarry/kiln_new.xz > build/kiln_new; xz -dc .devcarry/kiln_old.xz > build/kiln_old; xz -dc .devcarry/kiln_gpu_tests.xz > build/tests/kiln_gpu_tests; chmod +x build/kiln_* build/tests/kiln_gpu_tests
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader
xz -dc .devcarry/ex2_rate.xz > /tmp/ex2_rate; chmod +x /tmp/ex2_rate; /tmp/ex2_rate | tee $R/ex2_rate.txt
export KILN_TEST_DIR=$PWD/tests
timeout 300 build/tests/kiln_gpu_tests --gtest_filter='*GpuAttention*:*GpuFp16ModelGolden*' > $R/tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED) |FAILED |Failure|max abs|error" $R/tests.txt | head -20
timeout 120 build/tests/kiln_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*AttentionBlockPrefetchBench*:*AttentionWgmmaBench*' > $R/opbench.txt 2>&1; grep -vE "^\[|^$|^Note" $R/opbench.txt | head -30
mkdir -p /tmp/io
for b in 8 1; do n=segformer_b2_${b}x3x1024x1024
  timeout 200 python3 tools/export/export_segformer.py --variant b2 --batch $b --hw 1024x1024 --out /tmp/onnx_$b > $R/export_b$b.log 2>&1 || tail -3 $R/export_b$b.log
  timeout 200 python3 bench/torch_segformer.py --variant b2 --batch $b --hw 1024x1024 --iterations 10 --warmup 3 --no-compile --out-dir /tmp/io --json-out $R/torch_b$b.json > $R/torch_b$b.log 2>&1 || tail -3 $R/torch_b$b.log
  for v in old new; do build/kiln_$v build /tmp/onnx_$b/model.onnx -o /tmp/${v}_$b.kiln --device cuda --fp16 > $R/build_${v}_b$b.log 2>&1 || tail -3 $R/build_${v}_b$b.log; done
  for i in 1 2 3; do for v in old new; do
    build/kiln_$v bench /tmp/${v}_$b.kiln --input pixel_values=/tmp/io/$n.input.npy --ref /tmp/io/$n.ref.npz --iterations 100 --warmup 20 --json > $R/bench_${v}_b${b}_$i.json 2>$R/bench_${v}_b${b}_$i.err
    python3 -c "import json;d=json.load(open('$R/bench_${v}_b${b}_$i.json'));r=d['rows'][0];print('b$b $v $i median',r['gpu_ms']['median'],'p90',r['gpu_ms']['p90'], {k:v for k,v in r.items() if k not in ('gpu_ms',)})" 2>&1 | cut -c1-400
  done; done
done
build/kiln_new profile /tmp/new_8.kiln --iterations 10 --top 40 > $R/profile_new_b8.txt 2>&1; build/kiln_old profile /tmp/old_8.kiln --iterations 10 --top 40 > $R/profile_old_b8.txt 2>&1; for v in old new; do head -1 $R/profile_${v}_b8.txt; grep -A10 "^by op" $R/profile_${v}_b8.txt; done
