"""The portable agentrt and agentrt-client (cmake -DAGENTRT_PORTABLE=ON: agentrt-portable and
agentrt-client-portable, or the release tarball's bin/) run in a minimal root file system that
holds only the shared libraries sandbox-images/portable-dynamic-libs.txt (the README's list)
names, plus /bin/sh for the commands: agentrt starts, answers /health, and runs commands sent
over a real WebSocket session by the portable agentrt-client, itself run inside the same root.
Neither binary references a glibc symbol version newer than the list's "minimum glibc".

    check_portable_chroot.py AGENTRT_BINARY AGENTRT_CLIENT DOCUMENTED_LIBS_TXT

A client that is not a portable build runs from outside the root instead. Needs root (chroot,
mknod, mounting /proc); skips with a message otherwise or when agentrt is not a portable build.
tests/package/check_release.py runs this on the release tarball's files, and installs the .debs
into a debootstrap root.
"""
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agentrt_fixture import Runtime, fail, run, skip  # noqa: E402


def ldd(binary):
    """[(soname, resolved path)] including the dynamic loader."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    libs = []
    for line in out.splitlines():
        if "not found" in line:
            fail(f"ldd {binary}: {line.strip()}")
        m = re.match(r"\s*(\S+) => (\S+) \(0x", line) or re.match(r"\s*((/\S+)) \(0x", line)
        if m:
            libs.append((os.path.basename(m.group(1)), m.group(2)))
    return libs


def documented(path):
    with open(path) as f:
        return {line.split()[0] for line in f if line.strip() and not line.startswith("#")}


def documented_min_glibc(path):
    """The "# minimum glibc: X.Y" line of the list, as a tuple."""
    with open(path) as f:
        for line in f:
            m = re.match(r"#\s*minimum glibc:\s*(\d+)\.(\d+)", line)
            if m:
                return int(m.group(1)), int(m.group(2))
    fail(f"{path} has no '# minimum glibc: X.Y' line")


def glibc_needed(binary):
    """The newest GLIBC_x.y symbol version the binary references."""
    out = subprocess.run(["objdump", "-T", binary], capture_output=True, text=True,
                         check=True).stdout
    versions = {tuple(int(p) for p in v.split(".")[:2])
                for v in re.findall(r"GLIBC_(\d+\.\d+(?:\.\d+)?)", out)}
    return max(versions) if versions else (0, 0)


def is_portable(binary):
    dyn = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True).stdout
    return "libstdc++" not in dyn


def add_file(root, src, dest):
    target = os.path.join(root, dest.lstrip("/"))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copy2(os.path.realpath(src), target)


def make_root(root, binary, client, libs):
    add_file(root, binary, "/usr/local/bin/agentrt")
    if client:
        add_file(root, client, "/usr/local/bin/agentrt-client")
    sh = os.path.realpath(shutil.which("sh"))
    add_file(root, sh, "/bin/sh")
    for soname, path in libs + [l for l in ldd(sh) if l not in libs]:
        add_file(root, path, path)  # where the binary's loader looks for it
    for d in ("tmp", "proc", "dev", "work"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    os.chmod(os.path.join(root, "tmp"), 0o1777)
    os.mknod(os.path.join(root, "dev/null"), 0o666 | 0o020000, os.makedev(1, 3))
    os.chmod(os.path.join(root, "dev/null"), 0o666)
    # An archive for the statically linked libcurl (file://) and libarchive (gzip) to fetch and
    # unpack inside the root.
    os.makedirs(os.path.join(root, "srv"))
    readme = os.path.join(root, "srv", "README")
    with open(readme, "w") as f:
        f.write("unpacked inside the chroot\n")
    with tarfile.open(os.path.join(root, "srv", "repo.tar.gz"), "w:gz") as tar:
        tar.add(readme, arcname="repo/README")
    os.unlink(readme)


def main():
    if len(sys.argv) != 4:
        fail(__doc__)
    binary, client, doc_path = sys.argv[1:]
    if os.geteuid() != 0:
        skip("needs root for chroot")
    for tool in ("ldd", "readelf", "objdump", "chroot", "mount"):
        if not shutil.which(tool):
            skip(f"{tool} not found")
    if not is_portable(binary):
        skip(f"{binary} is not a portable build (configure with -DAGENTRT_PORTABLE=ON)")

    allowed = documented(doc_path)
    min_glibc = documented_min_glibc(doc_path)
    libs = ldd(binary)
    client_in_root = is_portable(client)
    checked = [("agentrt", binary, libs)]
    if client_in_root:
        client_libs = ldd(client)
        checked.append(("agentrt-client", client, client_libs))
        libs = libs + [l for l in client_libs if l not in libs]
    else:
        print(f"{client} is not a portable build: it runs from outside the root")
    for name, path, its_libs in checked:
        print(f"portable {name} loads:", " ".join(s for s, _ in its_libs))
        undocumented = [s for s, _ in its_libs if s not in allowed]
        if undocumented:
            fail(f"{path} needs {undocumented}, which {doc_path} (and so the README) does not list")
        needed = glibc_needed(path)
        print(f"portable {name} needs glibc >= {needed[0]}.{needed[1]} "
              f"(documented minimum {min_glibc[0]}.{min_glibc[1]})")
        if needed > min_glibc:
            fail(f"{path} references GLIBC_{needed[0]}.{needed[1]}, newer than the documented "
                 f"minimum glibc {min_glibc[0]}.{min_glibc[1]} ({doc_path}, README)")

    root = tempfile.mkdtemp(prefix="agentrt-chroot-")
    proc_mounted = False
    try:
        make_root(root, binary, client if client_in_root else None, libs)
        # agentrt finds a request's processes through /proc; without it only process groups work.
        proc_mounted = subprocess.run(["mount", "-t", "proc", "proc", os.path.join(root, "proc")],
                                      capture_output=True).returncode == 0
        files = sorted(os.path.relpath(os.path.join(d, f), root)
                       for d, _, fs in os.walk(root) if not d.startswith(os.path.join(root, "proc"))
                       for f in fs)
        print(f"chroot {root} ({'with' if proc_mounted else 'without'} /proc):", " ".join(files))

        # The client inside the root too, when it is portable: it must need nothing else either.
        client_argv = ["chroot", root, "/usr/local/bin/agentrt-client"] if client_in_root \
            else [client]
        with Runtime(["chroot", root, "/usr/local/bin/agentrt"], ["--workdir", "/work"]) as rt:
            print(f"started and answered /health in {rt.started_in * 1000:.1f} ms")
            marker = "hello-from-the-chroot"
            r = run(client_argv + ["exec", rt.url, "--cwd", "/work", "--",
                                   f"echo {marker}", "echo /*", "test ! -e /etc/os-release"])
            if r.returncode != 0:
                fail(f"agentrt-client exec exited {r.returncode}; runtime log:\n{rt.log_text()}")
            if marker not in r.stdout:
                fail("the command's output did not come back over the WebSocket")
            listing = set(r.stdout.split())
            # /bin/sh is the only program in the root, so the listing is the shell's glob.
            for expected in ("/bin", "/usr", "/work"):
                if expected not in listing:
                    fail(f"`echo /*` inside the chroot lacks {expected}: {r.stdout!r}")
            r = run(client_argv + ["exec", rt.url, "--download", "file:///srv/repo.tar.gz=/work/dl", "--",
                     "while read -r line; do echo \"$line\"; done < /work/dl/repo/README"])
            if r.returncode != 0 or "unpacked inside the chroot" not in r.stdout:
                fail(f"download + extraction inside the chroot failed; log:\n{rt.log_text()}")
            r = run(client_argv + ["exec", rt.url, "--", "exit 7"])
            if r.returncode != 7:
                fail(f"a failing command's exit code came back as {r.returncode}, expected 7")
            status = rt.stop()
            if status != 0:
                fail(f"agentrt exited {status} on SIGTERM; log:\n{rt.log_text()}")
        print("portable agentrt ran commands over WebSocket in a root with only the listed "
              f"libraries, driven by {'the portable agentrt-client in the same root' if client_in_root else client}")
    finally:
        if proc_mounted:
            subprocess.run(["umount", "-l", os.path.join(root, "proc")])
        with contextlib.suppress(OSError):
            shutil.rmtree(root)


if __name__ == "__main__":
    main()
