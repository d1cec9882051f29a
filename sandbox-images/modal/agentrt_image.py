"""The Modal image for agentrt, from the release tarball: nothing is compiled in it.

The pinned Node.js 20 image (the base of the E2B and Daytona recipes too; Modal's
``debian_slim()`` has no Node.js 20, which the harness CLIs need), ``add_local_file`` for the
scripts and ``dist/agentrt-<version>-linux-x86_64.tar.gz``, then ``install-deps.sh runtime``,
git, ``install-release.sh`` and the CLIs chosen by ``harness_clis`` (``harness-clis.sh``): the
scripts CI checks. Modal caches each step, so only the first sandbox waits for the build. Make
the tarball first (README, "Portable binary").
"""
import pathlib
import sys

import modal

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from recipe_util import (BASE_IMAGE, CLIS_PATH, IMAGE_SCRIPTS, INSTALL_COMMAND,  # noqa: E402
                         cli_install_command, release_tarball)

# Modal runs its own Python code in every image; add_python puts a standalone one in /usr/local.
PYTHON_VERSION = "3.12"


def agentrt_image(harness_clis: str = "claude", tarball: str = "") -> modal.Image:
    image = modal.Image.from_registry(BASE_IMAGE, add_python=PYTHON_VERSION)
    for local, remote in IMAGE_SCRIPTS.items():
        image = image.add_local_file(local, remote, copy=True)
    image = (image.add_local_file(tarball or release_tarball(), "/tmp/agentrt.tar.gz", copy=True)
             .run_commands(INSTALL_COMMAND))
    if harness_clis:
        image = image.run_commands(cli_install_command(harness_clis))
    return image.env({"PATH": CLIS_PATH})
