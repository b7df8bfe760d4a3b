# Session 24 call 7 (kiln binary of a3a423b: ResizeSumConv on wgmma): B2 b8 and b1, B0 b1 fp16 engines built, benched and profiled (segbench.sh), the head's layer.
source .devcarry/unpack.sh
R=$OUT/c200; mkdir -p $R; export R
source .devcarry/segbench.sh a3a423b "b2 8" "b2 1" "b0 1"
grep -h "classifier" $R/a3a423b_profile_seg_*_fp16.txt | head -4
cd $OUT && tar czf c200.tgz c200 && rm -rf c200
