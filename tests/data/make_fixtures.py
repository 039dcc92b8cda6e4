#!/usr/bin/env python3
"""Writes the small reader fixtures of tests/test_data*.cpp (standard library only, so the
fixtures are produced independently of ccl's own writers). Run from anywhere:

    python3 tests/data/make_fixtures.py

Values follow closed formulas that the tests recompute:
  IDX images  u8 [3, 2, 4]: value = (7 * i + 3) % 256 for flat index i
  IDX labels  u8 [3]:       2, 0, 1
  .npy        float: value(r, c) = ((r * 512 + c) % 17) * 0.25 - 1
The gzip files are written with mtime 0 so that they are reproducible byte for byte.
"""
import gzip
import io
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, data):
    path = os.path.join(HERE, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def gz(data):
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="") as f:
        f.write(data)
    return out.getvalue()


def idx(type_byte, dims, payload):
    return bytes([0, 0, type_byte, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


def npy_header(descr, fortran, shape, version=(1, 0)):
    shape_text = "(" + "".join(f"{d}," if len(shape) == 1 else f"{d}, " for d in shape).rstrip(", ")
    shape_text += ",)" if len(shape) == 1 else ")"
    if len(shape) == 1:
        shape_text = f"({shape[0]},)"
    text = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape_text)
    length_bytes = 2 if version[0] == 1 else 4
    total = 6 + 2 + length_bytes + len(text) + 1
    text += " " * ((64 - total % 64) % 64) + "\n"
    length = struct.pack("<H", len(text)) if length_bytes == 2 else struct.pack("<I", len(text))
    return b"\x93NUMPY" + bytes(version) + length + text.encode("latin1")


def values(rows, cols=512):
    return [((r * cols + c) % 17) * 0.25 - 1 for r in range(rows) for c in range(cols)]


def npy(shape, descr="<f4", fortran="False", version=(1, 0), vals=None):
    count = 1
    for d in shape:
        count *= d
    if vals is None:
        vals = values(count // 512 if count % 512 == 0 else 1, 512 if count % 512 == 0 else count)
    fmt = {"<f4": "<%df", "<f8": "<%dd", ">f4": ">%df", "<i4": "<%di"}[descr] % count
    if descr == "<i4":
        vals = [int(v * 4) for v in vals]
    return npy_header(descr, fortran, shape, version) + struct.pack(fmt, *vals)


def main():
    # --- IDX ---
    images = bytes((7 * i + 3) % 256 for i in range(3 * 2 * 4))
    good_images = idx(0x08, [3, 2, 4], images)
    good_labels = idx(0x08, [3], bytes([2, 0, 1]))
    write("idx/images.idx", good_images)
    write("idx/labels.idx", good_labels)
    write("idx/images.idx.gz", gz(good_images))
    write("idx/labels.idx.gz", gz(good_labels))
    write("idx/bad-magic.idx", b"\x01\x00" + good_images[2:])
    write("idx/bad-type.idx", good_images[:2] + b"\x07" + good_images[3:])
    write("idx/truncated.idx", good_images[:-5])
    write("idx/trailing.idx", good_images + b"\x00\x01\x02")
    write("idx/wrong-dims.idx", idx(0x08, [3, 2, 5], images))  # header claims 30 bytes, 24 follow
    write("idx/zero-dim.idx", idx(0x08, [3, 0, 4], b""))
    write("idx/labels-too-many.idx", idx(0x08, [4], bytes([2, 0, 1, 3])))
    write("idx/labels-out-of-range.idx", idx(0x08, [3], bytes([2, 0, 10])))
    compressed = bytearray(gz(good_images))
    compressed[len(compressed) // 2] ^= 0xFF  # flip bits inside the deflate data
    write("idx/corrupt.idx.gz", bytes(compressed))
    write("idx/truncated.idx.gz", gz(good_images)[:-12])
    write("idx/trailing.idx.gz", gz(good_images) + b"garbage")
    write("idx/not-gzip.idx.gz", good_images)

    # --- .npy ---
    write("npy/vector-f4-v1.npy", npy([512]))
    write("npy/matrix-f4-v2.npy", npy([3, 512], version=(2, 0)))
    write("npy/vector-f8.npy", npy([512], descr="<f8"))
    write("npy/wrong-dtype.npy", npy([512], descr="<i4"))
    write("npy/big-endian.npy", npy([512], descr=">f4"))
    write("npy/fortran.npy", npy([3, 512], fortran="True"))
    write("npy/wrong-shape.npy", npy([256]))
    write("npy/bad-version.npy", npy([512], version=(4, 0)))
    good = npy([512])
    write("npy/bad-magic.npy", b"\x93NUMPX" + good[6:])
    write("npy/truncated.npy", good[:-100])
    write("npy/trailing.npy", good + b"\x00" * 4)
    header = npy_header("<f4", "False", [512])
    bad = header.replace(b"'fortran_order'", b"'fortran_ordr' ")
    write("npy/bad-header-key.npy", bad + good[len(header):])
    bad = header.replace(b"(512,)", b"(5x2,)")
    write("npy/bad-header-shape.npy", bad + good[len(header):])
    write("npy/truncated-header.npy", good[:40])

    # --- the official CCL teacher-feature layout (three classes, UCF101 names) ---
    layout = "ccl_layout"
    write(f"{layout}/Archery/v_Archery_g01_c01.npy", npy([512]))
    write(f"{layout}/Archery/v_Archery_g08_c02.npy", npy([2, 512]))
    write(f"{layout}/ApplyEyeMakeup/v_ApplyEyeMakeup_g07_c03.npy", npy([512]))
    write(f"{layout}/ApplyEyeMakeup/v_ApplyEyeMakeup_g25_c01.npy", npy([512], vals=[0.0] * 512))
    # UCF101 spells this class "HandStandPushups" in its video names.
    write(f"{layout}/HandstandPushups/v_HandStandPushups_g10_c04.npy", npy([512]))


if __name__ == "__main__":
    main()
