#!/usr/bin/env bash
# Seed corpora for the libFuzzer targets (tests/fuzz), built from the repository's tests rather
# than committed as binaries: make_corpus.sh [OUT_DIR] [KILN_BINARY]
#   OUT_DIR      default build-fuzz/seeds; one folder per target (onnx_import, engine_file, npy,
#                npz, image), rebuilt from scratch
#   KILN_BINARY  default build/kiln (the normal build); it writes CPU engines for engine_file.
#                Without it, engine_file gets no engine seeds (a warning, not a failure).
# No network, no numpy, no ImageMagick: small .npy/.npz/PNG/JPEG/BMP files are written by
# python3's standard library.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/build-fuzz/seeds}
kiln=${2:-$root/build/kiln}
rm -rf "$out"
mkdir -p "$out"/{onnx_import,engine_file,npy,npz,image}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ONNX: the tiny test models, and the single-op models of the ONNX node conformance suite
# (tests/CMakeLists.txt runs it) that are under 2 KiB.
for m in segformer_tiny detr_tiny mask2former_tiny anchor_detr_tiny; do
  cp "$root/tests/models/$m/model.onnx" "$out/onnx_import/$m.onnx"
done
node_dir=/usr/share/libonnx-testdata/data/node
if [[ -d $node_dir ]]; then
  find "$node_dir" -name model.onnx -size -2k | LC_ALL=C sort | while read -r f; do
    cp "$f" "$out/onnx_import/$(basename "$(dirname "$f")").onnx"
  done
fi

# Engines: kiln-built CPU engines of a few small conformance models and of segformer_tiny.
if [[ -x $kiln ]]; then
  for t in test_relu test_add_bcast test_gather_0 test_softmax_axis_1 \
           test_resize_upsample_scales_linear test_layer_normalization_2d_axis0 test_matmul_2d; do
    [[ -f $node_dir/$t/model.onnx ]] || continue
    "$kiln" build "$node_dir/$t/model.onnx" --device cpu -o "$out/engine_file/$t.kiln" >/dev/null ||
      echo "make_corpus: kiln build failed for $t (skipped)" >&2
  done
  "$kiln" build "$root/tests/models/segformer_tiny/model.onnx" --device cpu \
    -o "$out/engine_file/segformer_tiny.kiln" >/dev/null
else
  echo "make_corpus: $kiln not found; engine_file gets no engine seeds (build the kiln target)" >&2
fi

