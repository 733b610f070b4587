"""The software that actually ran: interpreters, installed distributions, conda prefixes,
executables, containers - as records identified by content, cached per run.

A *software record* is a plain JSON object (``kind``: ``python`` | ``conda`` | ``executable`` |
``container``); its identity is the datahash of its canonical JSON (:func:`record_id`), so
steps share one record per distinct environment. What a workflow *declared* (an env YAML, a
container URL that was not used) is kept apart by callers; everything here was observed.

Cheap by design: one record per interpreter / prefix / executable per process (cached by
path, size and mtime), ``--version`` run once per executable outside the workflow with a
short time-out, and the running interpreter's distributions read without a subprocess.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from iscc_lineage.codes import fingerprint_bytes

__all__ = ["SoftwareCache", "conda_packages", "python_distributions", "record_id"]

VERSION_TIMEOUT = 3.0  #: seconds one ``--version`` may take
_PY_PROBE = (
    "import json,sys,platform\n"
    "from importlib import metadata as m\n"
    "d=sorted({(x.metadata['Name'] or '').lower():x.version for x in m.distributions()"
    " if x.metadata['Name']}.items())\n"
    "print(json.dumps({'version':platform.python_version(),"
    "'implementation':platform.python_implementation(),'prefix':sys.prefix,"
    "'distributions':[{'name':n,'version':v} for n,v in d]}))\n"
)


def record_id(record: dict[str, Any]) -> str:
    """The identity of a software record: the datahash of its canonical JSON."""
    data = json.dumps(record, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return fingerprint_bytes(data).datahash


def python_distributions() -> list[dict[str, str]]:
    """Installed distributions of the running interpreter (name lower-cased, sorted)."""
    seen: dict[str, str] = {}
    for d in metadata.distributions():
        name = d.metadata["Name"]
        if name:
            seen.setdefault(name.lower(), d.version)
    return [{"name": n, "version": v} for n, v in sorted(seen.items())]


def conda_packages(prefix: Path) -> list[dict[str, str]]:
    """Packages of a conda prefix from its ``conda-meta/*.json`` (name, version, build)."""
    out = []
    meta = prefix / "conda-meta"
    try:
        names = sorted(p for p in os.listdir(meta) if p.endswith(".json"))
    except OSError:
        return []
    for name in names:
        try:
            d = json.loads((meta / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        pkg = {"name": str(d.get("name", "")), "version": str(d.get("version", ""))}
        if d.get("build"):
            pkg["build"] = str(d["build"])
        if d.get("channel"):
            pkg["channel"] = str(d["channel"])
        out.append(pkg)
    return out


def _version_line(exe: str) -> str | None:
    """The first non-empty line ``EXE --version`` prints (stdout or stderr), or None."""
    try:
        res = subprocess.run(
            [exe, "--version"],
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT,
            stdin=subprocess.DEVNULL,
            errors="replace",
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if res.returncode != 0:
        return None
    for line in (res.stdout + "\n" + res.stderr).splitlines():
        if line.strip():
            return line.strip()[:200]
    return None


class SoftwareCache:
    """Software records of one capture, each computed once (thread-safe).

    :param fingerprint: path -> datahash (the capture's cached fingerprinting); None skips it.
    :param own: folders whose files are workflow code, never run with ``--version``.
    """

    def __init__(
        self, fingerprint: Callable[[Path], str | None] | None = None, own: tuple[Path, ...] = ()
    ) -> None:
        self.fingerprint = fingerprint
        self.own = own
        self.records: dict[str, dict[str, Any]] = {}  #: record id -> record
        self._lock = threading.Lock()
        self._cache: dict[tuple[Any, ...], str | None] = {}

    def _remember(
        self, key: tuple[Any, ...], make: Callable[[], dict[str, Any] | None]
    ) -> str | None:
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        record = make()
        rid = record_id(record) if record is not None else None
        with self._lock:
            self._cache[key] = rid
            if record is not None and rid is not None:
                self.records.setdefault(rid, record)
        return rid

    @staticmethod
    def _stat_key(path: str) -> tuple[Any, ...] | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return (path, st.st_size, st.st_mtime_ns)

    def this_python(self) -> str | None:
        """The interpreter running this process, with its distributions (no subprocess)."""

        def make() -> dict[str, Any]:
            return {
                "kind": "python",
                "executable": sys.executable,
                "version": platform.python_version(),
                "implementation": platform.python_implementation(),
                "prefix": sys.prefix,
                "distributions": python_distributions(),
                **self._exe_fp(sys.executable),
            }

        return self._remember(("python", sys.executable, "self"), make)

    def python(self, exe: str) -> str | None:
        """Another interpreter (a conda env's, a shell-called ``python``): probed once."""
        real = os.path.realpath(exe)
        if os.path.realpath(sys.executable) == real and os.path.dirname(exe) == os.path.dirname(
            sys.executable
        ):
            return self.this_python()
        key = self._stat_key(exe)
        if key is None:
            return None

        def make() -> dict[str, Any] | None:
            try:
                res = subprocess.run(
                    [exe, "-I", "-c", _PY_PROBE],
                    capture_output=True,
                    text=True,
                    timeout=30,
                    stdin=subprocess.DEVNULL,
                    check=False,
                )
                info = json.loads(res.stdout) if res.returncode == 0 else None
            except (OSError, subprocess.SubprocessError, ValueError):
                info = None
            if not isinstance(info, dict):
                return {"kind": "executable", "path": exe, **self._exe_fp(exe)}
            return {"kind": "python", "executable": exe, **info, **self._exe_fp(exe)}

        return self._remember(("python", *key), make)

    def conda(self, prefix: str) -> str | None:
        """The packages of a conda prefix actually used (``--sdm conda``)."""
        meta = os.path.join(prefix, "conda-meta")
        key = self._stat_key(meta)
        if key is None:
            return None
        return self._remember(
            ("conda", *key),
            lambda: {"kind": "conda", "prefix": prefix, "packages": conda_packages(Path(prefix))},
        )

    def container(self, url: str, image: str | None = None) -> str | None:
        """A container image that ran: its URL and, for a local image file, its content."""

        def make() -> dict[str, Any]:
            rec: dict[str, Any] = {"kind": "container", "url": url}
            if image and self.fingerprint is not None and os.path.isfile(image):
                rec["image"] = image
                rec["datahash"] = self.fingerprint(Path(image))
            return rec

        return self._remember(("container", url, image), make)

    def executable(self, word: str, path_env: str | None = None) -> str | None:
        """A program a shell command starts, resolved on PATH, by content and ``--version``."""
        exe = shutil.which(word, path=path_env) if os.sep not in word else word
        if exe is None or not os.path.isfile(exe):
            return None
        exe = os.path.abspath(exe)
        if Path(exe).name.startswith("python") and not self._is_own(exe):
            return self.python(exe)
        key = self._stat_key(exe)
        if key is None:
            return None

        def make() -> dict[str, Any]:
            rec: dict[str, Any] = {
                "kind": "executable",
                "name": Path(word).name,
                "path": exe,
                **self._exe_fp(exe),
            }
            if not self._is_own(exe):
                version = _version_line(exe)
                if version:
                    rec["version"] = version
            return rec

        return self._remember(("exe", *key), make)

    def _is_own(self, path: str) -> bool:
        p = Path(path)
        return any(p.is_relative_to(r) for r in self.own)

    def _exe_fp(self, path: str) -> dict[str, Any]:
        if self.fingerprint is None:
            return {}
        real = os.path.realpath(path)
        try:
            h = self.fingerprint(Path(real))
        except Exception:
            h = None
        out: dict[str, Any] = {"binary_datahash": h} if h else {}
        if real != path:
            out["binary"] = real
        return out


def summary(record: dict[str, Any]) -> str:
    """One line naming a software record: ``python 3.11.9 (142 distributions)``, ..."""
    kind = record.get("kind")
    if kind == "python":
        n = len(record.get("distributions") or ())
        return f"python {record.get('version', '?')} ({n} distributions)"
    if kind == "conda":
        return f"conda env {record.get('prefix')} ({len(record.get('packages') or ())} packages)"
    if kind == "container":
        return f"container {record.get('url')}"
    name = record.get("name") or Path(str(record.get("path", "?"))).name
    return f"{name} {record.get('version') or ''}".strip()


__all__ += ["summary"]


def host_platform() -> str:
    """``Linux-6.1-x86_64`` style platform of this machine (recorded once per run)."""
    return platform.platform(terse=True)
