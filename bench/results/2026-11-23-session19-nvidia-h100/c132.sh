# Session 19 call 4: ncu of DwConvMatMul (B2 b8 stage 2) for what bounds it.
source .devcarry/unpack.sh
R=$OUT/c132; mkdir -p $R
ls -la /tmp/seg_b2_b8.kiln || { timeout 200 python3 tools/export/export_segformer.py --variant b2 --batch 8 --out /tmp/seg_b2_b8 > /dev/null 2>&1; build/kiln build /tmp/seg_b2_b8/model.onnx -o /tmp/seg_b2_b8.kiln --device cuda --fp16 > /dev/null 2>&1; }
timeout 150 /usr/local/cuda/bin/ncu --set full --import-source no -k regex:dwconv_matmul -c 1 -o /tmp/dm build/kiln bench /tmp/seg_b2_b8.kiln --iterations 1 --warmup 0 > /dev/null 2>&1; echo "ncu exit $?"
/usr/local/cuda/bin/ncu -i /tmp/dm.ncu-rep --page details > $R/details.txt 2>&1
/usr/local/cuda/bin/ncu -i /tmp/dm.ncu-rep --page source --csv --print-source sass 2>/dev/null | gzip > $R/sass.csv.gz
grep -E "Duration|Issue Slots Busy|Executed Ipc A|Registers Per|L2 Cache Throughput|DRAM Throughput|Eligible Warps|Executed Instructions  " $R/details.txt | head -12
