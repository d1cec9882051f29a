"""Shared helpers for the image and sample tests (plain Python scripts run by CTest): start a
real agentrt on a free loopback port, probe /health, and skip cleanly when a prerequisite is
missing (exit code 77, which CTest reports as "skipped")."""
import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77


def skip(reason: str) -> None:
    print(f"SKIPPED: {reason}")
    sys.exit(SKIP)


def fail(reason: str) -> None:
    print(f"FAILED: {reason}")
    sys.exit(1)


class Checks:
    """Named checks that go on after a failure and end in one verdict: every line is printed, so
    CTest's output says what held and what did not."""

    def __init__(self):
        self.problems = []
        self.passed = 0

    def expect(self, condition, what: str) -> None:
        if condition:
            self.passed += 1
            print(f"  ok: {what}")
        else:
            self.problems.append(what)
            print(f"  FAILED: {what}")

    def finish(self) -> None:
        if self.problems:
            fail(f"{len(self.problems)} check(s) failed:\n" + "\n".join(self.problems))
        print(f"{self.passed} checks passed")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_health(port: int, timeout: float = 2.0):
    """The /health JSON, or None when nothing answers on the port yet."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("GET", "/health")
        response = conn.getresponse()
        body = response.read()
        conn.close()
    except OSError:
        return None
    if response.status != 200:
        return None
    return json.loads(body)


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Runtime:
    """agentrt (or any command line that ends in an agentrt invocation, e.g. via chroot) on a
    free loopback port; --host/--port are appended. Use as a context manager."""

    def __init__(self, argv, extra_args=(), env=None, startup_timeout=15.0):
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="agentrt-log-", suffix=".txt", delete=False)
        self.argv = list(argv) + ["--host", "127.0.0.1", "--port", str(self.port)] + list(extra_args)
        self.env = env
        self.startup_timeout = startup_timeout
        self.proc = None
        self.started_in = None  # seconds from spawn to the first good /health

    def __enter__(self):
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=self.env)
        deadline = t0 + self.startup_timeout
        while time.perf_counter() < deadline:
            if get_health(self.port) is not None:
                self.started_in = time.perf_counter() - t0
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.002)
        log = self.log_text()
        self.stop()
        fail(f"agentrt did not answer /health on port {self.port}; log:\n{log}")

    def __exit__(self, *exc):
        self.stop()
        with contextlib.suppress(OSError):
            os.unlink(self.log.name)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def log_text(self) -> str:
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def stop(self) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def run(argv, timeout=60, **kw) -> subprocess.CompletedProcess:
    """Runs a command, echoing its command line and output (CTest shows them on failure)."""
    print("$", " ".join(argv), flush=True)
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    sys.stdout.write(result.stdout)
    sys.stdout.write(result.stderr)
    print(f"[exit {result.returncode}]", flush=True)
    return result
