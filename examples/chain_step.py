"""Tiny stand-in processing steps for examples/chain.sh (standard library only).

acquire OUT | correct IN OUT | measure IN OUT | plot IN OUT | thumbnail IN OUT
"""

import random
import struct
import sys

W = H = 64


def acquire(out: str) -> None:
    rng = random.Random(42)
    pixels = [min(65535, 800 + int(rng.gauss(0, 40)) + (3000 if (x // 16 + y // 16) % 3 == 0
              else 0)) for y in range(H) for x in range(W)]
    with open(out, "wb") as f:
        f.write(struct.pack(f"<II{W * H}H", W, H, *pixels))


def _read(path: str) -> list[int]:
    with open(path, "rb") as f:
        w, h = struct.unpack("<II", f.read(8))
        return list(struct.unpack(f"<{w * h}H", f.read()))


def correct(src: str, out: str) -> None:
    px = _read(src)
    floor = sorted(px)[len(px) // 10]
    with open(out, "wb") as f:
        f.write(struct.pack(f"<II{W * H}H", W, H, *(max(0, p - floor) for p in px)))


def measure(src: str, out: str) -> None:
    px = _read(src)
    with open(out, "w") as f:
        f.write("row,mean_intensity\n")
        for y in range(H):
            f.write(f"{y},{sum(px[y * W:(y + 1) * W]) / W:.2f}\n")


def plot(src: str, out: str) -> None:
    with open(src) as f:
        rows = [line.split(",") for line in f.read().splitlines()[1:]]
    values = [float(v) for _, v in rows]
    top = max(values) or 1.0
    bars = "".join(f'<rect x="{4 * i}" y="{100 - 100 * v / top:.1f}" width="3" '
                   f'height="{100 * v / top:.1f}"/>' for i, v in enumerate(values))
    with open(out, "w") as f:
        f.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="{4 * len(values)}" '
                f'height="100">{bars}</svg>\n')


def thumbnail(src: str, out: str) -> None:
    px = _read(src)
    small = [px[y * W + x] >> 8 for y in range(0, H, 4) for x in range(0, W, 4)]
    with open(out, "wb") as f:
        f.write(b"P5 16 16 255\n" + bytes(small))


if __name__ == "__main__":
    {"acquire": acquire, "correct": correct, "measure": measure, "plot": plot,
     "thumbnail": thumbnail}[sys.argv[1]](*sys.argv[2:])
