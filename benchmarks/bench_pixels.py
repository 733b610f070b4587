"""Benchmark 7: the pixel code of a large OME-TIFF vs a plain read of the same pixels.

One OME-TIFF (uint16, 2048 x 2048 planes, C=2, Z as needed: 2 GiB in ``full``), page-cached.
Contenders, alternated per round so drift of a shared machine hits all alike:

- ``pixels``: :func:`iscc_lineage.codes.pixel.pixel_codes` (canonical plane order, big-endian,
  Data-Code + BLAKE3), in a fresh interpreter;
- ``read``: tifffile reading the same planes in the same order into numpy, nothing else: the
  floor any pixel code has to pay;
- ``sum``: the byte-level ISCC-SUM of the same file (``fingerprint_file``), what capture pays
  anyway;
- ``datacode``: the ISCC Data-Code alone over the same canonical (big-endian) pixel bytes,
  timing only its updates on bytes already in memory: the bound of any conformant pixel code
  (a pixel code is a Data-Code + an Instance-Code of the stream);
- once, on at most 256 MiB of the stack: iscc-bio's own path (bioio readers), for reference.

Peak RSS is per child process (GNU time): bounded means far below the file size.
Children: ``python -m benchmarks.bench_pixels TASK JSON``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.measure import Sample, paired_ratio, run
from benchmarks.presets import Preset
from benchmarks.report import Row, fmt_bytes, na_row

__all__ = ["bench_pixels", "pixels_size", "write_stack"]

MiB = 1 << 20
PLANE = (2048, 2048)  #: uint16: 8 MiB per plane
RSS_BOUND = 256 * MiB  #: bounded memory: interpreter, readers, one plane and its copies
ORACLE_MAX = 256 * MiB  #: iscc-bio decodes a whole Z-stack per plane: keep its input small


def pixels_size(p: Preset) -> int:
    """2 GiB for ``full`` (big = 1 GiB), else 4 x the preset's big file (64 MiB -> 256 MiB)."""
    return 2048 * MiB if p.big >= 1024 * MiB else max(16 * MiB, 4 * p.big)


