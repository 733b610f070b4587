"""Multiply each line by the factor param (the `scale` rule of the import fixtures' workflow)."""

snakemake = globals()["snakemake"]  # injected by Snakemake
factor = int(snakemake.params.factor)
with open(snakemake.input[0]) as src, open(snakemake.output[0], "w") as dst:
    for line in src:
        dst.write(f"{int(line) * factor}\n")
with open(snakemake.log[0], "w") as log:
    log.write("scaled\n")