# .npy: the test models' inputs, and small arrays of other dtypes and header versions.
for f in "$root"/tests/models/{segformer_tiny,detr_tiny,mask2former_tiny,anchor_detr_tiny}/inputs/*.npy; do
  cp "$f" "$out/npy/$(basename "$(dirname "$(dirname "$f")")")_$(basename "$f")"
done
python3 - "$out" <<'PY'
import struct, sys, zipfile, zlib
out = sys.argv[1]

def npy(descr, shape, payload, version=1, fortran=False):
    hdr = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, tuple(shape))
    lenfmt = "<H" if version == 1 else "<I"
    pre = 10 if version == 1 else 12
    pad = (64 - (pre + len(hdr) + 1) % 64) % 64
    hdr = (hdr + " " * pad + "\n").encode("latin1")
    return b"\x93NUMPY" + bytes([version, 0]) + struct.pack(lenfmt, len(hdr)) + hdr + payload

arrays = {
    "f32_2x3": npy("<f4", [2, 3], struct.pack("<6f", 0, 1, -2, 3.5, float("inf"), float("nan"))),
    "f16_4": npy("<f2", [4], struct.pack("<4e", 1, -1, 0.5, 65504)),
    "i64_3": npy("<i8", [3], struct.pack("<3q", -1, 0, 2**40)),
    "i32_2x2": npy("<i4", [2, 2], struct.pack("<4i", 1, 2, 3, 4)),
    "u8_5": npy("|u1", [5], bytes(range(5))),
    "bool_3": npy("|b1", [3], b"\x00\x01\x01"),
    "f64_2": npy("<f8", [2], struct.pack("<2d", 1e300, -1e-300)),
    "scalar": npy("<f4", [], struct.pack("<f", 7)),
    "empty": npy("<f4", [0, 3], b""),
    "v2_i8": npy("|i1", [2, 1], b"\x80\x7f", version=2),
    "v3_f4": npy("<f4", [1], struct.pack("<f", 1), version=3),
    "fortran": npy("<f4", [2, 2], struct.pack("<4f", 1, 2, 3, 4), fortran=True),
}
for name, data in arrays.items():
    open(f"{out}/npy/{name}.npy", "wb").write(data)

# .npz: stored and deflated members, zip64 extras (as numpy writes), one and several members.
def npz(path, members, method, zip64=False):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members:
            info = zipfile.ZipInfo(name + ".npy")
            info.compress_type = method
            with z.open(info, "w", force_zip64=zip64) as f:
                f.write(data)
small = [(k, arrays[k]) for k in ("f32_2x3", "i64_3", "bool_3")]
npz(f"{out}/npz/stored.npz", small, zipfile.ZIP_STORED)
npz(f"{out}/npz/stored_zip64.npz", small, zipfile.ZIP_STORED, zip64=True)
npz(f"{out}/npz/deflated.npz", small, zipfile.ZIP_DEFLATED)
npz(f"{out}/npz/one.npz", [("x", arrays["f16_4"])], zipfile.ZIP_STORED)
npz(f"{out}/npz/empty.npz", [], zipfile.ZIP_STORED)

# PNG: 8-bit gray, RGB, RGBA, palette, 16-bit, and an Adam7-interlaced RGB picture.
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
def png(path, w, h, depth, color, rows, interlace=0, extra=b""):
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, interlace)
    raw = b"".join(b"\x00" + r for r in rows)
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    open(path, "wb").write(data)
W, H = 4, 3
png(f"{out}/image/gray.png", W, H, 8, 0, [bytes((x * 60 + y) % 256 for x in range(W)) for y in range(H)])
png(f"{out}/image/rgb.png", W, H, 8, 2, [bytes((x * 40 + y * 7 + c) % 256 for x in range(W) for c in range(3)) for y in range(H)])
png(f"{out}/image/rgba.png", W, H, 8, 6, [bytes((x * 30 + c * 50) % 256 for x in range(W) for c in range(4)) for y in range(H)])
png(f"{out}/image/palette.png", W, H, 8, 3, [bytes(x % 2 for x in range(W)) for y in range(H)],
    extra=chunk(b"PLTE", b"\xff\x00\x00\x00\xff\x00") + chunk(b"tRNS", b"\x80"))
png(f"{out}/image/rgb16.png", W, H, 16, 2, [bytes((x * 13 + i) % 256 for x in range(W) for i in range(6)) for y in range(H)])
png(f"{out}/image/gray1.png", 8, 2, 1, 0, [b"\xa5", b"\x5a"])
PY
# JPEG (baseline, DC-only blocks: the smallest files that exercise the Huffman and IDCT paths),
# and BMP written by hand, since ImageMagick may be missing.
python3 - "$out/image" <<'PY'
import struct, sys
out = sys.argv[1]

def segment(marker, body):
    return b"\xff" + bytes([marker]) + struct.pack(">H", len(body) + 2) + body

def jpeg(path, w, h, comps, dc_of):
    # Canonical codes of the standard DC luminance table (ITU T.81 Annex K.3).
    dc_bits = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    codes, code, k = {}, 0, 0
    for length, n in enumerate(dc_bits, 1):
        for _ in range(n):
            codes[k] = (code, length); code += 1; k += 1
        code <<= 1
    bits = []
    def put(value, n):
        bits.extend((value >> (n - 1 - i)) & 1 for i in range(n))
    pred = [0] * comps
    for by in range((h + 7) // 8):
        for bx in range((w + 7) // 8):
            for c in range(comps):
                diff = dc_of(bx, by, c) - pred[c]; pred[c] += diff
                size = abs(diff).bit_length()
                put(*codes[size])
                if size: put(diff if diff > 0 else diff + (1 << size) - 1, size)
                put(0, 1)  # EOB: the AC table's only code
    bits.extend([1] * (-len(bits) % 8))
    data = bytes(int("".join(map(str, bits[i:i + 8])), 2) for i in range(0, len(bits), 8))
    data = data.replace(b"\xff", b"\xff\x00")
    sof = struct.pack(">BHHB", 8, h, w, comps) + b"".join(bytes([c + 1, 0x11, 0]) for c in range(comps))
    sos = bytes([comps]) + b"".join(bytes([c + 1, 0x00]) for c in range(comps)) + b"\x00\x3f\x00"
    open(path, "wb").write(b"\xff\xd8" + segment(0xDB, b"\x00" + b"\x01" * 64) + segment(0xC0, sof) +
                          segment(0xC4, b"\x00" + bytes(dc_bits) + bytes(range(12))) +
                          segment(0xC4, b"\x10" + bytes([1] + [0] * 15) + b"\x00") +
                          segment(0xDA, sos) + data + b"\xff\xd9")

jpeg(f"{out}/gray.jpg", 16, 8, 1, lambda x, y, c: 40 * x - 20)
jpeg(f"{out}/ycc.jpg", 8, 16, 3, lambda x, y, c: (y * 30 - 10) * (c + 1) % 200 - 100)
jpeg(f"{out}/odd.jpg", 9, 3, 3, lambda x, y, c: 5 * c - x)

W, H = 3, 2
rows = [bytes((x * 80 + y * 40 + c) % 256 for x in range(W) for c in range(3)) for y in range(H)]
stride = (W * 3 + 3) // 4 * 4
pix = b"".join(r + b"\x00" * (stride - len(r)) for r in reversed(rows))
open(f"{out}/rgb.bmp", "wb").write(b"BM" + struct.pack("<IHHI", 54 + len(pix), 0, 0, 54) +
    struct.pack("<IiiHHIIiiII", 40, W, H, 1, 24, 0, len(pix), 2835, 2835, 0, 0) + pix)
PY

for t in onnx_import engine_file npy npz image; do
  printf '%-12s %5d seeds  %8d bytes\n' "$t" "$(ls "$out/$t" | wc -l)" "$(cat "$out/$t"/* 2>/dev/null | wc -c)"
done
