"""How long `import jupyter_modelops` takes in a fresh interpreter.

    python benchmarks/bench_import.py            # median of 7 runs
    python benchmarks/bench_import.py -n 15 --verbose

Prints the median wall time of ``python -c "import jupyter_modelops"`` minus nothing:
it is the time a user waits (interpreter start-up included), with the bare interpreter
start-up shown alongside for reference. Target: <= 0.25 s. ``--verbose`` adds the
slowest modules reported by ``python -X importtime``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

TARGET_S = 0.25


def wall(code: str, python: str = sys.executable, env: dict | None = None) -> float:
    """Wall time of ``python -c code`` in a fresh interpreter (start-up included)."""
    t0 = time.perf_counter()
    subprocess.run([str(python), "-c", code], check=True, env=env)
    return time.perf_counter() - t0


def importtime(top: int) -> list[tuple[int, int, str]]:
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import jupyter_modelops"],
                         capture_output=True, text=True, check=True).stderr
    rows = []
    for line in out.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative, name = (p.strip() for p in line[len("import time:"):].split("|"))
        rows.append((int(cumulative), int(self_us), name))
    return sorted(rows, reverse=True)[:top]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--repeat", type=int, default=7)
    ap.add_argument("--verbose", action="store_true", help="show -X importtime top offenders")
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args()

    wall("import jupyter_modelops")  # warm the OS file cache and __pycache__
    base = statistics.median(wall("pass") for _ in range(args.repeat))
    times = [wall("import jupyter_modelops") for _ in range(args.repeat)]
    med = statistics.median(times)
    print(f"python -c 'import jupyter_modelops': median {med:.3f} s over {args.repeat} runs "
          f"(min {min(times):.3f}, max {max(times):.3f})")
    print(f"bare interpreter start-up:           median {base:.3f} s  -> import itself ~{med - base:.3f} s")
    print(f"target <= {TARGET_S:.2f} s: {'OK' if med <= TARGET_S else 'MISSED'}")
    if args.verbose:
        print(f"\nslowest imports (-X importtime, cumulative us / self us):")
        for cum, self_us, name in importtime(args.top):
            print(f"  {cum:>9} {self_us:>9}  {name}")
    return 0 if med <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
