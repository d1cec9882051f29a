"""Starts agentrt in a Modal sandbox, waits for /health through the sandbox's TLS tunnel, and
runs a few commands through it with agentrt-client (wss://, token per sandbox).

    pip install modal && modal setup
    python sandbox-images/modal/start_sandbox.py [COMMAND ...]

Needs the release tarball in dist/ (the image is built from it) and agentrt-client on PATH (from
the same tarball) or AGENTRT_CLIENT set.
"""
import os
import secrets
import subprocess
import sys

import modal

from agentrt_image import agentrt_image  # also puts sandbox-images/ on sys.path
from recipe_util import wait_healthy

PORT = 8080


def main() -> int:
    commands = sys.argv[1:] or ["uname -a", "id", "git --version"]
    token = secrets.token_hex(32)
    app = modal.App.lookup("agentrt-sandboxes", create_if_missing=True)
    sandbox = modal.Sandbox.create(
        "/usr/local/bin/agentrt", "--host", "0.0.0.0", "--port", str(PORT), "--workdir", "/root",
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
        # The token goes through the environment, not the command line (which ps shows).
        return subprocess.run([client, "exec", ws_url, "--", *commands], check=False,
                              env={**os.environ, "AGENTRT_TOKEN": token}).returncode
    finally:
        sandbox.terminate()


if __name__ == "__main__":
    sys.exit(main())
