"""The deploy recipes install agentrt from the release tarball (no compiler in any image), install
packages only through the shared scripts CI runs, pin their base images, and agree with each
other and with CMakeLists.txt. No Docker engine or platform account is needed: the Dockerfiles
and the Kubernetes/CI files are read as text, and the Modal and Daytona image definitions run
with stand-ins for the `modal` and `daytona` packages that record every builder call
(tests/images/check_recipes_npm.py runs the E2B template with its SDK and type-checks the rest).

    check_install_steps.py REPO_ROOT [AGENTRT_BINARY]

(AGENTRT_BINARY: for systemd-analyze and for recipe_util.wait_healthy against a real /health.)

Checked:
- tests/run.sh (what CI runs) installs with sandbox-images/install-deps.sh, and
  tests/harness/install-clis.sh takes its pins from sandbox-images/harness-clis.sh;
- no recipe compiles anything (cmake, make, a compiler, install-deps.sh build/portable/test, a
  copy of the source tree) and every one installs the binaries with install-release.sh from
  dist/agentrt-<version>-linux-x86_64.tar.gz, <version> being CMakeLists.txt's;
- packages come from install-deps.sh runtime, harness CLIs from harness-clis.sh; the only other
  apt-get install is of tools for agents (git, everywhere; curl where E2B's ready check needs it);
- every base image is pinned by digest, and the recipes use the same pins;
- the Docker final stage: OCI labels, non-root USER, EXPOSE 8080, a HEALTHCHECK that runs
  healthcheck.sh, an exec-form ENTRYPOINT that starts agentrt (PID 1); its .dockerignore lets
  through exactly what the build reads;
- E2B: e2b.Dockerfile uses only what E2B's V2 builder converts (one stage, no quoted ARG values),
  template.ts sets a start command with a /health ready check; the retired V1 files and command
  are gone;
- the images, image tags and versions named by docker-compose, Kubernetes and the CI samples agree;
- shellcheck finds nothing in install-release.sh and fan-out.sh, where shellcheck exists;
- the systemd unit passes `systemd-analyze verify` (with ExecStart pointed at the built binary),
  where systemd-analyze exists.
"""
import fnmatch
import importlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import types

# The recipes are imported below; leave no __pycache__ in the source tree.
sys.dont_write_bytecode = True

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agentrt_fixture import Checks, Runtime, fail  # noqa: E402

FORBIDDEN = re.compile(r"\b(npm\s+(install|i|ci)\b|pip3?\s+install|curl\b[^|]*\|\s*(ba)?sh)")
APT_INSTALL = re.compile(r"\bapt(?:-get)?\s+install\b([^;&|]*)")
COMPILE = re.compile(r"\b(cmake|make|g\+\+|gcc|clang\+?\+?|cc)\b(?!-)"
                     r"|install-deps\.sh\s+(build|test|portable)")
# Tools for the agents in the sandbox, not dependencies of agentrt.
AGENT_TOOLS = {"git", "curl"}
PINNED = re.compile(r"^[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}$")
TARBALL = "dist/agentrt-{}-linux-x86_64.tar.gz"
OCI_LABELS = ("title", "description", "version", "revision", "source", "created", "base.name")


def instructions(path):
    """Dockerfile instructions as (KEYWORD, text, stage index), continuation lines joined."""
    result, stage, pending = [], -1, ""
    with open(path) as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if pending and line.lstrip().startswith("#"):
                continue
            pending += line.rstrip("\\").strip() + " "
            if line.endswith("\\"):
                continue
            keyword, _, rest = pending.strip().partition(" ")
            keyword = keyword.upper()
            if keyword == "FROM":
                stage += 1
            result.append((keyword, rest.strip(), stage))
            pending = ""
    return result


def arg_defaults(instrs, stage=None):
    """NAME -> default of the ARGs before the first FROM (stage None) or in one stage."""
    defaults = {}
    for keyword, text, s in instrs:
        if keyword == "ARG" and s == (-1 if stage is None else stage) and "=" in text:
            name, _, value = text.partition("=")
            defaults[name] = value.strip().strip('"')
    return defaults


def expand(text, variables):
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: variables.get(m.group(1) or m.group(2),
                                                                   m.group(0)), text)


