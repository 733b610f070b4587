"""Session fixtures shared by every test folder: the real servers of tests/services.py."""

from pathlib import Path

import pytest
from services import pg_url, postgres_server, slurm_cluster

__all__ = ["pg_url", "postgres_server", "slurm_cluster", "store_location"]


@pytest.fixture(params=["sqlite", "postgresql"])
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on both backends: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "lineage.db")
    server = request.getfixturevalue("postgres_server")
    return str(server.url(server.new_database()))
