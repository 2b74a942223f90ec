"""Whether the Redis the product's worker tests and the sync benchmark use is running here.
Not part of the hub: it sits beside runner.py because the tests and the benchmarks both
use it, and the benchmarks do not import tests/."""

import socket

REDIS = ("127.0.0.1", 6379)


def redis_up() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False