class Checker(Checks):
    def __init__(self, root):
        super().__init__()
        self.root = root
        cmake = self.read("CMakeLists.txt")
        m = re.search(r"project\(agentrt\s+VERSION\s+([0-9][^\s)]*)", cmake)
        if not m:
            fail("CMakeLists.txt has no project(agentrt VERSION ...)")
        self.version = m.group(1)
        self.tarball = TARBALL.format(self.version)
        self.pins = {}  # recipe -> base image reference

    def read(self, rel):
        with open(os.path.join(self.root, rel)) as f:
            return f.read()

    def check_commands(self, where, commands, needs_tools=("git",)):
        """No compile step, no package manager besides the scripts and the agents' tools."""
        installed_tools = set()
        for c in commands:
            self.expect(not FORBIDDEN.search(c),
                        f"{where}: installs only through the scripts: {c[:80]}")
            self.expect(not COMPILE.search(c), f"{where}: compiles nothing: {c[:80]}")
            for m in APT_INSTALL.finditer(c):
                packages = {w for w in shlex.split(m.group(1)) if not w.startswith("-")}
                self.expect(packages <= AGENT_TOOLS,
                            f"{where}: apt-get installs only agent tools {sorted(AGENT_TOOLS)} "
                            f"besides install-deps.sh: {sorted(packages)}")
                installed_tools |= packages
        joined = " ".join(commands)
        self.expect("install-deps.sh runtime" in joined, f"{where}: runs install-deps.sh runtime")
        for tool in needs_tools:
            self.expect(tool in installed_tools, f"{where}: installs {tool} for the agents")

    def check_cli_names(self, where, instrs):
        """The HARNESS_CLIS default names CLIs that harness-clis.sh knows."""
        known = {line.split()[0] for line in subprocess.run(
            ["bash", os.path.join(self.root, "sandbox-images/harness-clis.sh"), "list"],
            capture_output=True, text=True, check=True).stdout.splitlines()}
        defaults = [t.partition("=")[2] for k, t, _ in instrs
                    if k == "ARG" and t.startswith("HARNESS_CLIS=")]
        self.expect(bool(defaults), f"{where}: a HARNESS_CLIS build arg chooses the CLIs")
        for d in defaults:
            names = d.strip('"').split()
            self.expect(set(names) <= known,
                        f"{where}: HARNESS_CLIS default {names} are known CLIs {sorted(known)}")

    def check_copy_sources(self, where, instrs, variables):
        sources = []
        for keyword, text, _ in instrs:
            if keyword != "COPY" or "--from=" in text:
                continue
            parts = [p for p in text.split() if not p.startswith("--")]
            for src in parts[:-1]:
                src = expand(src, variables)
                sources.append(src)
                if src.startswith("dist/"):
                    self.expect(src == self.tarball,
                                f"{where}: copies the release tarball {self.tarball} ({src})")
                else:
                    self.expect(os.path.exists(os.path.join(self.root, src)),
                                f"{where}: COPY source {src} exists")
        return sources

    def check_pinned(self, where, image):
        self.pins[where] = image
        self.expect(PINNED.match(image) is not None,
                    f"{where}: base image pinned by digest ({image})")

    def check_ci_scripts(self):
        print("CI scripts")
        run_sh = self.read("tests/run.sh")
        self.expect("sandbox-images/install-deps.sh" in run_sh,
                    "tests/run.sh installs with sandbox-images/install-deps.sh")
        clis = self.read("tests/harness/install-clis.sh")
        self.expect("sandbox-images/harness-clis.sh" in clis
                    and not re.search(r"@\d+\.\d+", clis),
                    "tests/harness/install-clis.sh uses the pins of sandbox-images/harness-clis.sh")

    def check_docker(self):
        rel = "sandbox-images/docker/Dockerfile"
        print(rel)
        instrs = instructions(os.path.join(self.root, rel))
        last = max(s for _, _, s in instrs)
        global_args = arg_defaults(instrs)
        final_args = arg_defaults(instrs, last)
        runs = [(t, s) for k, t, s in instrs if k == "RUN"]
        self.check_commands(rel, [t for t, s in runs if s == last])
        for text, _ in runs:
            self.expect(not COMPILE.search(text) and not FORBIDDEN.search(text),
                        f"{rel}: no stage compiles or installs outside the scripts: {text[:60]}")
        for keyword, text, _ in instrs:
            if keyword == "FROM":
                image = expand(text.split()[0], global_args)
                self.check_pinned(f"{rel} FROM {text.split()[0]}", image)
        self.expect(final_args.get("AGENTRT_VERSION") == self.version,
                    f"{rel}: AGENTRT_VERSION defaults to the project version {self.version}")
        # The tarball is bind-mounted into the RUN that installs it.
        mounts = [m.group(1) for t, s in runs if s == last
                  for m in [re.search(r"--mount=type=bind,source=([^,\s]+)", t)] if m]
        mounted = [expand(m, final_args) for m in mounts]
        self.expect(mounted == [self.tarball],
                    f"{rel}: the release tarball {self.tarball} is bind-mounted ({mounted})")
        self.expect(any("install-release.sh /tmp/agentrt.tar.gz" in t
                        for t, s in runs if s == last),
                    "the final stage installs the binaries with install-release.sh")
        self.expect(any("harness-clis.sh install" in t and "$HARNESS_CLIS" in t for t, _ in runs),
                    "harness CLIs come from harness-clis.sh, chosen by the HARNESS_CLIS build arg")
        self.check_cli_names(rel, instrs)
        copies = self.check_copy_sources(rel, instrs, final_args)
        final = [(k, t) for k, t, s in instrs if s == last]
        labels = " ".join(t for k, t in final if k == "LABEL")
        for label in OCI_LABELS:
            self.expect(f"org.opencontainers.image.{label}=" in labels, f"OCI label {label}")
        self.expect('org.opencontainers.image.version="${AGENTRT_VERSION}"' in labels,
                    "the version label is the installed release's")
        users = [t for k, t in final if k == "USER"]
        self.expect(users and users[-1] not in ("root", "0"), "final stage runs as a non-root USER")
        self.expect(any(k == "EXPOSE" and t.split()[0] == "8080" for k, t in final), "EXPOSE 8080")
        self.expect(any(k == "HEALTHCHECK" and "healthcheck.sh" in t for k, t in final),
                    "HEALTHCHECK runs healthcheck.sh")
        entry = [t for k, t in final if k == "ENTRYPOINT"]
        try:
            argv = json.loads(entry[-1]) if entry else []
        except ValueError:
            argv = []
        self.expect(bool(argv) and os.path.basename(argv[0]) == "agentrt",
                    "exec-form ENTRYPOINT starts agentrt (PID 1)")
        self.check_dockerignore(copies + mounted)
        compose = self.read("sandbox-images/docker/docker-compose.yml")
        self.expect(re.search(r"AGENTRT_TOKEN:\s*\$\{AGENTRT_TOKEN", compose) is not None,
                    "docker-compose takes AGENTRT_TOKEN from the environment")
        self.expect("dockerfile: sandbox-images/docker/Dockerfile" in compose,
                    "docker-compose builds this Dockerfile")
        self.expect(f"AGENTRT_VERSION:-{self.version}}}" in compose,
                    f"docker-compose defaults to release {self.version}")

    def check_dockerignore(self, needed):
        """The allow-list lets through what the build reads, and not the rest of the tree."""
        lines = [ln.strip() for ln in self.read("sandbox-images/docker/Dockerfile.dockerignore")
                 .splitlines() if ln.strip() and not ln.startswith("#")]

        def included(path):
            verdict = True
            for pattern in lines:
                negated = pattern.startswith("!")
                if fnmatch.fnmatch(path, pattern.lstrip("!")):
                    verdict = negated
            return verdict

        for path in needed:
            self.expect(included(path), f"Dockerfile.dockerignore lets {path} into the context")
        for path in ("runtime/src/main.cpp", "build/runtime/agentrt", ".git/HEAD"):
            self.expect(not included(path), f"Dockerfile.dockerignore keeps {path} out")

    def check_e2b(self):
        rel = "sandbox-images/e2b/e2b.Dockerfile"
        print(rel)
        instrs = instructions(os.path.join(self.root, rel))
        froms = [t for k, t, _ in instrs if k == "FROM"]
        self.expect(len(froms) == 1, "one stage (E2B's builder takes no multi-stage Dockerfile)")
        self.check_pinned(rel, froms[0].split()[0])
        supported = {"FROM", "ARG", "COPY", "ADD", "RUN", "ENV", "WORKDIR", "USER"}
        used = {k for k, _, _ in instrs}
        self.expect(used <= supported,
                    f"only instructions E2B's V2 builder converts: {sorted(used)}")
        for keyword, text, _ in instrs:
            if keyword in ("ARG", "ENV") and "=" in text:
                self.expect('"' not in text and "'" not in text,
                            f"{keyword} {text}: no quotes (E2B would keep them in the value)")
        runs = [t for k, t, _ in instrs if k == "RUN"]
        self.check_commands(rel, runs, needs_tools=("git", "curl"))
        self.check_copy_sources(rel, instrs, {})
        self.check_cli_names(rel, instrs)
        joined = " ".join(runs)
        self.expect(f"install-release.sh /tmp/agentrt-release/{os.path.basename(self.tarball)}"
                    in joined, "installs the copied release tarball with install-release.sh")
        self.expect("harness-clis.sh install" in joined, "CLIs come from harness-clis.sh")
        template = self.read("sandbox-images/e2b/template.ts")
        self.expect("fromDockerfile(" in template and "e2b.Dockerfile" in template,
                    "template.ts builds e2b.Dockerfile (the V2 Template SDK)")
        self.expect(re.search(r"setStartCmd\([^;]*agentrt[^;]*waitForURL\([^)]*/health", template,
                              re.S) is not None,
                    "template.ts starts agentrt and waits for /health (setStartCmd, waitForURL)")
        self.expect("Template.build(" in self.read("sandbox-images/e2b/build.ts"),
                    "build.ts builds with Template.build (V2)")
        self.expect(not os.path.exists(os.path.join(self.root, "sandbox-images/e2b/e2b.toml")),
                    "no e2b.toml (the retired V1 build system's config)")
        readme = self.read("README.md")
        self.expect(re.search(r"^\s*e2b template build", readme, re.M) is None,
                    "no README command runs `e2b template build` (V1, retired)")
        self.expect(re.search(r"^e2b template create agentrt .*"
                              r"-d sandbox-images/e2b/e2b.Dockerfile", readme, re.M) is not None,
                    "the README builds with `e2b template create` and e2b.Dockerfile")

    def check_python_recipes(self, binary):
        """Runs the Modal and Daytona image definitions with stand-ins for the `modal` and
        `daytona` packages (not installable here) that record every builder call."""
        calls = []

        class Recorder:
            def __init__(self, name):
                self._name = name

            def __getattr__(self, attr):
                def method(*args, **kwargs):
                    calls.append((self._name, attr, args, kwargs))
                    return self
                return method

            def __call__(self, *args, **kwargs):
                calls.append((self._name, "__init__", args, kwargs))
                return self

        stubs = {
            "modal": types.SimpleNamespace(Image=Recorder("modal.Image"), App=Recorder("App"),
                                           Sandbox=Recorder("Sandbox"), Secret=Recorder("Secret")),
            "daytona": types.SimpleNamespace(**{n: Recorder(n) for n in (
                "Image", "Daytona", "CreateSnapshotParams", "CreateSandboxFromSnapshotParams",
                "Resources")}),
        }
        scripts = os.path.join(self.root, "sandbox-images")
        saved_path, saved_modules = list(sys.path), dict(sys.modules)
        try:
            sys.modules.update(stubs)
            for recipe, module, builder in (("modal", "agentrt_image", "modal.Image"),
                                            ("daytona", "agentrt_snapshot", "Image")):
                rel = f"sandbox-images/{recipe}/{module}.py"
                print(rel)
                for name in ("recipe_util", "agentrt_image", "agentrt_snapshot", "start_sandbox"):
                    sys.modules.pop(name, None)
                sys.path[:] = [os.path.join(scripts, recipe)] + saved_path
                recipe_module = importlib.import_module(module)
                importlib.import_module("start_sandbox")
                self.expect(True, f"{rel} and start_sandbox.py import (with stand-in SDKs)")
                util = sys.modules["recipe_util"]
                self.expect(os.path.samefile(util.__file__,
                                             os.path.join(scripts, "recipe_util.py")),
                            "the recipe uses sandbox-images/recipe_util.py")
                expected = os.path.join(self.root, self.tarball)
                named = os.path.abspath(str(util.REPO / self.tarball))
                self.expect(named == os.path.abspath(expected),
                            f"release_tarball() names {self.tarball}")
                try:
                    util.release_tarball()
                    missing = None if os.path.exists(expected) else "returned a missing file"
                except FileNotFoundError as e:
                    missing = "" if self.tarball in str(e) and "release" in str(e) else str(e)
                self.expect(not missing,
                            f"a missing release tarball is reported by name {missing or ''}")
                calls.clear()
                stand_in = os.path.join(self.root, "CMakeLists.txt")  # any existing file
                recipe_module.agentrt_image(tarball=stand_in)
                chain = [(a, args, kw) for name, a, args, kw in calls if name == builder]
                first = chain[0] if chain else ("", (), {})
                self.expect(first[0] in ("from_registry", "base") and first[1],
                            f"{rel}: starts from a registry image ({first[0]})")
                if first[1]:
                    self.check_pinned(rel, first[1][0])
                files = [(args[0], args[1], kw) for a, args, kw in chain if a == "add_local_file"]
                self.expect((stand_in, "/tmp/agentrt.tar.gz") in [(str(f), r) for f, r, _ in files],
                            f"{rel}: add_local_file copies the release tarball in")
                for local, remote, kw in files:
                    self.expect(os.path.isfile(local), f"{rel}: {local} exists")
                    if recipe == "modal":
                        self.expect(kw.get("copy") is True,
                                    f"{rel}: {remote} is copied into the image (copy=True), as "
                                    "run_commands after it needs")
                commands = [c for a, args, _ in chain if a == "run_commands" for c in args]
                self.check_commands(rel, commands)
                self.expect(any("install-release.sh /tmp/agentrt.tar.gz" in c for c in commands),
                            f"{rel}: installs the release tarball with install-release.sh")
                self.expect(any("harness-clis.sh install" in c for c in commands),
                            f"{rel}: CLIs come from harness-clis.sh")
                scripts_in = {r for _, r, _ in files}
                for script in ("install-deps.sh", "install-release.sh", "harness-clis.sh"):
                    self.expect(f"/opt/agentrt/{script}" in scripts_in,
                                f"{rel}: {script} is in the image where the commands run it")
                self.expect(not any(a == "add_local_dir" for a, _, _ in chain),
                                f"{rel}: copies no source tree")
            if binary:
                with Runtime([binary]) as rt:
                    health = util.wait_healthy(f"http://127.0.0.1:{rt.port}", timeout_s=10)
                self.expect(health.get("status") == "ok",
                            "recipe_util.wait_healthy reads a real agentrt's /health")
        finally:
            sys.path[:] = saved_path
            sys.modules.clear()
            sys.modules.update(saved_modules)

    def check_versions_and_pins(self):
        print("pins and versions across recipes")
        node = {image for where, image in self.pins.items() if image.startswith("node:")}
        self.expect(len(node) == 1, f"every recipe pins the same Node.js image: {sorted(node)}")
        kustomization = self.read("sandbox-images/kubernetes/kustomization.yaml")
        tag = re.search(r'newTag:\s*"?([^"\s]+)', kustomization)
        name = re.search(r"newName:\s*(\S+)", kustomization)
        self.expect(tag is not None and tag.group(1) == self.version,
                    f"kustomization.yaml tags the image {self.version}")
        image = f"{name.group(1) if name else '?'}:{self.version}"
        for rel in ("sandbox-images/kubernetes/fan-out-job.yaml", "samples/ci/github-actions.yml",
                    "samples/ci/gitlab-ci.yml"):
            text = self.read(rel)
            named = set(re.findall(r"[\w.-]+\.[\w.-]+/agentrt:[\w.-]+", text))
            self.expect(named == {image}, f"{rel} names the image {image} ({sorted(named)})")

    def check_shell_scripts(self):
        print("shellcheck")
        shellcheck = shutil.which("shellcheck")
        if not shellcheck:
            print("  (shellcheck not installed: the recipes' shell scripts are not linted)")
            return
        for rel in ("sandbox-images/install-release.sh", "sandbox-images/kubernetes/fan-out.sh"):
            r = subprocess.run([shellcheck, os.path.join(self.root, rel)], capture_output=True,
                               text=True)
            self.expect(r.returncode == 0, f"shellcheck {rel} {r.stdout.strip()}")

    def check_systemd(self, binary):
        rel = "sandbox-images/systemd/agentrt.service"
        print(rel)
        unit = self.read(rel)
        self.expect("EnvironmentFile=" in unit and "--token" not in unit,
                    "the unit reads the token from an EnvironmentFile, not its command line")
        self.expect(re.search(r"^KillMode=mixed", unit, re.M) is not None,
                    "KillMode=mixed: SIGTERM reaches agentrt, which stops its own process trees")
        if not binary or not shutil.which("systemd-analyze"):
            print("  (systemd-analyze or the binary not available: unit not verified)")
            return
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "agentrt.service")
            with open(path, "w") as f:
                f.write(unit.replace("/usr/local/bin/agentrt", os.path.abspath(binary)))
            r = subprocess.run(["systemd-analyze", "verify", path], capture_output=True, text=True)
        self.expect(r.returncode == 0 and not r.stderr.strip(),
                    f"systemd-analyze verify accepts the unit {r.stderr.strip()}")


def main():
    if len(sys.argv) not in (2, 3):
        fail(__doc__)
    c = Checker(sys.argv[1])
    print(f"release tarball: {c.tarball}")
    c.check_ci_scripts()
    c.check_docker()
    c.check_e2b()
    c.check_python_recipes(sys.argv[2] if len(sys.argv) == 3 else None)
    c.check_versions_and_pins()
    c.check_shell_scripts()
    c.check_systemd(sys.argv[2] if len(sys.argv) == 3 else None)
    c.finish()


if __name__ == "__main__":
    main()
