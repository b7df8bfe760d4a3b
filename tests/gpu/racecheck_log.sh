# Sourced by run_on_device.sh and sanitize_models.sh. racecheck reports hazards inside NVIDIA's
# own kernels too (cuBLASLt's Hopper GEMMs, nvjet_sm90_*), which kiln can neither read nor
# change, and its --kernel-name filter did not keep them out (H200, compute-sanitizer 2025.3.1,
# 2026-11-21). So every report is split by the kernel it names: every kiln kernel lives in
# namespace kiln, so its name contains "kiln"; any other kernel is a library's.
#
# race_split LOG: prints "KILN LIBRARY KERNELS": hazard reports in kiln kernels, in other kernels,
# and the distinct library kernel names (comma-separated, "-" when none).
race_split() {
  awk '
    /Race reported between/ {
      line = $0
      sub(/.* access at /, "", line)
      sub(/\+0x[0-9a-f]+.*/, "", line)
      if (line ~ /kiln/) kiln++
      else { lib++; names[line] = 1 }
    }
    END {
      list = ""
      for (n in names) list = list (list == "" ? "" : ",") n
      printf "%d %d %s\n", kiln + 0, lib + 0, (list == "" ? "-" : list)
    }' "$1"
}
