# Session 31 call 1 (build/kiln: 40016a7 + the CUDA Graph's side branches, uncommitted): GpuGraphBranches* and GpuRuntime* tests; B2 b8/b1 and B0 b1 fp16 engines benched with the branches on and off (KILN_SERIAL_GRAPH=1) in turn.
source .devcarry/unpack.sh
R=$OUT/c295; mkdir -p $R
build/tests/kiln_gpu_tests --gtest_filter='GpuGraphBranches*:GpuRuntime*' > $R/gpu_tests.txt 2>&1; echo "gpu tests rc $?"
grep -E "graph nodes|PASSED|FAILED|OK \]" $R/gpu_tests.txt | head -40
for cfg in "b2 8" "b2 1" "b0 1"; do set -- $cfg; v=$1; b=$2; n=seg_${v}_b$b
  [ -f /tmp/$n/model.onnx ] || timeout 200 python3 tools/export/export_segformer.py --variant $v --batch $b --out /tmp/$n > $R/${n}_export.log 2>&1 || tail -3 $R/${n}_export.log
  build/kiln build /tmp/$n/model.onnx -o /tmp/$n.kiln --device cuda --fp16 > $R/${n}_build.log 2>&1 || tail -3 $R/${n}_build.log
  build/kiln bench /tmp/$n.kiln --iterations 50 --warmup 10 | tail -2
  it=100; [ $b = 1 ] && it=300
  for i in 1 2 3; do for mode in branched serial; do
    if [ $mode = serial ]; then export KILN_SERIAL_GRAPH=1; else unset KILN_SERIAL_GRAPH; fi
    build/kiln bench /tmp/$n.kiln --iterations $it --warmup 20 --json > $R/${n}_${mode}_$i.json 2>/dev/null
    python3 -c "import json;r=json.load(open('$R/${n}_${mode}_$i.json'))['rows'][0];g=r['gpu_ms'];print('$n $mode $i median',round(g['median'],4),'p90',round(g['p90'],4),r.get('cuda_graph'))"
  done; done
  unset KILN_SERIAL_GRAPH
done
