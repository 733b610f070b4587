"""Sum the scaled values of one sample (the `measure` rule of the fan test workflow)."""

import os
import time

snakemake = globals()["snakemake"]  # injected by Snakemake
sample = snakemake.wildcards.s
with open(snakemake.input[0]) as src:
    values = [float(line) for line in src if line.strip()]
with open(snakemake.output[0], "w") as out:
    out.write(f"{sum(values):.1f} {sample}\n")
if snakemake.params.wipe and sample == "a":
    # Break the lineage store under the running plugin (the broken-store test).
    for name in (snakemake.params.wipe, snakemake.params.wipe + "-wal"):
        if os.path.exists(name):
            with open(name, "r+b") as f:
                f.write(b"\0" * os.path.getsize(name))
if snakemake.params.slow and sample == "c":
    time.sleep(float(snakemake.params.slow))
if snakemake.params.fail == sample:
    raise SystemExit(f"measure: sample {sample} fails on purpose (pid {os.getpid()})")
