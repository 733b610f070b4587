"""Fixtures of the Snakemake tests: recorded ``.snakemake/`` vectors as working directories."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from import_vectors import Workdir, load


@pytest.fixture
def vector(tmp_path: Path) -> Iterator[Callable[[str], Workdir]]:
    """``vector("plain")``: a copy of ``tests/vectors/snakemake-plain`` in ``tmp_path``.

    Snakemake names run logs by local time and the fixtures were recorded under ``TZ=UTC``, so
    the test runs under UTC too (restored afterwards).
    """
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    try:
        yield lambda case: load(case, tmp_path)
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()
