"""Session fixtures shared by every test folder: the real servers of tests/services.py and
the demo pipeline run once under live capture (``live_demo``)."""

from pathlib import Path

import pytest
from demo_run import LiveDemo, run_demo
from services import pg_url, postgres_server, slurm_cluster

__all__ = ["live_demo", "pg_url", "postgres_server", "slurm_cluster", "store_location"]


@pytest.fixture(params=["sqlite", "postgresql"])
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on both backends: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "lineage.db")
    server = request.getfixturevalue("postgres_server")
    return str(server.url(server.new_database()))


@pytest.fixture(scope="session")
def live_demo(tmp_path_factory: pytest.TempPathFactory) -> LiveDemo:
    """The demo pipeline run once under live capture, for every test that only reads the run
    (plugin, import, crate and reproduce tests): see :func:`demo_run.run_demo`."""
    return run_demo(tmp_path_factory.mktemp("demo"))
