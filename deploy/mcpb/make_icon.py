"""Draws deploy/mcpb/icon.png, the bundle icon `cargo xtask mcpb` packs (512x512, the size
Claude Desktop recommends): three flow nodes joined in a loop on a rounded square.
Standard library only; the output is byte-identical run after run.

usage: python3 deploy/mcpb/make_icon.py [OUT]   (default: icon.png beside this script)
"""

import math
import os
import struct
import sys
import zlib

SIZE = 512
SS = 3  # samples per axis per pixel (anti-aliasing)
TOP, BOTTOM = (0x2B, 0x3A, 0x8C), (0x12, 0x9C, 0x8F)  # indigo to teal
WHITE = (0xFF, 0xFF, 0xFF)
RADIUS = 112  # corner radius of the background square
RING_R, RING_W = 150, 26  # the loop joining the nodes
NODE_R = 44
NODES = [(256 + RING_R * math.cos(a), 256 + RING_R * math.sin(a)) for a in (math.radians(d) for d in (-90, 30, 150))]


def inside_rounded_square(x, y):
    cx = min(max(x, RADIUS), SIZE - RADIUS)
    cy = min(max(y, RADIUS), SIZE - RADIUS)
    return (x - cx) ** 2 + (y - cy) ** 2 <= RADIUS**2


def on_mark(x, y):
    d = math.hypot(x - 256, y - 256)
    if abs(d - RING_R) <= RING_W / 2:
        return True
    return any((x - nx) ** 2 + (y - ny) ** 2 <= NODE_R**2 for nx, ny in NODES)


def pixel(px, py):
    bg = mark = 0
    for i in range(SS):
        for j in range(SS):
            x, y = px + (i + 0.5) / SS, py + (j + 0.5) / SS
            if inside_rounded_square(x, y):
                bg += 1
                mark += on_mark(x, y)
    n = SS * SS
    t = py / (SIZE - 1)
    base = [round(a + (b - a) * t) for a, b in zip(TOP, BOTTOM)]
    if bg == 0:
        return (0, 0, 0, 0)
    # Mix the mark over the gradient by coverage; alpha is the square's coverage.
    f = mark / bg
    rgb = [round(c * (1 - f) + w * f) for c, w in zip(base, WHITE)]
    return (*rgb, round(255 * bg / n))


def png(rows):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes(c for p in row for c in p) for row in rows)
    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "icon.png")
    rows = [[pixel(x, y) for x in range(SIZE)] for y in range(SIZE)]
    with open(out, "wb") as f:
        f.write(png(rows))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
