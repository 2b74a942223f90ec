"""`make bench`: every benchmark script in this folder, one after the other.

The sync benchmark runs at 60,000 and 600,000 services, on SQLite and on PostgreSQL
(DATABASE_URL's server, else one answering on 127.0.0.1:5432; left out when none does),
with the worker scaling table on PostgreSQL; then once more at 60,000 on SQLite with the
review policy set to apply every change (the seed's behaviour), to compare with the
default policy's nights (Billing review's target: within 10 %). `run_all.py --quick`:
60,000 services only (the 600,000-service runs take several minutes each, most of it
building the data)."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUICK = "--quick" in sys.argv[1:]
# Each script's runs (one run with no arguments when not listed).
RUNS = {
    "sync_bench.py": [
        [
            "--databases",
            "sqlite,postgresql",
            "--services",
            "60000" if QUICK else "60000,600000",
            "--workers",
            "1,2,4",
        ],
        ["--services", "60000", "--policy", "auto"],
    ],
}

if __name__ == "__main__":
    failed = 0
    for script in sorted(HERE.glob("*_bench.py")):
        for arguments in RUNS.get(script.name, [[]]):
            print(f"\n== {script.name} {' '.join(arguments)} ==", flush=True)
            command = [sys.executable, str(script), *arguments]
            failed |= subprocess.call(command) != 0
    sys.exit(1 if failed else 0)
