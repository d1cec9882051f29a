"""sandbox-images/healthcheck.sh (the Docker HEALTHCHECK and the E2B ready command) succeeds
against a real agentrt and fails once it is stopped.

    check_healthcheck.py AGENTRT_BINARY HEALTHCHECK_SH
"""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agentrt_fixture import Runtime, fail, run, skip  # noqa: E402


def main():
    if len(sys.argv) != 3:
        fail(__doc__)
    binary, script = sys.argv[1:]
    for tool in ("bash", "timeout"):
        if not shutil.which(tool):
            skip(f"{tool} not found")
    with Runtime([binary]) as rt:
        if run(["bash", script, str(rt.port)]).returncode != 0:
            fail(f"healthcheck.sh failed against a running agentrt; log:\n{rt.log_text()}")
        port = rt.port
    if run(["bash", script, str(port)]).returncode == 0:
        fail("healthcheck.sh succeeded although agentrt was stopped")
    print("healthcheck.sh: ok while running, failing once stopped")


if __name__ == "__main__":
    main()
