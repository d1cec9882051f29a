"""Every shared library agentrt needs is provided by a package that `install-deps.sh runtime`
installs, the package step of every deploy recipe:

- each library ldd resolves comes from a package in the runtime list or in its
  Depends/Pre-Depends closure (what apt installs along with it), as recorded by this machine's dpkg;
- for the normal build, each of the binary's own NEEDED libraries comes from a package named in
  the runtime list itself.

    check_runtime_packages.py [--release] AGENTRT_BINARY INSTALL_DEPS_SH

--release: the binary is the one the release tarball ships, the portable build
(-DAGENTRT_PORTABLE=ON), which is what the images install; the few libraries it still loads
(portable-dynamic-libs.txt) come with the runtime list's dependencies. Without a portable binary
the check skips and says so.
"""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agentrt_fixture import fail, skip  # noqa: E402


def ldd_paths(binary):
    """soname -> resolved path for every library ldd lists."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    libs = {}
    for line in out.splitlines():
        m = re.match(r"\s*(\S+) => (\S+) \(0x", line)
        if m:
            libs[m.group(1)] = m.group(2)
        elif "not found" in line:
            fail(f"ldd cannot resolve {line.strip()}")
        else:
            m = re.match(r"\s*(/\S+) \(0x", line)  # the dynamic loader
            if m:
                libs[os.path.basename(m.group(1))] = m.group(1)
    return libs


def needed(binary):
    out = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True,
                         check=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^]]+)\]", out)


def owning_packages(paths):
    """path -> the package that installed it (or None); tries the /usr-merged spellings too.
    One dpkg-query call for everything: it is slow to start."""
    spellings = {}
    for path in paths:
        real = os.path.realpath(path)
        spellings[path] = list(dict.fromkeys(
            s for p in (path, real)
            for s in (p, re.sub(r"^/usr/lib/", "/lib/", p), re.sub(r"^/lib/", "/usr/lib/", p))))
    everything = sorted({s for ss in spellings.values() for s in ss})
    out = subprocess.run(["dpkg-query", "-S", *everything], capture_output=True, text=True).stdout
    owner = {}
    for line in out.splitlines():
        pkgs, _, file = line.partition(": ")
        owner.setdefault(file.strip(), pkgs.split(",")[0].split(":")[0].strip())
    return {path: next((owner[s] for s in ss if s in owner), None)
            for path, ss in spellings.items()}


def installed_packages():
    """name -> (depends field, provides field) for every installed package."""
    out = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Package}\t${Status}\t${Pre-Depends}, ${Depends}\t${Provides}\n"],
        capture_output=True, text=True, check=True).stdout
    pkgs = {}
    for line in out.splitlines():
        name, status, deps, provides = (line.split("\t") + ["", "", ""])[:4]
        if status.endswith(" installed"):
            pkgs[name] = (deps, provides)
    return pkgs


def dependency_closure(roots, pkgs):
    """roots plus everything their Pre-Depends/Depends pull in, following the alternative that is
    installed (and virtual packages through Provides)."""
    providers = {}
    for name, (_, provides) in pkgs.items():
        for p in provides.split(","):
            p = p.strip().split(" ")[0]
            if p:
                providers.setdefault(p, []).append(name)
    closure, queue = set(), list(roots)
    while queue:
        name = queue.pop()
        if name in closure or name not in pkgs:
            continue
        closure.add(name)
        for group in pkgs[name][0].split(","):
            for alternative in group.split("|"):
                dep = alternative.strip().split(" ")[0].split(":")[0]
                if not dep:
                    continue
                chosen = [dep] if dep in pkgs else [p for p in providers.get(dep, []) if p in pkgs]
                if chosen:
                    queue.extend(chosen)
                    break
    return closure


def main():
    args = sys.argv[1:]
    release = bool(args) and args[0] == "--release"
    if release:
        args = args[1:]
    if len(args) != 2:
        fail(__doc__)
    binary, install_deps = args
    for tool in ("ldd", "readelf", "dpkg-query", "bash"):
        if not shutil.which(tool):
            skip(f"{tool} not found (this check needs a Debian system)")
    direct = needed(binary)
    if any(n.startswith(("libasan", "libubsan", "libtsan")) for n in direct):
        skip(f"{binary} is a sanitizer build, which no image ships")
    portable = not any(n.startswith("libstdc++") for n in direct)
    if release and not portable:
        skip(f"{binary} is not a portable build: configure with -DAGENTRT_PORTABLE=ON to check "
             "the binary of the release tarball, which the images install")
    if portable and not release:
        skip(f"{binary} is a portable build; images.runtime_packages_release checks it")
    runtime = subprocess.run(["bash", install_deps, "--list", "runtime"], capture_output=True,
                             text=True, check=True).stdout.split()
    if not runtime:
        fail("install-deps.sh --list runtime printed no packages")
    pkgs = installed_packages()
    missing_roots = [p for p in runtime if p not in pkgs]
    if missing_roots:
        skip(f"runtime packages not installed here, so their closure is unknown: {missing_roots}")
    closure = dependency_closure(runtime, pkgs)
    libs = ldd_paths(binary)
    print(f"runtime list: {' '.join(runtime)} ({len(closure)} packages with their dependencies)")

    problems = []
    owners = owning_packages(libs.values())
    for soname, path in sorted(libs.items()):
        pkg = owners[path]
        is_direct = soname in direct
        where = ("listed" if pkg in runtime else "dependency" if pkg in closure else "MISSING")
        print(f"  {soname:28} {path:45} {pkg or '?':20} {'NEEDED ' if is_direct else ''}{where}")
        if pkg is None:
            problems.append(f"{path}: no package owns it")
        elif is_direct and not portable and pkg not in runtime:
            problems.append(f"{soname} is NEEDED by the binary but its package {pkg} is not in the "
                            "runtime list")
        elif pkg not in closure:
            problems.append(f"{soname}: package {pkg} is not installed by the runtime profile")
    for soname in direct:
        if soname not in libs:
            problems.append(f"NEEDED {soname} does not appear in ldd's output")
    if problems:
        fail("\n".join(problems))
    what = "the release (portable) binary's" if portable else "the normal build's"
    print(f"{what} {len(libs)} libraries, {len(direct)} NEEDED directly: all provided by the "
          "runtime profile")


if __name__ == "__main__":
    main()
