"""Double every number: called from a shell: rule (python scripts/double.py IN OUT FACTOR LABEL)."""

import sys

src, dst, factor, label = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
with open(src) as f, open(dst, "w") as out:
    for line in f:
        out.write(f"{int(line) * factor}\n")
