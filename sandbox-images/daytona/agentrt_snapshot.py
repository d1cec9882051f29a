"""The Daytona snapshot for agentrt: an image built by Daytona's declarative builder from the
release tarball (nothing is compiled in it), with agentrt as the start command.

    pip install daytona                       # DAYTONA_API_KEY in the environment
    python sandbox-images/daytona/agentrt_snapshot.py      # once per release; from the repo root

The image is the one the E2B and Modal recipes build: the pinned Node.js 20 image,
``add_local_file`` for the scripts and ``dist/agentrt-<version>-linux-x86_64.tar.gz``, then
``install-deps.sh runtime``, git, ``install-release.sh`` and the CLIs from ``harness-clis.sh``.
The snapshot's entrypoint starts agentrt when a sandbox starts, so AGENTRT_TOKEN comes from the
sandbox's own environment (``env_vars`` at creation): one token per sandbox (start_sandbox.py).
"""
import pathlib
import sys

from daytona import CreateSnapshotParams, Daytona, Image, Resources

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from recipe_util import (BASE_IMAGE, CLIS_PATH, IMAGE_SCRIPTS, INSTALL_COMMAND,  # noqa: E402
                         cli_install_command, project_version, release_tarball)

PORT = 8080
WORKDIR = "/work"
START_COMMAND = ["/usr/local/bin/agentrt", "--host", "0.0.0.0", "--port", str(PORT),
                 "--workdir", WORKDIR]


def snapshot_name(version: str = "") -> str:
    return f"agentrt-{version or project_version()}"


def agentrt_image(harness_clis: str = "claude", tarball: str = "") -> Image:
    image = Image.base(BASE_IMAGE)
    for local, remote in IMAGE_SCRIPTS.items():
        image = image.add_local_file(local, remote)
    image = (image.add_local_file(tarball or release_tarball(), "/tmp/agentrt.tar.gz")
             .run_commands(f"{INSTALL_COMMAND} && mkdir -p {WORKDIR}"))
    if harness_clis:
        image = image.run_commands(cli_install_command(harness_clis))
    return image.env({"PATH": CLIS_PATH}).workdir(WORKDIR)


def create_snapshot(daytona: Daytona, name: str = "") -> str:
    name = name or snapshot_name()
    daytona.snapshot.create(
        CreateSnapshotParams(name=name, image=agentrt_image(),
                             resources=Resources(cpu=2, memory=4, disk=8),
                             entrypoint=START_COMMAND),
        on_logs=print,
    )
    return name


if __name__ == "__main__":
    print(f"created snapshot {create_snapshot(Daytona())}", file=sys.stderr)
