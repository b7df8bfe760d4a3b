# Session 29 call 4 (build/kiln: 590b306 + cuBLASLt tuning over the heuristic's first 32 candidates instead of 8): the B2 b8 fp16 engine's build time, kiln bench and profile; c270 does the same with 590b306's 8 on this machine.
source .devcarry/unpack.sh
TAG=${TAG:-c269}; R=$OUT/$TAG; mkdir -p $R
n=seg_b2_b8
[ -f /tmp/$n/model.onnx ] || timeout 150 python3 tools/export/export_segformer.py --variant b2 --batch 8 --out /tmp/$n > /tmp/${n}_export.log 2>&1 || tail -3 /tmp/${n}_export.log
s=$(date +%s.%N); build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > $R/build.log 2>&1 || tail -3 $R/build.log; e=$(date +%s.%N); python3 -c "print('build', round($e - $s, 1), 's')"
for i in 1 2; do build/kiln bench /tmp/$n.kiln --iterations 100 --warmup 20 --json > $R/bench_${n}_$i.json 2>/dev/null; python3 -c "import json;r=json.load(open('$R/bench_${n}_$i.json'))['rows'][0]['gpu_ms'];print('$n fp16 median',round(r['median'],4),'p90',round(r['p90'],4))"; done
build/kiln profile /tmp/$n.kiln --iterations 10 --top 200 > $R/profile_$n.txt 2>&1; head -1 $R/profile_$n.txt; grep -A14 "^by op" $R/profile_$n.txt
