"""Starts a Daytona sandbox from the agentrt snapshot with a fresh token, waits for /health
through a signed preview URL (the URL carries Daytona's own credential, so agentrt-client needs
no extra header), runs commands with agentrt-client over wss://, and deletes the sandbox.

    pip install daytona                       # DAYTONA_API_KEY in the environment
    python sandbox-images/daytona/agentrt_snapshot.py         # once per release
    python sandbox-images/daytona/start_sandbox.py 'uname -a' 'git --version'

Needs agentrt-client on PATH (from the release tarball) or AGENTRT_CLIENT set.
"""
import os
import secrets
import subprocess
import sys

from daytona import CreateSandboxFromSnapshotParams, Daytona

from agentrt_snapshot import PORT, snapshot_name  # also puts sandbox-images/ on sys.path
from recipe_util import wait_healthy


def main() -> int:
    commands = sys.argv[1:] or ["uname -a", "id", "git --version"]
    token = secrets.token_hex(32)
    daytona = Daytona()
    sandbox = daytona.create(CreateSandboxFromSnapshotParams(
        snapshot=snapshot_name(), env_vars={"AGENTRT_TOKEN": token}, auto_stop_interval=30))
    try:
        preview = sandbox.create_signed_preview_url(PORT, expires_in_seconds=3600)
        health = wait_healthy(preview.url)
        print(f"agentrt {health['version']} is up in sandbox {sandbox.id}", file=sys.stderr)
        client = os.environ.get("AGENTRT_CLIENT", "agentrt-client")
        ws_url = preview.url.replace("https://", "wss://", 1).rstrip("/") + "/"
        # The token goes through the environment, not the command line (which ps shows).
        return subprocess.run([client, "exec", ws_url, "--", *commands], check=False,
                              env={**os.environ, "AGENTRT_TOKEN": token}).returncode
    finally:
        daytona.delete(sandbox)


if __name__ == "__main__":
    sys.exit(main())
