"""Run every benchmark, each in its own process (BLAS thread state from one would skew the next).

    python benchmarks/run.py            # all of them
    python benchmarks/run.py mlp conv   # some

Each script measures chainrule and PyTorch in the same run and prints its own table of ratios.
Before the tables it states the OpenBLAS kernel NumPy uses (threadpoolctl) and the machine's load;
when ``OPENBLAS_CORETYPE`` or ``OPENBLAS_L2_SIZE`` is set (some machines pin OpenBLAS to a kernel),
everything runs a second time with both unset, as on a user's machine.
"""

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
SCRIPTS = {  # name: the script and its arguments
    "mlp": ["mlp.py"],
    "cnn": ["cnn.py", "--threads", "1"],
    "cnn2": ["cnn.py", "--threads", "2"],
    "conv": ["conv.py"],
    "profile": ["conv_profile.py"],
    "profile-strided": ["conv_strided_profile.py"],
    "lenet": ["lenet.py"],
    "export": ["bench_export.py"],
    "threads": ["threads.py"],  # the crossovers behind core/threads.py's constants
}
PINS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

_KERNEL = (
    "from threadpoolctl import threadpool_info; import numpy\n"
    "print(', '.join(f\"{i['internal_api']} {i['version']} kernel {i.get('architecture')}\" "
    "for i in threadpool_info() if i['user_api'] == 'blas'))"
)


def describe(env: dict) -> str:
    """The BLAS NumPy loads under ``env`` (its kernel as OpenBLAS reports it) and the load average."""
    kernel = subprocess.run([sys.executable, "-c", _KERNEL], env=env, capture_output=True, text=True).stdout.strip()
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    pins = ", ".join(f"{k}={env[k]}" for k in PINS if k in env) or "no OpenBLAS pins"
    return f"{pins}; NumPy BLAS: {kernel or 'unknown'}; load average {load}"


def run_all(names: list[str], env: dict) -> int:
    print(f"\n## {describe(env)}", flush=True)
    status = 0
    for name in names:
        script, *args = SCRIPTS[name]
        print(f"\n### {name} ({' '.join(SCRIPTS[name])})", flush=True)
        status |= subprocess.call([sys.executable, str(HERE / script), *args], env=env)
    print(f"\n(load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())})", flush=True)
    return status


def main(names: list[str]) -> int:
    unknown = [n for n in names if n not in SCRIPTS]
    if unknown:
        print(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(SCRIPTS)}", file=sys.stderr)
        return 2
    names = names or list(SCRIPTS)
    env = dict(os.environ)
    status = run_all(names, env)
    if any(k in env for k in PINS):  # a user's machine does not pin OpenBLAS: measure that too
        status |= run_all(names, {k: v for k, v in env.items() if k not in PINS})
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
