# Session 25 call 14 (kiln binary of the working tree, as c222): the B2 b8 and b1 fp16 engines built, benched and profiled (segbench.sh).
source .devcarry/unpack.sh
R=$OUT/c223; mkdir -p $R; export R
source .devcarry/segbench.sh c223 "b2 8" "b2 1"
cd $OUT && tar czf c223.tgz c223 && rm -rf c223
