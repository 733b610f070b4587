"""Session fixtures shared by every test folder: the real servers of tests/services.py."""

from services import pg_url, postgres_server, slurm_cluster

__all__ = ["pg_url", "postgres_server", "slurm_cluster"]
