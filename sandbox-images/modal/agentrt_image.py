"""The Modal image for agentrt: Node.js 20 on Debian 12, agentrt built from this checkout, and
the harness CLIs chosen by ``harness_clis``.

One stage through Modal's own image API (Modal's builder is not Docker, so the multi-stage
sandbox-images/docker/Dockerfile is not used here). The packages come from
sandbox-images/install-deps.sh and the CLIs from sandbox-images/harness-clis.sh, the scripts CI
runs. Modal caches each step, so only the first sandbox waits for the build.
"""
import pathlib

import modal

REPO = pathlib.Path(__file__).resolve().parents[2]
SRC = "/opt/agentrt/src"
PATH = "/opt/agentrt-clis/node_modules/.bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def agentrt_image(harness_clis: str = "claude") -> modal.Image:
    image = (
        modal.Image.from_registry("node:20-bookworm-slim")
        .add_local_dir(REPO, SRC, copy=True,
                       ignore=[".git", "build", "build-*", "**/node_modules"])
        .run_commands(
            f"bash {SRC}/sandbox-images/install-deps.sh build",
            f"bash {SRC}/sandbox-images/install-deps.sh runtime",
            f"cmake -S {SRC} -B /tmp/agentrt-build -DCMAKE_BUILD_TYPE=Release"
            " -DAGENTRT_BUILD_TESTS=OFF -DAGENTRT_BUILD_SAMPLES=OFF"
            " && cmake --build /tmp/agentrt-build -j\"$(nproc)\" --target agentrt"
            " && install -m 0755 -s /tmp/agentrt-build/runtime/agentrt /usr/local/bin/agentrt"
            f" && install -m 0755 {SRC}/sandbox-images/healthcheck.sh /opt/agentrt/healthcheck.sh"
            " && rm -rf /tmp/agentrt-build /var/lib/apt/lists/*",
        )
    )
    if harness_clis:
        image = image.run_commands(
            f"bash {SRC}/sandbox-images/harness-clis.sh install /opt/agentrt-clis {harness_clis}"
            " && npm cache clean --force")
    return image.env({"PATH": PATH})
