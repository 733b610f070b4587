#!/usr/bin/env bash
# Debian packages for the lab-scale tests: a real PostgreSQL server and a real single-node SLURM
# (slurmctld + slurmd + munge). Only the binaries: the test fixtures (tests/services.py) start
# private instances in temporary folders and stop them again. Idempotent: installs only what is
# missing, prints how long it took. Without root or apt-get it does nothing, and those tests skip
# with the reason (or fail, under ISCC_LINEAGE_REQUIRE_SERVICES=1, which .ci/run sets).
set -euo pipefail
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "services: not root or no apt-get; PostgreSQL/SLURM tests will skip"
    exit 0
fi
missing=""
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
command -v slurmctld >/dev/null || missing="$missing slurmctld"
command -v slurmd >/dev/null || missing="$missing slurmd"
command -v sbatch >/dev/null || missing="$missing slurm-client"
command -v munged >/dev/null || missing="$missing munge"
if [ -z "$missing" ]; then
    echo "services: postgresql, slurm and munge already installed"
    exit 0
fi
start=$(date +%s)
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d-less machines would start the packaged daemons on install: the tests start their
# own private instances, so keep the system ones off.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d.iscc && chmod +x /usr/sbin/policy-rc.d.iscc
if [ ! -e /usr/sbin/policy-rc.d ]; then cp /usr/sbin/policy-rc.d.iscc /usr/sbin/policy-rc.d; own_policy=1; fi
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends $missing >/dev/null
[ "${own_policy:-0}" = 1 ] && rm -f /usr/sbin/policy-rc.d
rm -f /usr/sbin/policy-rc.d.iscc
echo "services: installed$missing in $(( $(date +%s) - start )) s"
