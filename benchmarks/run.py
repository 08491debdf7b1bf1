"""Run every benchmark, each in its own process (BLAS thread state from one would skew the next).

    python benchmarks/run.py            # all of them
    python benchmarks/run.py mlp conv   # some

Each script measures chainrule and PyTorch in the same run and prints its own table of ratios.
"""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
SCRIPTS = {"mlp": "mlp.py", "cnn": "cnn.py", "conv": "conv.py", "export": "bench_export.py"}


def main(names: list[str]) -> int:
    unknown = [n for n in names if n not in SCRIPTS]
    if unknown:
        print(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(SCRIPTS)}", file=sys.stderr)
        return 2
    status = 0
    for name in names or list(SCRIPTS):
        print(f"\n### {name} ({SCRIPTS[name]})", flush=True)
        status |= subprocess.call([sys.executable, str(HERE / SCRIPTS[name])])
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
