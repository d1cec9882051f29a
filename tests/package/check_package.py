"""The client library as an installed package, used the way a user's project uses it:

1. a client-only configuration of agentrt (-DAGENTRT_BUILD_RUNTIME=OFF, with libcurl and
   libarchive made unfindable) configures and generates, without tests;
2. this build's `development` and `client` install components (what libagentrt-client-dev and
   agentrt-client hold) installed into a fresh prefix hold the libraries, the CMake package and
   the pkg-config file, and their headers include nothing third-party;
3. tests/package/consumer builds against that prefix through find_package(agentrt 0.2), and
   asking for 0.1, 0.3 or 1.0 fails;
4. the same program builds with nothing but `c++ $(pkg-config --cflags --libs agentrt-client)`;
5. the samples (samples/CMakeLists.txt, a project of their own) build against the prefix;
6. agentrt as a subproject (add_subdirectory) defines no tests, samples or install rules;

and the programs of 3, 4 and 5 run commands on a real agentrt over a WebSocket session.

    check_package.py --source=DIR --build=DIR --work=DIR --agentrt=BINARY --version=X.Y.Z
                     --cmake=CMAKE --generator=G --cxx=COMPILER [--launcher=CCACHE]
                     [--sanitize=KIND]

Nothing of agentrt is compiled again (a second build of the client would not hit ccache: the
debug info names the build directory). Skipped (exit 77) in sanitizer builds: an installed
sanitized static library cannot be linked by an ordinary program, and pass 1 checks the package.
"""
import argparse
import glob
import os
import re
import shutil
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "images"))
from agentrt_fixture import Runtime, fail, run, skip  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CONSUMER = os.path.join(HERE, "consumer")


