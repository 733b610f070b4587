"""Helpers of the RO-Crate tests (imported by the tests and their conftest).

The validator must load the remote JSON-LD ``@context``s to parse a crate. CI reaches only
package registries, so its HTTP cache (requests-cache, SQLite) is seeded from the pinned context
files in ``tests/data/jsonld/`` (notes/rocrate.md §7). Where the network is reachable the seed
is harmless: the validator runs ``--offline`` either way and finds every context in the cache.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

JSONLD = Path(__file__).resolve().parent.parent / "data" / "jsonld"
CONTEXTS = {
    "https://w3id.org/ro/crate/1.1/context": JSONLD / "ro-crate-1.1-context.jsonld",
    "https://w3id.org/ro/crate/1.3/context": JSONLD / "ro-crate-1.3-context.jsonld",
    "https://w3id.org/ro/terms/workflow-run/context": JSONLD / "workflow-run-context.jsonld",
    "https://w3id.org/ro/terms/workflow-run": JSONLD / "workflow-run-context.jsonld",
}
CACHE_MISS = "is not available in the HTTP cache"
BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "workflows" / "bioimage-demo"
ISCC_IRI = "http://purl.org/iscc/terms/#iscc"

#: The ``validate`` fixture: (crate, level="REQUIRED", profile=...) -> {"passed", "issues"}
Validate = Callable[..., dict[str, Any]]


def seed_validator_cache(cache_path: str, contexts: dict[str, Path]) -> None:
    """Save a synthetic 200 response per context URL into the validator's HTTP cache."""
    import requests
    import urllib3
    from requests_cache import CachedSession

    session = CachedSession(
        cache_name=cache_path,
        backend="sqlite",
        expire_after=-1,
        allowable_methods=("GET",),
        allowable_codes=(200, 302, 404),
    )
    for url, path in contexts.items():
        body = path.read_bytes()
        resp = requests.Response()
        resp.status_code, resp._content, resp.url, resp.encoding = 200, body, url, "utf-8"
        resp.headers["Content-Type"] = "application/ld+json"
        resp.request = requests.Request("GET", url).prepare()
        resp.raw = urllib3.HTTPResponse(
            body=io.BytesIO(body),
            headers={"Content-Type": "application/ld+json"},
            status=200,
            preload_content=False,
            request_url=url,
        )
        session.cache.save_response(resp)
    session.close()


def failures(report: dict[str, Any]) -> list[str]:
    """One line per failed check of a validator report (see the ``validate`` fixture)."""
    return [
        f"{i['check']} [{i['severity']}]: {i['message']} @ {i['entity']}" for i in report["issues"]
    ]


def has_tool(name: str) -> bool:
    """A console script in this virtualenv or on PATH."""
    return (BIN / name).exists() or shutil.which(name) is not None


def invoke(*args: str) -> str:
    """Run an ``iscc-lineage`` command in-process (CliRunner); it must succeed."""
    from click.testing import CliRunner

    from iscc_lineage.cli import cli

    res = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


@dataclass(frozen=True)
class Project:
    """A recorded project: its folder (the run's working directory) and store."""

    root: Path
    store: Path
    outside: Path  #: a folder outside the project holding an input


@dataclass(frozen=True)
class Demo:
    """The bioimage demo pipeline run once under live capture (``--logger iscc``)."""

    workdir: Path
    store: Path


def graph(crate: Path) -> dict[str, dict[str, Any]]:
    """The crate's entities by ``@id``."""
    doc = json.loads((crate / "ro-crate-metadata.json").read_text())
    return {e["@id"]: e for e in doc["@graph"]}


def ids(value: Any) -> list[str]:
    """The ``@id``s of a reference or a list of references."""
    return [v["@id"] for v in (value if isinstance(value, list) else [value])]


def types(ent: dict[str, Any]) -> set[str]:
    t = ent["@type"]
    return set(t if isinstance(t, list) else [t])


def data_entities(g: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Files and folders (``#``-local and web ones included), without the root."""
    return {k: e for k, e in g.items() if types(e) & {"File", "Dataset"} and k != "./"}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fingerprint_cli(paths: list[Path]) -> dict[str, str]:
    """ISCC per path from a separate ``iscc-lineage fingerprint`` process (no stat cache)."""
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "iscc_lineage",
            "fingerprint",
            "--no-cache",
            "--json",
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return {d["path"]: d["iscc"] for d in json.loads(res.stdout)}


def flip(path: Path, at: int = 5) -> None:
    """Change one byte of a file."""
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def record_failed_run(project: Project) -> None:
    """Run ``r2``: reuses raw/img.tif, then a command that writes half a file and fails."""
    from click.testing import CliRunner

    from iscc_lineage.cli import cli

    res = CliRunner().invoke(
        cli,
        [
            "record",
            "--run",
            "r2",
            "-n",
            "crash",
            "-i",
            "raw/img.tif",
            "-o",
            "results/half.csv",
            "--",
            sys.executable,
            "-c",
            "open('results/half.csv', 'w').write('x'); raise SystemExit(1)",
        ],
    )
    assert res.exit_code == 1, res.output
