"""Starts the built pangu-serve binary on tiny-pangu-embedded for the openai-client tests."""
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
MODEL = SHARED / "models" / "tiny-pangu-embedded"
BINARY = Path(os.environ.get("PANGU_SERVE_BINARY", ROOT / ".build" / "debug" / "pangu-serve"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One pangu-serve process; `url` is its base URL."""

    def __init__(self, *extra: str):
        if not MODEL.exists():
            pytest.skip(f"{MODEL} is absent")
        if not BINARY.exists():
            pytest.skip(f"{BINARY} is not built (swift build)")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [str(BINARY), "serve", "--model", str(MODEL), "--port", str(self.port),
                "--served-model-name", "tiny", "--threads", "2", "--log-level", "warning", *extra]
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"pangu-serve exited: {self.process.stdout.read().decode()}")
            try:
                with urllib.request.urlopen(self.url + "/ready", timeout=1) as r:
                    if r.status == 200:
                        return
            except Exception:
                time.sleep(0.1)
        raise RuntimeError("pangu-serve did not become ready")

    def metrics(self) -> str:
        with urllib.request.urlopen(self.url + "/metrics", timeout=5) as r:
            return r.read().decode()

    def metric(self, name: str) -> float:
        for line in self.metrics().splitlines():
            if line.startswith(name + "{") or line.startswith(name + " "):
                return float(line.rsplit(" ", 1)[1])
        raise KeyError(name)

    def stop(self, sig=signal.SIGTERM, timeout=30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


@pytest.fixture(scope="session")
def server():
    s = Server("--max-num-seqs", "32")
    yield s
    s.stop()


@pytest.fixture(scope="session")
def client(server):
    from openai import OpenAI
    return OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0, timeout=60)