def parse_args():
    p = argparse.ArgumentParser()
    for name in ("source", "build", "work", "agentrt", "version", "cmake", "generator", "cxx"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--launcher", default="")
    p.add_argument("--sanitize", default="none")
    return p.parse_args()


def checked(argv, what, timeout=900, **kw):
    r = run(argv, timeout=timeout, **kw)
    if r.returncode != 0:
        fail(f"{what}: `{' '.join(argv)}` exited {r.returncode}")
    return r


def fresh(path):
    shutil.rmtree(path, ignore_errors=True)
    return path


def figure(what, seconds):
    print(f"[ figures  ] {what}: {seconds:.1f} s", flush=True)


STD_HEADER = re.compile(r"^[a-z_0-9]+$")  # <string>, <system_error>: no directory, no suffix


def check_installed_tree(prefix):
    """Returns the libdir; fails on anything missing, misplaced or third-party."""
    pcs = glob.glob(os.path.join(prefix, "**", "agentrt-client.pc"), recursive=True)
    if len(pcs) != 1:
        fail(f"installed tree: expected one agentrt-client.pc, found {pcs}")
    libdir = os.path.dirname(os.path.dirname(pcs[0]))
    for name in ("libagentrt_client.a", "libagentrt_protocol.a", "cmake/agentrt/agentrtConfig.cmake",
                 "cmake/agentrt/agentrtConfigVersion.cmake", "cmake/agentrt/agentrtTargets.cmake",
                 "pkgconfig/agentrt-client.pc"):
        if not os.path.isfile(os.path.join(libdir, name)):
            fail(f"installed tree: {libdir}/{name} is missing")
    if not os.access(os.path.join(prefix, "bin", "agentrt-client"), os.X_OK):
        fail("installed tree: bin/agentrt-client is missing")
    if os.path.exists(os.path.join(prefix, "bin", "agentrt")):
        fail("the client and development components installed the runtime")

    include = os.path.join(prefix, "include")
    headers = sorted(glob.glob(os.path.join(include, "**", "*.hpp"), recursive=True))
    names = {os.path.relpath(h, include) for h in headers}
    for needed in ("agentrt/client/client.hpp", "agentrt/protocol/messages.hpp"):
        if needed not in names:
            fail(f"installed tree: include/{needed} is missing")
    if "agentrt/protocol/websocket_utf8.hpp" in names:
        fail("the internal websocket_utf8.hpp (it includes websocketpp) is installed")
    for h in headers:
        with open(h) as f:
            for line in f:
                m = re.match(r'\s*#\s*include\s*([<"])([^>"]+)[>"]', line)
                if not m:
                    continue
                target = m.group(2)
                if target.startswith("agentrt/"):
                    if target not in names:
                        fail(f"{h} includes {target}, which is not installed")
                elif m.group(1) == '"' or not STD_HEADER.match(target):
                    fail(f"installed header {os.path.relpath(h, include)} includes "
                         f"{m.group(1)}{target}: not a standard header")
    print(f"ok: installed tree ({len(headers)} headers, standard library includes only; "
          f"libraries, CMake package and .pc in {os.path.relpath(libdir, prefix)})")
    return libdir


def run_against(rt, argv, marker, what):
    """Runs argv (which echoes marker through the runtime); fails unless the marker came back."""
    r = run(argv)
    if r.returncode != 0 or marker not in r.stdout:
        fail(f"{what} did not run its command on the runtime; log:\n{rt.log_text()}")
    print(f"ok: {what} ran a command on agentrt")
    return r


def main():
    a = parse_args()
    if a.sanitize not in ("none", "", "OFF"):
        skip(f"sanitizer build ({a.sanitize}): an installed sanitized static library is not "
             "what users link; pass 1 (RelWithDebInfo) checks the package")
    for tool in ("pkg-config",):
        if not shutil.which(tool):
            skip(f"{tool} not found (install-deps.sh build installs it)")
    os.makedirs(a.work, exist_ok=True)
    jobs = os.environ.get("AGENTRT_JOBS", str(os.cpu_count() or 2))
    base = [a.cmake, "-G", a.generator, f"-DCMAKE_CXX_COMPILER={a.cxx}"]
    # The consumers' own sources through ccache too (no debug info: a rerun hits the cache).
    users = base + ([f"-DCMAKE_CXX_COMPILER_LAUNCHER={a.launcher}"] if a.launcher else [])

    # 1. Client-only: configure and generate with libcurl and libarchive unfindable.
    t0 = time.perf_counter()
    client_only = fresh(os.path.join(a.work, "client-only"))
    r = checked(base + ["-S", a.source, "-B", client_only, "-DAGENTRT_BUILD_RUNTIME=OFF",
                        "-DAGENTRT_BUILD_SAMPLES=OFF",
                        "-DCMAKE_DISABLE_FIND_PACKAGE_CURL=ON",
                        "-DCMAKE_DISABLE_FIND_PACKAGE_LibArchive=ON"],
                "configuring a client-only build without libcurl and libarchive")
    # CMake lists the variables nothing read: no find_package(CURL/LibArchive) ran at all.
    unused = (r.stdout + r.stderr).split("were not used by the project", 1)
    if len(unused) != 2 or "CMAKE_DISABLE_FIND_PACKAGE_CURL" not in unused[1] \
            or "CMAKE_DISABLE_FIND_PACKAGE_LibArchive" not in unused[1]:
        fail("the client-only configuration looked for libcurl or libarchive")
    for subdir in ("runtime", "tests"):
        if os.path.exists(os.path.join(client_only, subdir)):
            fail(f"a client-only build configured {subdir}/ (the tests need the runtime)")
    shutil.rmtree(client_only, ignore_errors=True)
    figure("client-only configure", time.perf_counter() - t0)
    print("ok: a client-only build configures without libcurl and libarchive, without tests")

    # Install what libagentrt-client-dev and agentrt-client hold, under a prefix of our own:
    # the package must be relocatable.
    prefix = fresh(os.path.join(a.work, "prefix"))
    for component in ("development", "client"):
        checked([a.cmake, "--install", a.build, "--prefix", prefix, "--component", component],
                f"installing the {component} component")

    # 2. What was installed.
    libdir = check_installed_tree(prefix)

    # 3. find_package, as the README shows it; incompatible versions refused.
    t0 = time.perf_counter()
    cmake_consumer = fresh(os.path.join(a.work, "consumer-cmake"))
    checked(users + ["-S", CONSUMER, "-B", cmake_consumer, f"-DCMAKE_PREFIX_PATH={prefix}"],
            "configuring the consumer with find_package(agentrt 0.2)")
    checked([a.cmake, "--build", cmake_consumer], "building the find_package consumer")
    figure("find_package consumer configure + build", time.perf_counter() - t0)
    for wrong in ("0.1", "0.3", "1.0"):
        d = fresh(os.path.join(a.work, f"consumer-{wrong}"))
        r = run(base + ["-S", CONSUMER, "-B", d, f"-DCMAKE_PREFIX_PATH={prefix}",
                        f"-DAGENTRT_REQUIRED_VERSION={wrong}"])
        if r.returncode == 0 or "version" not in (r.stdout + r.stderr).lower():
            fail(f"find_package(agentrt {wrong}) accepted agentrt {a.version}")
        print(f"ok: find_package(agentrt {wrong}) refuses {a.version}")
        shutil.rmtree(d, ignore_errors=True)

    # 4. pkg-config and a bare compiler command.
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(libdir, "pkgconfig"))
    r = checked(["pkg-config", "--modversion", "agentrt-client"], "pkg-config --modversion", env=env)
    if r.stdout.strip() != a.version:
        fail(f"agentrt-client.pc says version {r.stdout.strip()}, the project is {a.version}")
    flags = checked(["pkg-config", "--cflags", "--libs", "agentrt-client"], "pkg-config --libs",
                    env=env).stdout.split()
    pc_consumer = os.path.join(a.work, "consumer-pkgconfig")
    t0 = time.perf_counter()
    checked([a.cxx, "-std=c++17", "-O1", os.path.join(CONSUMER, "main.cpp"), "-o", pc_consumer]
            + flags, "compiling the consumer with pkg-config's flags")
    figure("pkg-config consumer compile + link", time.perf_counter() - t0)

    # 5. The samples, as a project of their own.
    t0 = time.perf_counter()
    samples = fresh(os.path.join(a.work, "samples"))
    checked(users + ["-S", os.path.join(a.source, "samples"), "-B", samples,
                    f"-DCMAKE_PREFIX_PATH={prefix}", "-DCMAKE_BUILD_TYPE=Release"],
            "configuring samples/ against the installed package")
    checked([a.cmake, "--build", samples, "-j", jobs], "building samples/ against the package")
    figure("samples configure + build against the package", time.perf_counter() - t0)

    # 6. agentrt as a subproject: configure only (the consumer's CMakeLists asserts).
    sub = fresh(os.path.join(a.work, "consumer-subproject"))
    r = checked(base + ["-S", CONSUMER, "-B", sub, f"-DCONSUMER_AGENTRT_SOURCE_DIR={a.source}",
                        "-DAGENTRT_BUILD_RUNTIME=OFF"],
                "configuring a project that adds agentrt with add_subdirectory")
    if "no tests, no samples, no install rules" not in r.stdout:
        fail("the subproject consumer did not report its checks")
    shutil.rmtree(sub, ignore_errors=True)

    # The three programs against a real runtime.
    with Runtime([a.agentrt]) as rt:
        for program, what in ((os.path.join(cmake_consumer, "consumer"), "find_package consumer"),
                              (pc_consumer, "pkg-config consumer")):
            marker = f"from-the-{what.split()[0]}-consumer"
            r = run_against(rt, [program, rt.url, marker], marker, what)
            if f"agentrt client {a.version}" not in r.stdout:
                fail(f"{what}: agentrt::client::version() is not {a.version}")
        marker = "from-the-packaged-samples"
        run_against(rt, [os.path.join(samples, "commands_sample"), rt.url, "--", f"echo {marker}"],
                    marker, "samples' commands_sample")
    print(f"the installed agentrt {a.version} package builds and runs users' programs")


if __name__ == "__main__":
    main()
