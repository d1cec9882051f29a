"""The release artifacts (packaging/release.sh) do what the README says:

1. release.sh makes agentrt-VERSION-linux-ARCH.tar.gz, the three .deb files and SHA256SUMS, and
   the sums check;
2. the tarball holds the stripped portable agentrt and agentrt-client, which run in a bare
   chroot holding only the libraries portable-dynamic-libs.txt lists
   (tests/images/check_portable_chroot.py on the tarball's files);
3. the .debs install with apt into a clean Debian 12 root made by debootstrap
   (--variant=minbase), apt resolving their Depends from Debian's mirror; there agentrt serves
   a session that the packaged agentrt-client drives, and libagentrt-client-dev holds the
   client's headers and no internal one;
4. (--dev-build, the expensive part: a toolchain in the root) a program built against
   libagentrt-client-dev, through find_package and through pkg-config, runs a command on the
   packaged agentrt.

    check_release.py --source=DIR --work=DIR (--build=DIR | --dist=DIR) [--dev-build]
                     [--sanitize=KIND]
    check_release.py --prepare-root        (only make the cached debootstrap root, if missing)

--build packs the artifacts from an existing build tree (configured with -DAGENTRT_PORTABLE=ON:
`release.sh --from-build`, no compiling); --dist checks artifacts release.sh already made.

The debootstrap root is made once and kept, with apt's downloaded packages, in
AGENTRT_RELEASE_CACHE (default ~/.cache/agentrt-release): each run mounts an overlay on it (or
copies it) instead of downloading Debian again (tests/run.sh makes it with --prepare-root while the first build
compiles, so a cold cache costs CI little). Needs root (chroot, mount) and debootstrap
(`install-deps.sh release`); skips with a message otherwise.
"""
import argparse
import contextlib
import fcntl
import glob
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "images"))
from agentrt_fixture import Runtime, fail, run, skip  # noqa: E402

SUITE = "bookworm"
CHROOT_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
              "HOME": "/root", "LC_ALL": "C", "DEBIAN_FRONTEND": "noninteractive"}


def checked(argv, what, timeout=900, **kw):
    r = run(argv, timeout=timeout, **kw)
    if r.returncode != 0:
        fail(f"{what}: exited {r.returncode}")
    return r


def figure(what, seconds):
    print(f"[ figures  ] {what}: {seconds:.1f} s", flush=True)


def debian_mirror():
    """The Debian mirror apt on this machine uses (the only one reachable from the build
    machines), from /etc/apt/sources.list and sources.list.d (one-line and deb822 formats)."""
    files = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*"))
    for path in files:
        with contextlib.suppress(OSError):
            text = open(path).read()
            for uri in re.findall(r"^\s*deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+" + SUITE + r"\s", text,
                                  re.M) + re.findall(r"^URIs:\s*(\S+)", text, re.M):
                if not uri.rstrip("/").endswith("-security"):
                    return uri
    return "http://deb.debian.org/debian"


