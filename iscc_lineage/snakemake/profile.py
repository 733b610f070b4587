"""Read, merge and write a Snakemake workflow profile (``profiles/default/config.yaml``).

Snakemake 9 applies ``profiles/default/`` automatically, so ``logger: [iscc]`` there makes a
plain ``snakemake`` record lineage. Profile values replace whole keys, so we merge: other keys
and other loggers stay. The only module that imports yaml. Comments are kept by editing only
the lines of the keys we set; when that edit would not give exactly the merged content (an
unusual layout), the file is rewritten from its parsed content and comments are lost (said so).
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iscc_lineage.errors import ProfileError

__all__ = ["LOGGER", "ProfileChange", "ProfileError", "enable_logger", "profile_file"]

LOGGER = "iscc"
STORE_KEY = "logger-iscc-store"
PROFILE_DIR = Path("profiles") / "default"
MAX_PROFILE = 1 << 20  #: a profile is a few lines; larger files are not read
MAX_NODES = 100_000  #: values after alias expansion (Snakemake would expand them all)
SNAKEMAKE_MAJOR = 9  #: profile files named ``config.v<N>+.yaml`` apply from Snakemake N on
_CONFIG_NAME = re.compile(r"(?:profile|config)(?:\.v(?P<major>\d+)\+)?\.yaml")


@dataclass(frozen=True, slots=True)
class ProfileChange:
    """What :func:`enable_logger` did to the profile file."""

    path: Path
    created: bool
    changed: bool
    loggers_before: tuple[str, ...]
    loggers: tuple[str, ...]
    store: str | None
    comments_kept: bool


def profile_file(workflow_dir: Path) -> Path:
    """The file Snakemake reads in ``profiles/default/``: the newest ``config.v<N>+.yaml``
    that applies to Snakemake 9, else ``config.yaml`` / ``profile.yaml``, else a new one."""
    folder = Path(workflow_dir) / PROFILE_DIR
    best: tuple[int, Path] | None = None
    if folder.is_dir():
        for p in sorted(folder.iterdir()):
            m = _CONFIG_NAME.fullmatch(p.name)
            major = int(m["major"] or 0) if m else None
            if major is not None and major <= SNAKEMAKE_MAJOR and (best is None or major > best[0]):
                best = (major, p)
    return best[1] if best else folder / "config.yaml"


def enable_logger(workflow_dir: Path, *, store: str | None = None) -> ProfileChange:
    """Add ``iscc`` to the profile's ``logger:`` list (and set the store), creating the file.

    :raises ProfileError: the existing file is not YAML or not a mapping, or cannot be written.
    """
    import yaml  # deferred: ~30 ms of every CLI start-up otherwise

    path = profile_file(workflow_dir)
    created = not path.exists() and not path.is_symlink()
    try:
        text = "" if created else _read(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path}: cannot read: {exc}") from None
    data = _load(path, text)
    before = _loggers(path, data.get("logger"))
    loggers = before if LOGGER in before else (*before, LOGGER)
    want = {**data, "logger": list(loggers)}
    if store is not None:
        want[STORE_KEY] = store
    if want == data:
        return ProfileChange(path, False, False, before, loggers, data.get(STORE_KEY), True)
    new_text = _set_line(text, "logger", want["logger"])
    if store is not None:
        new_text = _set_line(new_text, STORE_KEY, store)
    kept = _parses_to(new_text, want)
    if not kept:
        new_text = yaml.safe_dump(
            want, sort_keys=False, default_flow_style=None, allow_unicode=True
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(new_text, encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"{path}: cannot write: {exc.strerror or exc}") from None
    return ProfileChange(
        path, created, True, before, loggers, want.get(STORE_KEY), kept or "#" not in text
    )


def _read(path: Path) -> str:
    """The profile's text; a FIFO, a device or an oversized file is refused before reading."""
    st = path.stat()
    if not stat.S_ISREG(st.st_mode):
        kind = "a FIFO" if stat.S_ISFIFO(st.st_mode) else "a device or socket"
        raise ProfileError(f"{path}: is {kind}, not a regular file")
    if st.st_size > MAX_PROFILE:
        raise ProfileError(f"{path}: larger than {MAX_PROFILE >> 10} KiB; not a profile")
    with open(path, encoding="utf-8") as f:
        return f.read(MAX_PROFILE + 1)


def _expanded_nodes(text: str) -> int:
    """How many nodes the document has once every alias is expanded (counted on the composed
    node graph, where aliases stay shared, so a 'billion laughs' costs nothing to count)."""
    import yaml

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is None:
        return 0
    sizes: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:  # post-order without recursion: a node after all of its children
        node, ready = stack.pop()
        kids = _children(node)
        if ready:
            sizes[id(node)] = min(1 + sum(sizes[id(c)] for c in kids), MAX_NODES + 1)
            continue
        if id(node) in sizes:
            if sizes[id(node)] < 0:  # an alias inside its own anchor: endless when expanded
                return MAX_NODES + 1
            continue
        sizes[id(node)] = -1  # in progress
        stack.append((node, True))
        stack.extend((c, False) for c in kids)
    return sizes[id(root)]


def _children(node: Any) -> list[Any]:
    import yaml

    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [x for pair in node.value for x in pair]
    return []


def _load(path: Path, text: str) -> dict[str, Any]:
    import yaml  # deferred: ~30 ms of every CLI start-up otherwise

    try:
        if text.strip() and _expanded_nodes(text) > MAX_NODES:
            raise ProfileError(
                f"{path}: its aliases expand to more than {MAX_NODES:,} "
                "values (a YAML alias bomb?); not read"
            )
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" (line {where.line + 1})" if where is not None else ""
        raise ProfileError(f"{path}: not valid YAML{at}; fix or remove it first") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: not a YAML mapping of Snakemake options")
    return data


def _loggers(path: Path, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ProfileError(f"{path}: 'logger' is neither a name nor a list of names")


def _set_line(text: str, key: str, value: Any) -> str:
    """Replace the top-level ``key:`` entry (its line and indented continuation) or append it."""
    import yaml  # deferred: ~30 ms of every CLI start-up otherwise

    # None: a list in flow style ([rich, iscc]); False: never a flow mapping for a scalar.
    style = None if isinstance(value, list) else False
    line = yaml.safe_dump(
        {key: value}, default_flow_style=style, sort_keys=False, allow_unicode=True, width=10_000
    )
    lines = text.splitlines(keepends=True)
    head = re.compile(rf"^(['\"]?){re.escape(key)}\1\s*:(\s|$)")
    for i, current in enumerate(lines):
        if head.match(current):
            j = i + 1
            while j < len(lines) and (lines[j][:1] in (" ", "\t", "-") or not lines[j].strip()):
                j += 1
            while j > i + 1 and (not lines[j - 1].strip() or lines[j - 1].lstrip().startswith("#")):
                j -= 1  # blank lines and comments after the entry belong to what follows
            return "".join(lines[:i]) + line + "".join(lines[j:])
    if text and not text.endswith("\n"):
        text += "\n"
    return text + line


def _parses_to(text: str, want: dict[str, Any]) -> bool:
    import yaml  # deferred: ~30 ms of every CLI start-up otherwise

    try:
        return bool(yaml.safe_load(text) == want)
    except yaml.YAMLError:
        return False
