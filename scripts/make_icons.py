"""Draw the app icons (a warm sun rising over a calm horizon) as PNGs with zlib and struct only.

Run once after changing the drawing: `python scripts/make_icons.py`; the PNGs are committed.
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

ICONS = Path(__file__).resolve().parent.parent / "static" / "icons"
NIGHT = (31, 41, 64)  # the app's dark blue
HORIZON = (23, 31, 50)
SUN_CORE = (255, 196, 112)
SUN_EDGE = (238, 122, 88)


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    t = min(1.0, max(0.0, t))
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def draw(size: int, *, maskable: bool) -> bytes:
    """RGBA rows. Maskable icons fill the square and keep the sun inside the 80 % safe zone."""
    rows = []
    centre = size / 2
    corner = 0 if maskable else size * 0.22
    scale = 0.62 if maskable else 0.78
    sun_r = size * 0.30 * scale
    sun_cy = size * (0.55 if maskable else 0.56)
    horizon = sun_cy + sun_r * 0.15
    for y in range(size):
        row = bytearray([0])  # filter type 0
        for x in range(size):
            px, py = x + 0.5, y + 0.5
            # rounded-square mask for the plain icon
            dx = max(abs(px - centre) - (centre - corner), 0)
            dy = max(abs(py - centre) - (centre - corner), 0)
            alpha = 255
            if corner and math.hypot(dx, dy) > corner:
                row += bytes((0, 0, 0, 0))
                continue
            colour = HORIZON if py > horizon else NIGHT
            d = math.hypot(px - centre, py - sun_cy)
            if py <= horizon:
                if d <= sun_r:
                    colour = _mix(SUN_CORE, SUN_EDGE, d / sun_r)
                elif d <= sun_r * 1.6:  # the glow
                    colour = _mix(SUN_EDGE, NIGHT, (d - sun_r) / (sun_r * 0.6) * 0.6 + 0.4)
            elif abs(py - horizon) < size * 0.012:
                colour = SUN_EDGE
            row += bytes((*colour, alpha))
        rows.append(bytes(row))
    return b"".join(rows)


def png(size: int, pixels: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels, 9))
        + chunk(b"IEND", b"")
    )


def main() -> None:
    ICONS.mkdir(parents=True, exist_ok=True)
    for name, size, maskable in (
        ("icon-192.png", 192, False),
        ("icon-512.png", 512, False),
        ("maskable-192.png", 192, True),
        ("maskable-512.png", 512, True),
        ("apple-touch-icon.png", 180, True),
    ):
        (ICONS / name).write_bytes(png(size, draw(size, maskable=maskable)))
        print(name, (ICONS / name).stat().st_size, "bytes")


if __name__ == "__main__":
    main()
