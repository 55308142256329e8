"""Draw the app icons (PNG) without any imaging library: a white ring on the brand green.

Usage: python scripts/make_icons.py   (writes static/icons/; the PNGs are committed)
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

GREEN = (15, 92, 77)
WHITE = (255, 255, 255)
OUT = Path(__file__).resolve().parent.parent / "static" / "icons"


def _png(size: int, pixel) -> bytes:
    """An indexed-colour PNG whose palette is a ramp from green to white (small files)."""
    levels = 16
    palette = b"".join(
        bytes(round(g + (w - g) * i / (levels - 1)) for g, w in zip(GREEN, WHITE, strict=True))
        for i in range(levels)
    )
    rows = bytearray()
    for y in range(size):
        rows.append(0)
        rows.extend(round(pixel(x, y) * (levels - 1)) for x in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 3, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"PLTE", palette)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + chunk(b"IEND", b"")
    )


def ring(size: int, outer: float, inner: float, rounded: bool):
    """Whiteness (0 to 1) at (x, y): a ring, on a rounded square or a full-bleed square."""
    centre = size / 2
    corner = size * 0.18

    def inside_square(x: float, y: float) -> bool:
        if not rounded:
            return True
        dx = max(corner - x, 0, x - (size - corner))
        dy = max(corner - y, 0, y - (size - corner))
        return dx * dx + dy * dy <= corner * corner

    def pixel(x: int, y: int) -> float:
        # 2x2 supersampling softens the edges.
        total = 0.0
        for sx in (0.25, 0.75):
            for sy in (0.25, 0.75):
                px, py = x + sx, y + sy
                if not inside_square(px, py):
                    total += 1.0  # transparent corners are drawn as the page white
                    continue
                r = math.hypot(px - centre, py - centre)
                total += 1.0 if inner * size <= r <= outer * size else 0.0
        return total / 4

    return pixel


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    icons = {
        "icon-192.png": (192, ring(192, 0.32, 0.2, True)),
        "icon-512.png": (512, ring(512, 0.32, 0.2, True)),
        # Maskable: full bleed, the ring inside the 80 % safe zone.
        "icon-maskable-512.png": (512, ring(512, 0.26, 0.16, False)),
        "apple-touch-icon.png": (180, ring(180, 0.3, 0.19, False)),
    }
    for name, (size, pixel) in icons.items():
        (OUT / name).write_bytes(_png(size, pixel))
        print(name, (OUT / name).stat().st_size, "bytes")


if __name__ == "__main__":
    main()
