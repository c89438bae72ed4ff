"""Run every benchmark in turn, each in its own process, and print their tables.

    python benchmarks/run_all.py            # everything (a few minutes on 2 cores)
    python benchmarks/run_all.py --quick    # the smaller sizes only
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ("bench_solver.py", "bench_proposals.py", "bench_quality.py", "bench_scale.py", "bench_hard_cases.py",
           "bench_wording.py", "bench_classifier.py", "borderline_slice.py", "bench_load.py", "bench_pages.py",
           "bench_addresses.py", "bench_month.py", "bench_backup.py",
           "bench_city.py")  # PostgreSQL and Redis DB 7 (skipped without them); the longest: --quick about 15 minutes
WITHOUT_QUICK = ("bench_classifier.py", "bench_hard_cases.py", "borderline_slice.py", "bench_wording.py")  # one size only


def main() -> int:
    extra = [a for a in sys.argv[1:] if a == "--quick"]
    failed = []
    for script in SCRIPTS:
        print(f"\n=== {script} {' '.join(extra)}".rstrip(), flush=True)
        args = [sys.executable, str(HERE / script)]
        if script not in WITHOUT_QUICK:
            args += extra
        if subprocess.call(args, cwd=HERE.parent) != 0:
            failed.append(script)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
