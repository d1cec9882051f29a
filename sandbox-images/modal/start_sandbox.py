"""Starts agentrt in a Modal sandbox, waits for /health through the sandbox's TLS tunnel, and
runs a few commands through it with agentrt-client (wss://, token per sandbox).

    pip install modal && modal setup
    python sandbox-images/modal/start_sandbox.py [COMMAND ...]

Needs agentrt-client on PATH (cmake --build build --target agentrt-client) or AGENTRT_CLIENT set.
"""
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request

import modal

from agentrt_image import agentrt_image

PORT = 8080


def wait_healthy(url: str, timeout_s: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout_s
    last_error = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/health", timeout=5) as response:
                health = json.load(response)
                if health.get("status") == "ok":
                    return health
        except Exception as e:  # the tunnel answers 502 until agentrt listens
            last_error = e
        time.sleep(0.5)
    raise TimeoutError(f"{url}/health did not answer in {timeout_s} s: {last_error}")


def main() -> int:
    commands = sys.argv[1:] or ["uname -a", "id", "ls /opt/agentrt-clis/node_modules/.bin"]
    token = secrets.token_hex(32)
    app = modal.App.lookup("agentrt-sandboxes", create_if_missing=True)
    sandbox = modal.Sandbox.create(
        "agentrt", "--host", "0.0.0.0", "--port", str(PORT), "--workdir", "/root",
        app=app,
        image=agentrt_image(),
        encrypted_ports=[PORT],
        secrets=[modal.Secret.from_dict({"AGENTRT_TOKEN": token})],
        timeout=30 * 60,
    )
    try:
        tunnel = sandbox.tunnels()[PORT]
        health = wait_healthy(tunnel.url)
        print(f"agentrt {health['version']} is up at {tunnel.url}", file=sys.stderr)
        client = os.environ.get("AGENTRT_CLIENT", "agentrt-client")
        ws_url = tunnel.url.replace("https://", "wss://", 1) + "/"
        return subprocess.run([client, "exec", ws_url, "--token", token, "--", *commands]).returncode
    finally:
        sandbox.terminate()


if __name__ == "__main__":
    sys.exit(main())
