# Session 25 call 20 (kiln binary of 1da9358 with a temporary switch: KILN_NO_PREFETCH set turns both L2 prefetches off): the B2 b8 and b1 fp16 engines benched with the prefetches on and off alternately, three rounds (kiln bench, 100 iterations).
source .devcarry/unpack.sh
R=$OUT/c229; mkdir -p $R
for b in 8 1; do n=seg_b2_b$b
  [ -f /tmp/$n/model.onnx ] || timeout 200 python3 tools/export/export_segformer.py --variant b2 --batch $b --out /tmp/$n > $R/${n}_export.log 2>&1 || tail -3 $R/${n}_export.log
  build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > $R/${n}_build.log 2>&1 || tail -3 $R/${n}_build.log
  for round in 1 2 3; do for mode in on off; do
    if [ $mode = off ]; then export KILN_NO_PREFETCH=1; else unset KILN_NO_PREFETCH; fi
    build/kiln bench /tmp/$n.kiln --iterations 100 --warmup 20 --json > $R/${n}_${mode}_$round.json 2>/dev/null
    python3 -c "import json;r=json.load(open('$R/${n}_${mode}_$round.json'))['rows'][0]['gpu_ms'];print('$n prefetch $mode round $round median',round(r['median'],4),'p90',round(r['p90'],4))"
  done; done; unset KILN_NO_PREFETCH
done | tee $R/ab.txt
