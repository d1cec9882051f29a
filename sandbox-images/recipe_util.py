"""What the Python deploy recipes (modal/, daytona/) share: the release tarball they install and
the wait for a runtime's /health through the platform's tunnel. Standard library only.
"""
import json
import pathlib
import re
import time
import urllib.request

REPO = pathlib.Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "sandbox-images"
# The base of the E2B, Modal and Daytona images: Node.js 20 (the harness CLIs need it) on
# Debian 12, pinned by digest like sandbox-images/docker/Dockerfile's bases.
BASE_IMAGE = ("node:20.20.2-bookworm-slim"
              "@sha256:2cf067cfed83d5ea958367df9f966191a942351a2df77d6f0193e162b5febfc0")
# Installs what the binary loads plus git (after a fresh apt-get update: install-deps.sh skips
# its own when its packages are there already), then the release's agentrt and agentrt-client
# from /tmp/agentrt.tar.gz (install-release.sh fails the build if the binary cannot start).
INSTALL_COMMAND = ("bash /opt/agentrt/install-deps.sh runtime"
                   " && apt-get update -qq"
                   " && DEBIAN_FRONTEND=noninteractive"
                   " apt-get install -y -qq --no-install-recommends git"
                   " && rm -rf /var/lib/apt/lists/*"
                   " && bash /opt/agentrt/install-release.sh /tmp/agentrt.tar.gz /usr/local"
                   " && rm /tmp/agentrt.tar.gz")
# The scripts the image build runs: local path -> path in the image.
IMAGE_SCRIPTS = {SCRIPTS / name: f"/opt/agentrt/{name}" for name in
                 ("install-deps.sh", "install-release.sh", "healthcheck.sh", "harness-clis.sh")}
CLIS_PATH = ("/opt/agentrt-clis/node_modules/.bin:/usr/local/sbin:/usr/local/bin:/usr/sbin"
             ":/usr/bin:/sbin:/bin")


def cli_install_command(harness_clis: str) -> str:
    return (f"bash /opt/agentrt/harness-clis.sh install /opt/agentrt-clis {harness_clis}"
            " && npm cache clean --force")


def project_version() -> str:
    """The version in CMakeLists.txt, which names the release tarball."""
    match = re.search(r"project\(agentrt\s+VERSION\s+([0-9][^\s)]*)",
                      (REPO / "CMakeLists.txt").read_text())
    if not match:
        raise RuntimeError("no project(agentrt VERSION …) in CMakeLists.txt")
    return match.group(1)


def release_tarball(version: str = "") -> pathlib.Path:
    """dist/agentrt-<version>-linux-x86_64.tar.gz, which must have been made."""
    path = REPO / "dist" / f"agentrt-{version or project_version()}-linux-x86_64.tar.gz"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: make the release tarball first "
                                "(README, \"Portable binary\")")
    return path


def wait_healthy(url: str, timeout_s: float = 120.0) -> dict:
    """GET URL/health until it answers {"status": "ok", ...}; the platforms' proxies answer
    errors until agentrt listens."""
    deadline = time.monotonic() + timeout_s
    last_error = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=5) as response:
                health = json.load(response)
                if health.get("status") == "ok":
                    return health
        except Exception as e:  # noqa: BLE001 - any failure means "not yet"
            last_error = e
        time.sleep(0.5)
    raise TimeoutError(f"{url}/health did not answer in {timeout_s} s: {last_error}")
