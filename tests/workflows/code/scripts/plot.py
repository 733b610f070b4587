"""A matplotlib SVG: matplotlib stamps the creation date into its metadata."""

import matplotlib

matplotlib.use("svg")
matplotlib.rcParams["svg.hashsalt"] = "iscc-lineage"  # stable element ids; the date still varies
import matplotlib.pyplot as plt  # noqa: E402

snakemake = globals()["snakemake"]  # injected by Snakemake
with open(snakemake.input[0]) as src:
    values = [int(v) for v in src]
fig, ax = plt.subplots(figsize=(8, 5))
ax.plot(values, marker="o", linewidth=0.5)
ax.set_title("doubled")
fig.savefig(snakemake.output[0])
