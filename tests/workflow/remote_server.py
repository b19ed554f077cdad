"""A read-only HTTP DVC remote on this machine: `python -m http.server` bound to 127.0.0.1 serving a pushed
remote folder, started by a test and stopped after it."""
from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def http_server(folder: Path):
    """Serve `folder` read-only at the yielded URL (http://127.0.0.1:PORT/) while the block runs."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port),
                             "--directory", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url, timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"http.server on port {port} exited ({proc.returncode})") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def no_proxy_env(env: dict[str, str]) -> dict[str, str]:
    """The environment with 127.0.0.1 kept away from any HTTP proxy the machine sets."""
    return {**env, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