def write_stack(path: Path, nbytes: int) -> Path:
    """An OME-TIFF of ``nbytes`` pixels (C=2), written plane by plane (bounded memory)."""
    import numpy as np
    import tifffile

    plane_bytes = PLANE[0] * PLANE[1] * 2
    z = max(1, nbytes // plane_bytes // 2)
    done = path.with_suffix(path.suffix + ".done")
    if path.exists() and done.exists() and done.read_text() == str(z):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(13)
    base = rng.integers(0, 4096, size=PLANE, dtype=np.uint16)

    def planes() -> Any:
        for c in range(2):
            for k in range(z):
                yield np.roll(base, 7 * k + 1000 * c, axis=1)

    tifffile.imwrite(
        path,
        planes(),
        shape=(2, z, *PLANE),
        dtype=np.uint16,
        ome=True,
        photometric="minisblack",
        metadata={"axes": "CZYX"},
    )
    done.write_text(str(z))
    return path


def _child(task: str, **args: Any) -> list[str]:
    return [sys.executable, "-m", "benchmarks.bench_pixels", task, json.dumps(args)]


def bench_pixels(p: Preset, data: Path) -> list[Row]:
    size = pixels_size(p)
    path = write_stack(data / f"pixels-{size // MiB}MiB.ome.tif", size)
    _warm(path)
    text = f"OME-TIFF {fmt_bytes(path.stat().st_size)}, uint16 2048², C=2, page-cached"
    got: dict[str, list[Sample]] = {"pixels": [], "read": [], "sum": [], "datacode": []}
    for _ in range(p.repeats):
        for key in got:
            got[key].append(run(_child(key, path=str(path)), parse_json=True))
    g = "pixels"
    row = Row(
        g,
        "pixel code, whole file (pixel_codes)",
        text,
        [s.seconds for s in got["pixels"]],
        [s.rss_kib for s in got["pixels"]],
        "tifffile read of the same planes",
        [s.seconds for s in got["read"]],
    )
    row.ratio = paired_ratio(row.samples, row.ref_samples)
    row.ratio_label = "time"
    nbytes = int(got["pixels"][0].answer["bytes"])
    row.extra = {"bytes": nbytes, "answers": [s.answer for s in got["pixels"]]}
    mbps = nbytes / sorted(row.samples)[len(row.samples) // 2] / 1e6
    peak = max(row.rss_kib) * 1024
    row.goal = f"peak RSS ≤ {fmt_bytes(RSS_BOUND)}, any file size"
    row.met = peak <= RSS_BOUND
    row.note = (
        f"{mbps:,.0f} MB/s of pixels; peak RSS {fmt_bytes(peak)} for a "
        f"{fmt_bytes(path.stat().st_size)} file. The Data-Code (~1.1 GB/s on one core) "
        "bounds it: a plain page-cached read is a memory copy"
    )
    rows = [row]
    plain = Row(
        g,
        "plain read of the same pixels (tifffile)",
        text,
        [s.seconds for s in got["read"]],
        [s.rss_kib for s in got["read"]],
    )
    sums = Row(
        g,
        "byte-level ISCC-SUM of the same file (fingerprint_file)",
        text,
        [s.seconds for s in got["sum"]],
        [s.rss_kib for s in got["sum"]],
        "pixel code",
        row.samples,
    )
    sums.ratio = paired_ratio(row.samples, sums.samples)
    sums.ratio_label = "pixel/byte time"
    dc = [float(s.answer["seconds"]) for s in got["datacode"]]
    bound = Row(
        g,
        "Data-Code alone, same pixel bytes in memory (iscc-lib)",
        text,
        dc,
        [s.rss_kib for s in got["datacode"]],
        "pixel code",
        row.samples,
    )
    bound.ratio = paired_ratio(row.samples, dc)
    bound.ratio_label = "pixel/Data-Code time"
    same = {s.answer["data_code"] for s in got["datacode"]} == {
        got["pixels"][0].answer["data_code"]
    }
    bound.goal, bound.met = "same Data-Code as the pixel code's", same
    cpu = {k: _median([float(s.answer["cpu"]) for s in v]) for k, v in got.items()}
    bound.note = (
        f"{nbytes / _median(dc) / 1e6:,.0f} MB/s; the plain read is "
        f"{paired_ratio(dc, row.ref_samples):.1f}x faster than the Data-Code alone. CPU "
        f"seconds (medians; a loaded machine stretches wall time, not these): pixel code "
        f"{cpu['pixels']:.2f}, plain read {cpu['read']:.2f}, byte ISCC-SUM {cpu['sum']:.2f}, "
        f"Data-Code alone {cpu['datacode']:.2f}"
    )
    bound.extra = {"cpu_seconds": cpu}
    rows += [plain, sums, bound]
    rows.append(_oracle_row(p, data, g))
    rows.append(_czi_row(p, data, g))
    return rows


def _median(xs: list[float]) -> float:
    return sorted(xs)[len(xs) // 2]


def write_czi(path: Path, nbytes: int) -> Path:
    """A CZI of ``nbytes`` pixels (C=2, 1024², uint16) written through libCZI."""
    import numpy as np
    from pylibCZIrw import czi as pyczi

    z = max(1, nbytes // (1024 * 1024 * 2) // 2)
    done = path.with_suffix(path.suffix + ".done")
    if path.exists() and done.exists() and done.read_text() == str(z):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    base = np.random.default_rng(17).integers(0, 4096, size=(1024, 1024), dtype=np.uint16)
    with pyczi.create_czi(str(path), exist_ok=True) as doc:
        for c in range(2):
            for k in range(z):
                doc.write(
                    data=np.roll(base, 5 * k + 100 * c, axis=1), plane={"C": c, "Z": k, "T": 0}
                )
        doc.write_metadata(channel_names={0: "a", 1: "b"})
    done.write_text(str(z))
    return path


def _czi_row(p: Preset, data: Path, g: str) -> Row:
    """CZI: our libCZI path against iscc-bio's bioio-czi path, same file, same code."""
    name = "pixel code of a CZI (libCZI), against iscc-bio (bioio-czi)"
    if (
        importlib.util.find_spec("pylibCZIrw") is None
        or importlib.util.find_spec("iscc_bio") is None
    ):
        return na_row(g, name, "-", "pylibCZIrw or iscc-bio not installed (test dependencies)")
    size = min(ORACLE_MAX // 4, pixels_size(p))
    path = write_czi(data / f"pixels-{size // MiB}MiB.czi", size)
    _warm(path)
    text = f"CZI {fmt_bytes(path.stat().st_size)}, uint16 1024², C=2, page-cached"
    ours = [
        run(_child("pixels", path=str(path)), parse_json=True) for _ in range(min(p.repeats, 3))
    ]
    theirs = run(_child("iscc-bio", path=str(path)), parse_json=True, timeout=1800)
    row = Row(
        g,
        name,
        text,
        [s.seconds for s in ours],
        [s.rss_kib for s in ours],
        "iscc-bio generate_biocode",
        [theirs.seconds],
    )
    row.ratio = paired_ratio(row.ref_samples, [sorted(row.samples)[len(row.samples) // 2]])
    row.ratio_label = "speed"
    same = theirs.answer["wide"] == ours[0].answer["wide"]
    row.goal = "same code"
    row.met = same
    row.note = f"iscc-bio peak RSS {fmt_bytes(theirs.rss_kib * 1024)}; " + (
        "same code"
        if same
        else f"DIFFERENT code: {theirs.answer['wide']} vs {ours[0].answer['wide']}"
    )
    return row


def _oracle_row(p: Preset, data: Path, g: str) -> Row:
    name = "iscc-bio generate_biocode (bioio readers)"
    if importlib.util.find_spec("iscc_bio") is None:
        return na_row(g, name, "-", "iscc-bio not installed (test dependency)")
    size = min(ORACLE_MAX, pixels_size(p))
    path = write_stack(data / f"pixels-{size // MiB}MiB.ome.tif", size)
    _warm(path)
    text = f"OME-TIFF {fmt_bytes(path.stat().st_size)}, page-cached"
    theirs = run(_child("iscc-bio", path=str(path)), parse_json=True, timeout=1800)
    ours = run(_child("pixels", path=str(path)), parse_json=True)
    row = Row(
        g, name, text, [theirs.seconds], [theirs.rss_kib], "pixel_codes, same file", [ours.seconds]
    )
    row.ratio = paired_ratio(row.samples, row.ref_samples)
    row.ratio_label = "time"
    same = theirs.answer["wide"] == ours.answer["wide"]
    row.note = (
        "same code as ours"
        if same
        else f"DIFFERENT code: {theirs.answer['wide']} vs {ours.answer['wide']}"
    )
    row.met = same
    row.goal = "same code"
    return row


def _warm(path: Path) -> None:
    with open(path, "rb") as f:
        while f.read(16 * MiB):
            pass


# -- children ---------------------------------------------------------------------------------


def task_pixels(path: str) -> dict[str, Any]:
    from iscc_lineage.codes.pixel import pixel_codes

    seen = [0]

    def count(n: int) -> None:
        seen[0] += n

    t0, c0 = time.perf_counter(), time.process_time()
    res = pixel_codes(Path(path), on_bytes=count)
    seconds = time.perf_counter() - t0
    if res.note:
        raise SystemExit(f"no pixel code: {res.note}")
    first = res.images[0]
    return {
        "seconds": seconds,
        "cpu": time.process_time() - c0,
        "wide": first.wide,
        "data_code": first.data_code,
        "bytes": seen[0],
    }


def task_read(path: str) -> dict[str, Any]:
    import tifffile

    t0, c0 = time.perf_counter(), time.process_time()
    n = 0
    with tifffile.TiffFile(path) as tf:
        series = tf.series[0]
        dims = dict(zip(series.axes, series.shape, strict=True))  # a Z of 1 is squeezed
        c, z = dims.get("C", 1), dims.get("Z", 1)
        for k in range(z):  # Z outermost, then C: the same order pixel_codes reads in
            for ch in range(c):
                n += series.pages[ch * z + k].asarray().nbytes
    return {"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0, "bytes": n}


def task_datacode(path: str) -> dict[str, Any]:
    """The Data-Code alone over the canonical stream: planes read and swapped as
    ``task_read`` reads them, only the Data-Code's updates timed (1 MiB pieces, as
    ``pixel_codes`` feeds it)."""
    import iscc_lib as il
    import numpy as np
    import tifffile

    from iscc_lineage.codes.pixel.stream import PIECE

    hasher = il.DataHasher()
    spent = cpu = 0.0
    buf: Any = None
    with tifffile.TiffFile(path) as tf:
        series = tf.series[0]
        dims = dict(zip(series.axes, series.shape, strict=True))
        c, z = dims.get("C", 1), dims.get("Z", 1)
        for k in range(z):
            for ch in range(c):
                plane = series.pages[ch * z + k].asarray()
                if buf is None:
                    buf = np.empty(plane.shape, plane.dtype.newbyteorder(">"))
                np.copyto(buf, plane)
                raw = memoryview(buf.reshape(-1).view(np.uint8))
                pieces = [bytes(raw[i : i + PIECE]) for i in range(0, raw.nbytes, PIECE)]
                t0, c0 = time.perf_counter(), time.thread_time()
                for piece in pieces:
                    hasher.update(piece)
                spent += time.perf_counter() - t0
                cpu += time.thread_time() - c0
    return {"seconds": spent, "cpu": cpu, "data_code": hasher.finalize(256)["iscc"]}


def task_sum(path: str) -> dict[str, Any]:
    from iscc_lineage.codes import fingerprint_file

    t0, c0 = time.perf_counter(), time.process_time()
    fp = fingerprint_file(Path(path))
    return {"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0, "iscc": fp.iscc}


def task_iscc_bio(path: str) -> dict[str, Any]:
    from iscc_bio.biocode import generate_biocode
    from iscc_bio.imagewalk import iter_planes_bioio
    from loguru import logger

    logger.remove()
    t0 = time.perf_counter()
    parts = generate_biocode(iter_planes_bioio(path))
    return {"seconds": time.perf_counter() - t0, "wide": parts[0]["iscc_code"]}


TASKS = {
    "pixels": task_pixels,
    "read": task_read,
    "sum": task_sum,
    "datacode": task_datacode,
    "iscc-bio": task_iscc_bio,
}

if __name__ == "__main__":
    task, args = sys.argv[1], json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    sys.stdout.write(json.dumps(TASKS[task](**args)) + "\n")
