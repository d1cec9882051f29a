"""sandbox-images/install-release.sh, the step every deploy recipe installs agentrt with, works on
release tarballs: with and without a top-level directory and bin/, it installs agentrt and
agentrt-client into PREFIX/bin, and the installed agentrt serves a real session; a tarball that
lacks a binary or holds two of one name is refused with a message. When the real release tarball
dist/agentrt-<version>-linux-x86_64.tar.gz exists in the source tree, it is installed too.

    check_install_release.py REPO_ROOT AGENTRT_BINARY AGENTRT_CLIENT
"""
import io
import os
import re
import subprocess
import sys
import tarfile
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agentrt_fixture import Runtime, fail, run  # noqa: E402


def make_tarball(path, members):
    """members: archive name -> local file (None: a directory)."""
    # Level 1: the portable binary is 25 MB, and gzip -9 on it takes seconds on a busy machine.
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for name, local in members.items():
            if local is None:
                info = tarfile.TarInfo(name)
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                tar.add(local, arcname=name)
        readme = b"agentrt release\n"
        info = tarfile.TarInfo(os.path.dirname(next(iter(members))) + "/README.txt"
                               if "/" in next(iter(members)) else "README.txt")
        info.size = len(readme)
        tar.addfile(info, io.BytesIO(readme))


def install(script, tarball, prefix):
    return run(["bash", script, tarball, prefix], timeout=120)


def check_installed(prefix):
    agentrt = os.path.join(prefix, "bin", "agentrt")
    client = os.path.join(prefix, "bin", "agentrt-client")
    for f in (agentrt, client):
        if not os.access(f, os.X_OK):
            fail(f"{f} was not installed executable")
    with Runtime([agentrt]) as rt:
        r = run([client, "exec", rt.url, "--", "echo installed-from-release"], timeout=60)
        if r.returncode != 0 or "installed-from-release" not in r.stdout:
            fail(f"the installed agentrt did not run a command; log:\n{rt.log_text()}")


def main():
    if len(sys.argv) != 4:
        fail(__doc__)
    repo, binary, client = sys.argv[1:]
    script = os.path.join(repo, "sandbox-images", "install-release.sh")
    with open(os.path.join(repo, "CMakeLists.txt")) as f:
        version = re.search(r"project\(agentrt\s+VERSION\s+([0-9][^\s)]*)", f.read()).group(1)
    top = f"agentrt-{version}-linux-x86_64"
    layouts = {
        "top-level directory with bin/": {f"{top}/bin/agentrt": binary,
                                          f"{top}/bin/agentrt-client": client},
        "top-level directory, no bin/": {f"{top}/agentrt": binary, f"{top}/agentrt-client": client},
        "flat": {"agentrt": binary, "agentrt-client": client},
    }
    checked = 0
    with tempfile.TemporaryDirectory() as d:
        for name, members in layouts.items():
            print(f"layout: {name}")
            tarball = os.path.join(d, f"{checked}.tar.gz")
            make_tarball(tarball, members)
            prefix = os.path.join(d, f"prefix{checked}")
            r = install(script, tarball, prefix)
            if r.returncode != 0 or "installed agentrt" not in r.stdout:
                fail(f"install-release.sh failed on the layout '{name}'")
            check_installed(prefix)
            checked += 1

        # Refused before anything runs, so a small stand-in file does for the binaries.
        stand_in = os.path.join(d, "stand-in")
        with open(stand_in, "w") as f:
            f.write("#!/bin/sh\nexit 0\n")
        os.chmod(stand_in, 0o755)
        refused = {
            "no agentrt-client": ({f"{top}/bin/agentrt": stand_in}, "one file named agentrt-client"),
            "two agentrt": ({f"{top}/bin/agentrt": stand_in, f"{top}/agentrt": stand_in,
                             f"{top}/bin/agentrt-client": stand_in}, "found 2"),
        }
        for name, (members, message) in refused.items():
            print(f"refused: {name}")
            tarball = os.path.join(d, f"bad{checked}.tar.gz")
            make_tarball(tarball, members)
            prefix = os.path.join(d, f"bad-prefix{checked}")
            r = install(script, tarball, prefix)
            if r.returncode == 0 or message not in r.stderr:
                fail(f"install-release.sh accepted a tarball with {name} (or said nothing useful)")
            if os.path.exists(os.path.join(prefix, "bin", "agentrt")):
                fail(f"install-release.sh installed something from a tarball with {name}")
            checked += 1

        real = os.path.join(repo, "dist", f"{top}.tar.gz")
        if os.path.exists(real):
            print(f"the real release tarball: {real}")
            prefix = os.path.join(d, "release")
            if install(script, real, prefix).returncode != 0:
                fail(f"install-release.sh failed on {real}")
            check_installed(prefix)
            checked += 1
        else:
            print(f"({real} not made: only the synthetic tarballs were installed)")
    print(f"{checked} tarballs: installed and served a session, or refused with a message")


if __name__ == "__main__":
    main()
