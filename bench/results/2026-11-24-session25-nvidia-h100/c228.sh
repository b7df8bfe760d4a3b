# Session 25 call 19 (kiln binary of main at 1da9358): SegFormer-B0 512² b1 and the B2 b8 fp16 engine built, benched and profiled (segbench.sh).
source .devcarry/unpack.sh
R=$OUT/c228; mkdir -p $R; export R
source .devcarry/segbench.sh c228 "b0 1" "b2 8"
cd $OUT && tar czf c228.tgz c228 && rm -rf c228
