import secrets
import stat
import threading
import time

from icb.common.secrets import secret_file


def test_a_secret_is_written_once_readable_by_its_owner_only(tmp_path):
    path = tmp_path / "secret_key"
    first = secret_file(path, lambda: secrets.token_urlsafe(50))
    assert secret_file(path, lambda: "another") == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_processes_starting_together_all_get_the_winners_secret(tmp_path):
    """Web, worker and beat start at once: one creates the file, the others must read
    its secret back (not fail on the existing file, nor read it before it is written)."""
    path = tmp_path / "encryption_key"
    start = threading.Barrier(8)
    got, failed = [], []

    def make():
        time.sleep(0.05)  # the others find the file created but still empty
        return secrets.token_urlsafe(32)

    def start_process():
        start.wait()
        try:
            got.append(secret_file(path, make))
        except Exception as exc:
            failed.append(exc)

    threads = [threading.Thread(target=start_process) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failed == []
    assert len(got) == 8 and len(set(got)) == 1 and got[0]
