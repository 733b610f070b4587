"""Input sizes of each mode: ``full`` (``make bench``), ``quick`` (CI smoke, < 1 min), ``tiny``.

``tiny`` exists for the test that checks the command runs; its numbers mean nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PRESETS", "Preset"]

MiB = 1 << 20
KiB = 1 << 10


@dataclass(frozen=True, slots=True)
class Preset:
    """Sizes for one mode. ``store`` is (files, steps, runs) of the synthetic lineage store."""

    big: int
    many_large: tuple[int, int]  #: (files, bytes each); their total is cut from one stream
    many_small: tuple[int, int]
    repeats: int
    plugin_jobs: int
    plugin_pairs: int
    store: tuple[int, int, int]
    queries: int
    crate_files: int
    container: tuple[int, int] = (100_000, 4 * KiB)  #: chunk files, bytes each
    pg_store: tuple[int, int, int] = (200_000, 40_000, 200)  #: files, steps, runs
    write_steps: int = 500  #: steps per writer, 4 writers at once
    figures: int = 100_000  #: recorded pictures a figure search runs among


PRESETS = {
    "full": Preset(
        big=1024 * MiB,
        many_large=(64, 16 * MiB),
        many_small=(10_000, 4 * KiB),
        repeats=5,
        plugin_jobs=200,
        plugin_pairs=3,
        store=(1_000_000, 200_000, 1_000),
        queries=50,
        crate_files=100_000,
    ),
    "quick": Preset(
        big=64 * MiB,
        many_large=(16, 4 * MiB),
        many_small=(2_000, 4 * KiB),
        repeats=3,
        plugin_jobs=40,
        plugin_pairs=1,
        store=(10_000, 2_000, 10),
        queries=50,
        crate_files=1_000,
        container=(10_000, 4 * KiB),
        pg_store=(10_000, 2_000, 10),
        write_steps=100,
        figures=10_000,
    ),
    "tiny": Preset(
        big=4 * MiB,
        many_large=(4, 1 * MiB),
        many_small=(100, 4 * KiB),
        repeats=1,
        plugin_jobs=4,
        plugin_pairs=1,
        store=(1_000, 200, 2),
        queries=5,
        crate_files=20,
        container=(200, 4 * KiB),
        pg_store=(1_000, 200, 2),
        write_steps=10,
        figures=1_000,
    ),
}
