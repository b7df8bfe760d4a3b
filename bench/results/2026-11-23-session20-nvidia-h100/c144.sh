# Session 20 call 3 (kiln binary, main + ResizeSumConv's register conv, uncommitted on 8e1b8dc): B2 b8 and b1 fp16 engines: bench, profile (RSC layer), a second bench round.
source .devcarry/unpack.sh
R=$OUT/c144; mkdir -p $R; export R
bash .devcarry/segbench.sh c144 "b2 8" "b2 1" 2>&1 | grep -E "fp16 median|layers|ResizeSumConv|MixFFN"
for n in seg_b2_b8 seg_b2_b1; do build/kiln bench /tmp/$n.kiln --iterations 100 --warmup 20 --json > $R/round2_$n.json 2>/dev/null; python3 -c "import json;r=json.load(open('$R/round2_$n.json'))['rows'][0]['gpu_ms'];print('round 2 $n median',r['median'])"; done
(cd $R && tar -czf ../c144.tgz . ) && rm -rf $R && mkdir -p $R && mv $OUT/c144.tgz $R/
