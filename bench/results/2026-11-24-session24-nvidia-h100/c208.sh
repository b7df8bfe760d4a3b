# Session 24 call 15 (kiln binary of main at c04f920): SegFormer-B0 512² b1 and the B2 b8 fp16 engine built, benched and profiled (segbench.sh).
source .devcarry/unpack.sh
R=$OUT/c208; mkdir -p $R; export R
source .devcarry/segbench.sh c208 "b0 1" "b2 8"
cd $OUT && tar czf c208.tgz c208 && rm -rf c208
