# Session 19 call 10: DwConvMatMul v4 (the conv on the CUDA cores): B2 b8 with and without fuse_dwconv_matmul (the engines rebuilt by this kiln), profile, ncu of the kernel.
source .devcarry/unpack.sh
R=$OUT/c138; mkdir -p $R
[ -d /tmp/seg_b2_b8 ] || timeout 200 python3 tools/export/export_segformer.py --variant b2 --batch 8 --out /tmp/seg_b2_b8 > /dev/null 2>&1
n=seg_b2_b8
build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > $R/build.log 2>&1 || tail -3 $R/build.log
build/kiln build /tmp/$n/model.onnx -o /tmp/${n}_off.kiln --device cuda --fp16 --disable-pass fuse_dwconv_matmul > /tmp/b.log 2>&1 || tail -3 /tmp/b.log
for r in 1 2; do for e in $n ${n}_off; do build/kiln bench /tmp/$e.kiln --iterations 100 --warmup 20 --json > /tmp/j.json 2>/dev/null; python3 -c "import json;r=json.load(open('/tmp/j.json'))['rows'][0]['gpu_ms'];print('$e r$r median',r['median'],'p90',r['p90'])" | tee -a $R/bench.txt; done; done
build/kiln profile /tmp/$n.kiln --iterations 10 --top 60 > $R/profile_b8.txt 2>&1; build/kiln profile /tmp/$n.kiln --iterations 10 --json > $R/profile_b8.json 2>&1; head -1 $R/profile_b8.txt; grep -E "DwConvMatMul" $R/profile_b8.txt | head -2; grep -A14 "^by op" $R/profile_b8.txt
timeout 150 /usr/local/cuda/bin/ncu --set full --import-source no -k regex:dwconv_matmul -c 1 -o /tmp/dm build/kiln bench /tmp/$n.kiln --iterations 1 --warmup 0 > /dev/null 2>&1; echo "ncu exit $?"
/usr/local/cuda/bin/ncu -i /tmp/dm.ncu-rep --page details > $R/details.txt 2>&1
/usr/local/cuda/bin/ncu -i /tmp/dm.ncu-rep --page source --csv --print-source sass 2>/dev/null | gzip > $R/sass.csv.gz
grep -E "Duration|Issue Slots Busy|L2 Cache Throughput|DRAM Throughput|Executed Instructions  " $R/details.txt | head -8
