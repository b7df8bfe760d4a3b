# Session 15 call 11 (binaries of the review mend: resize_sum_conv_inputs shared by the op, its CUDA host side and layer_cost): ResizeSum and ResizeSumConv GPU tests, memcheck of the projected case, B2 b1 time and profile.
set -o pipefail
source .devcarry/unpack.sh
R=/tmp/res; rm -rf $R; mkdir -p $R; export R
timeout 150 build/tests/kiln_gpu_tests --gtest_filter='GpuResizeSum*' > $R/c90_gpu_tests.txt 2>&1; echo "tests exit $?"; grep -E "^\[  (PASSED|FAILED)|FAILED" $R/c90_gpu_tests.txt | head -5
timeout 90 /usr/local/cuda/bin/compute-sanitizer --tool memcheck build/tests/kiln_gpu_tests --gtest_filter='GpuResizeSumConv.ProjectedIdentity' > $R/c90_memcheck.txt 2>&1; echo "memcheck exit $?"; grep -E "PASSED|ERROR SUMMARY" $R/c90_memcheck.txt | tail -2
n=seg_b2_b1; timeout 200 python3 tools/export/export_segformer.py --variant b2 --batch 1 --out /tmp/$n > /dev/null 2>&1
build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > $R/c90_${n}_build.log 2>&1 || tail -3 $R/c90_${n}_build.log
build/kiln bench /tmp/$n.kiln --iterations 100 --warmup 20 --json > $R/c90_${n}.bench.json 2>/dev/null; python3 -c "import json;r=json.load(open('$R/c90_${n}.bench.json'))['rows'][0]['gpu_ms'];print('$n median',round(r['median'],4),'p90',round(r['p90'],4))"
build/kiln profile /tmp/$n.kiln --iterations 10 --top 5 > $R/c90_profile_$n.txt 2>&1; head -4 $R/c90_profile_$n.txt
(cd /tmp && tar -cf $OUT/results.tar res)