class Chroot:
    """A fresh Debian 12 root over the cached debootstrap root (an overlay mount: the cached root
    is never written, each run's changes go to a directory of its own; where overlayfs cannot be
    mounted, a copy), with /proc, a resolver configuration and apt's package cache mounted;
    everything is unmounted on exit."""

    def __init__(self, root, cache_dir):
        self.root = root
        self.cache_dir = cache_dir
        self.mounts = []

    def path(self, p):
        return os.path.join(self.root, p.lstrip("/"))

    def cached_root(self):
        return os.path.join(self.cache_dir, f"debian12-{SUITE}-minbase")

    def prepare(self):
        """Makes the cached root unless it exists; a second run at the same time waits for the
        first (a lock file), so tests/run.sh's early --prepare-root and the test never both
        debootstrap."""
        os.makedirs(self.cache_dir, exist_ok=True)
        with open(os.path.join(self.cache_dir, "lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not os.path.isdir(self.cached_root()):
                self._debootstrap(self.cached_root())

    def __enter__(self):
        self.prepare()
        t0 = time.perf_counter()
        self._remove_root()
        os.makedirs(self.root)
        layers = self.root + ".overlay"
        os.makedirs(os.path.join(layers, "upper"))
        os.makedirs(os.path.join(layers, "work"))
        options = (f"lowerdir={self.cached_root()},upperdir={layers}/upper,"
                   f"workdir={layers}/work")
        if subprocess.run(["mount", "-t", "overlay", "overlay", "-o", options, self.root],
                          capture_output=True).returncode == 0:
            self.mounts.append(self.root)
            how = "an overlay on the cached debootstrap root"
        else:
            checked(["cp", "-a", self.cached_root() + "/.", self.root], "copying the cached root")
            how = "a copy of the cached debootstrap root (overlayfs not mountable here)"
        figure(how, time.perf_counter() - t0)
        shutil.copy("/etc/resolv.conf", self.path("/etc/resolv.conf"))
        self._mount(["-t", "proc", "proc"], "/proc")
        archives = os.path.join(self.cache_dir, "apt-archives")
        os.makedirs(os.path.join(archives, "partial"), exist_ok=True)
        self._mount(["--bind", archives], "/var/cache/apt/archives")
        return self

    def __exit__(self, *exc):
        for target in reversed(self.mounts):
            subprocess.run(["umount", "-l", target])
        self.mounts = []
        self._remove_root()

    def _remove_root(self):
        """Deletes the root and its overlay layers, after unmounting whatever is still mounted
        there (a run killed by CTest's timeout leaves the overlay, /proc and the apt cache
        mounted): never deletes through a mount, least of all into the cached root."""
        root = os.path.realpath(self.root)

        def mounted():
            with open("/proc/mounts") as f:
                return [line.split()[1] for line in f
                        if line.split()[1] == root or line.split()[1].startswith(root + "/")]
        for target in sorted(mounted(), key=len, reverse=True):
            subprocess.run(["umount", "-l", target])
        if mounted():
            fail(f"cannot unmount everything below {self.root}; not deleting it")
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.rmtree(self.root + ".overlay", ignore_errors=True)

    def _mount(self, args, where):
        target = self.path(where)
        os.makedirs(target, exist_ok=True)
        checked(["mount"] + args + [target], f"mounting {where} in the chroot")
        self.mounts.append(target)

    def _debootstrap(self, cached_root):
        staging = cached_root + ".tmp"
        shutil.rmtree(staging, ignore_errors=True)
        mirror = debian_mirror()
        t0 = time.perf_counter()
        checked(["debootstrap", "--variant=minbase", SUITE, staging, mirror],
                f"debootstrap --variant=minbase {SUITE} from {mirror}", timeout=1800)
        figure(f"debootstrap --variant=minbase {SUITE} (first run; cached afterwards)",
               time.perf_counter() - t0)
        # Without its downloaded .debs: apt's cache is kept apart, in apt-archives/.
        for deb in glob.glob(os.path.join(staging, "var/cache/apt/archives/*.deb")):
            os.unlink(deb)
        os.replace(staging, cached_root)

    def run(self, command, what, timeout=900, check=True):
        argv = ["chroot", self.root, "/bin/sh", "-c", command]
        r = run(argv, timeout=timeout, env=CHROOT_ENV)
        if check and r.returncode != 0:
            fail(f"{what}: exited {r.returncode}")
        return r


def make_artifacts(args, dist):
    if args.dist:
        return args.dist
    t0 = time.perf_counter()
    checked(["bash", os.path.join(args.source, "packaging", "release.sh"), "--no-deps",
             "--from-build", args.build, "--out", dist], "packaging/release.sh")
    figure("release.sh --from-build (tarball, .debs, sums)", time.perf_counter() - t0)
    return dist


def check_sums_and_names(dist):
    sums = os.path.join(dist, "SHA256SUMS")
    if not os.path.isfile(sums):
        fail(f"{dist} has no SHA256SUMS")
    checked(["sha256sum", "-c", "SHA256SUMS"], "sha256sum -c SHA256SUMS", cwd=dist)
    listed = {line.split()[1].lstrip("*") for line in open(sums) if line.strip()}
    tarballs = [f for f in listed if re.fullmatch(r"agentrt-\d+\.\d+\.\d+-linux-x86_64\.tar\.gz", f)]
    if len(tarballs) != 1:
        fail(f"SHA256SUMS lists {sorted(listed)}: expected one agentrt-VERSION-linux-x86_64.tar.gz")
    version = re.match(r"agentrt-(\d+\.\d+\.\d+)-", tarballs[0]).group(1)
    debs = {}
    for package in ("agentrt", "agentrt-client", "libagentrt-client-dev"):
        name = f"{package}_{version}-1_amd64.deb"
        if name not in listed:
            fail(f"SHA256SUMS lacks {name}: {sorted(listed)}")
        debs[package] = os.path.join(dist, name)
    print(f"ok: {tarballs[0]}, {len(debs)} .debs, SHA256SUMS checks")
    return version, os.path.join(dist, tarballs[0]), debs


def check_tarball(source, tarball, version, work):
    top = f"agentrt-{version}-linux-x86_64"
    unpacked = os.path.join(work, "tarball")
    shutil.rmtree(unpacked, ignore_errors=True)
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
        if any(not (n == top or n.startswith(top + "/")) for n in names):
            fail(f"{tarball}: entries outside {top}/: {names}")
        tar.extractall(unpacked)
    base = os.path.join(unpacked, top)
    binaries = [os.path.join(base, "bin", b) for b in ("agentrt", "agentrt-client")]
    for b in binaries:
        sections = subprocess.run(["readelf", "-S", b], capture_output=True, text=True).stdout
        if ".symtab" in sections or ".debug_" in sections:
            fail(f"{b} is not stripped")
        dyn = subprocess.run(["readelf", "-d", b], capture_output=True, text=True).stdout
        if "libstdc++" in dyn or "libssl" in dyn:
            fail(f"{b} is not the portable build:\n{dyn}")
    r = checked([binaries[0], "--version"], "the tarball's agentrt --version")
    if version not in r.stdout + r.stderr:
        fail(f"the tarball's agentrt does not say {version}")
    print(f"ok: {os.path.basename(tarball)} holds the stripped portable binaries "
          f"({', '.join(f'{os.path.basename(b)} {os.path.getsize(b) / 1e6:.1f} MB' for b in binaries)})")
    # The same check as the build's portable binaries get, on the files that ship.
    t0 = time.perf_counter()
    checked([sys.executable, os.path.join(source, "tests", "images", "check_portable_chroot.py")]
            + binaries + [os.path.join(base, "portable-dynamic-libs.txt")],
            "the tarball's binaries in a bare chroot")
    figure("tarball binaries in a bare chroot", time.perf_counter() - t0)


def check_debs(debs, version, work, cache_dir, dev_build):
    with Chroot(os.path.join(work, "debian12"), cache_dir) as ch:
        os.makedirs(ch.path("/tmp/debs"), exist_ok=True)
        for deb in debs.values():
            shutil.copy(deb, ch.path("/tmp/debs"))
        t0 = time.perf_counter()
        ch.run("apt-get update -qq", "apt-get update in the chroot", timeout=600)
        ch.run("apt-get install -y -qq --no-install-recommends "
               + " ".join(f"/tmp/debs/{os.path.basename(d)}" for d in debs.values()),
               "apt-get install of the three .debs", timeout=900)
        figure("apt-get update + install of the .debs (dependencies from the mirror)",
               time.perf_counter() - t0)
        for package in debs:
            r = ch.run(f"dpkg-query -W -f='${{Version}} ${{Depends}}' {package}",
                       f"dpkg-query {package}")
            if not r.stdout.startswith(f"{version}-1"):
                fail(f"{package} is not installed at {version}-1")
        listing = ch.run("dpkg -L libagentrt-client-dev", "dpkg -L").stdout
        if "websocket_utf8" in listing or "agentrt/client/client.hpp" not in listing:
            fail("libagentrt-client-dev's file list is wrong")

        ch.run("mkdir -p /tmp/work", "mkdir")
        with Runtime(["chroot", ch.root, "/usr/bin/agentrt"], ["--workdir", "/tmp/work"],
                     env=CHROOT_ENV) as rt:
            marker = "from-the-packaged-client"
            r = ch.run(f"agentrt-client exec {rt.url} --cwd /tmp/work -- 'echo {marker}' "
                       "'cat /etc/debian_version'", "the packaged agentrt-client")
            if marker not in r.stdout:
                fail(f"agentrt-client's command output did not come back; log:\n{rt.log_text()}")
            print("ok: the packaged agentrt served the packaged agentrt-client in Debian 12")
            if dev_build:
                check_dev_package(ch, rt, version)
            else:
                print("not run: a program built against libagentrt-client-dev in the root (a "
                      "toolchain install, about 2 minutes; ctest -L debian-toolchain)")
            if rt.stop() != 0:
                fail(f"the packaged agentrt did not exit cleanly on SIGTERM; log:\n{rt.log_text()}")


def check_dev_package(ch, rt, version):
    # libagentrt-client-dev: a user's build, with the toolchain a user would install.
    t0 = time.perf_counter()
    ch.run("apt-get install -y -qq --no-install-recommends g++ cmake make pkg-config",
           "installing a toolchain in the chroot", timeout=900)
    figure("toolchain install in the chroot", time.perf_counter() - t0)
    shutil.copytree(os.path.join(HERE, "consumer"), ch.path("/tmp/consumer"))
    t0 = time.perf_counter()
    ch.run("cmake -S /tmp/consumer -B /tmp/consumer-build >/dev/null "
           "&& cmake --build /tmp/consumer-build",
           "find_package(agentrt 0.2) against libagentrt-client-dev")
    ch.run("c++ -std=c++17 -O1 /tmp/consumer/main.cpp "
           "$(pkg-config --cflags --libs agentrt-client) -o /tmp/consumer-pc",
           "pkg-config agentrt-client against libagentrt-client-dev")
    figure("consumer builds against libagentrt-client-dev", time.perf_counter() - t0)
    for program in ("/tmp/consumer-build/consumer", "/tmp/consumer-pc"):
        r = ch.run(f"{program} {rt.url} built-with-the-dev-package", program)
        if "built-with-the-dev-package" not in r.stdout or \
                f"agentrt client {version}" not in r.stdout:
            fail(f"{program} did not run its command; log:\n{rt.log_text()}")
    print("ok: programs built against libagentrt-client-dev ran a command on agentrt")


def cache_dir():
    return os.environ.get("AGENTRT_RELEASE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "agentrt-release")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--source")
    p.add_argument("--work")
    p.add_argument("--build")
    p.add_argument("--dist")
    p.add_argument("--dev-build", action="store_true")
    p.add_argument("--prepare-root", action="store_true")
    p.add_argument("--sanitize", default="none")
    args = p.parse_args()
    if args.prepare_root:
        if os.geteuid() != 0 or not shutil.which("debootstrap"):
            print("check_release.py --prepare-root: needs root and debootstrap; nothing done")
            return
        Chroot(None, cache_dir()).prepare()
        return
    if not args.source or not args.work or bool(args.build) == bool(args.dist):
        fail("give --source, --work and exactly one of --build and --dist")
    if args.sanitize not in ("none", "", "OFF"):
        skip(f"sanitizer build ({args.sanitize}): release artifacts come from a normal build")
    if os.geteuid() != 0:
        skip("needs root (chroot, mount)")
    for tool in ("debootstrap", "chroot", "mount", "readelf", "sha256sum", "dpkg-shlibdeps"):
        if not shutil.which(tool):
            skip(f"{tool} not found: `bash sandbox-images/install-deps.sh release` installs it")
    if args.build and not glob.glob(os.path.join(args.build, "runtime", "agentrt-portable")):
        skip(f"{args.build} has no agentrt-portable (configure with -DAGENTRT_PORTABLE=ON)")
    if args.dist and not os.path.isfile(os.path.join(args.dist, "SHA256SUMS")):
        skip(f"{args.dist} holds no release (release.artifacts, which makes it, did not run)")
    os.makedirs(args.work, exist_ok=True)

    t_all = time.perf_counter()
    dist = make_artifacts(args, os.path.join(args.work, "dist"))
    version, tarball, debs = check_sums_and_names(dist)
    if not args.dev_build:  # the --dev-build run follows one that checked the tarball
        check_tarball(args.source, tarball, version, args.work)
    check_debs(debs, version, args.work, cache_dir(), args.dev_build)
    figure("release check in all", time.perf_counter() - t_all)
    print(f"agentrt {version}: tarball and .debs checked")


if __name__ == "__main__":
    main()
