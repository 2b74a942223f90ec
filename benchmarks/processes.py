"""Processes of the sync benchmark, read from /proc (Linux): a real Celery worker, the
CPU seconds a process tree has used, peak memory. Not a benchmark itself (run_all.py runs
*_bench.py only)."""

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (field 3 onwards)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def children(parent: int) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            fields = _stat(int(name))
            if fields and int(fields[1]) == parent:
                found.append(int(name))
    return found


def cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and all its children, those alive and those that exited
    (an exited child's time is added to its parent's when the parent reaps it): a
    server's connections or a worker's pool processes, however short-lived."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    # utime, stime, cutime, cstime: fields 14-17 of the line, 12-15 here.
    own = sum(int(value) for value in fields[11:15]) / TICKS
    return own + sum(_live_tree(child) for child in children(pid))


def _live_tree(pid: int) -> float:
    fields = _stat(pid)
    if fields is None:
        return 0.0
    return sum(int(value) for value in fields[11:13]) / TICKS + sum(
        _live_tree(child) for child in children(pid)
    )


def parent_of(pid: int) -> int | None:
    fields = _stat(pid)
    return int(fields[1]) if fields else None


def status_mb(key: str, pid: int | str = "self") -> float | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def reset_peak_rss(pid: int | str = "self") -> None:
    """Linux: start the peak (VmHWM) again from the current RSS, so the figure is the
    sync's own peak rather than the set-up's."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass


def peak_rss_mb() -> float:
    hwm = status_mb("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Worker:
    """A real Celery worker process (prefork pool of `concurrency` processes) on the
    benchmark's database and broker."""

    def __init__(self, concurrency: int, log_path: Path, env: dict[str, str] | None = None):
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "icb",
                "worker",
                "--concurrency",
                str(concurrency),
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel",
                "INFO",
            ],
            env={**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while "ready." not in log_path.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("The Celery worker did not start:\n" + log_path.read_text())
            time.sleep(0.2)

    def pids(self) -> list[int]:
        return [self.process.pid, *children(self.process.pid)]

    def reset_peak_rss(self) -> None:
        for pid in self.pids():
            reset_peak_rss(pid)

    def peak_rss_mb(self) -> float:
        """The largest peak of the worker's processes (each child syncs its own tasks)."""
        return max([0.0] + [status_mb("VmHWM", pid) or 0.0 for pid in self.pids()])

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process.pid)

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise SystemExit("The worker died:\n" + self.log_path.read_text())

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()
