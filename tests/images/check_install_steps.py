"""The image definitions install software only through the shared scripts CI runs, and the
Docker image has the shape the README promises. No Docker engine is needed: the Dockerfiles,
the E2B config and the Modal image definition are read as text.

    check_install_steps.py REPO_ROOT [AGENTRT_BINARY]

Checked:
- tests/run.sh (what CI runs) installs with sandbox-images/install-deps.sh, and
  tests/harness/install-clis.sh takes its pins from sandbox-images/harness-clis.sh;
- no RUN step (or Modal run_commands string) installs packages by itself (apt-get/apt/npm/pip);
  packages come from install-deps.sh, harness CLIs from harness-clis.sh;
- the Docker build stage runs `install-deps.sh build`, the final stage `install-deps.sh runtime`;
  the E2B and Modal images run both;
- every COPY source exists in the repository;
- the Docker final stage: non-root USER, EXPOSE 8080, a HEALTHCHECK that runs healthcheck.sh,
  an exec-form ENTRYPOINT that starts agentrt (so it is PID 1);
- the E2B config: start command starts agentrt, ready command is the health check the E2B
  Dockerfile installs; docker-compose takes the token from the environment;
- the systemd unit passes `systemd-analyze verify` (with ExecStart pointed at the built binary),
  where systemd-analyze exists.
"""
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agentrt_fixture import fail  # noqa: E402

FORBIDDEN = re.compile(r"\b(apt-get\s+install|apt\s+install|npm\s+(install|i|ci)\b|pip3?\s+install|"
                       r"curl\b[^|]*\|\s*(ba)?sh)")


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


class Checker:
    def __init__(self, root):
        self.root = root
        self.problems = []
        self.passed = 0

    def expect(self, condition, what):
        if condition:
            self.passed += 1
            print(f"  ok: {what}")
        else:
            self.problems.append(what)
            print(f"  FAILED: {what}")

    def read(self, rel):
        with open(os.path.join(self.root, rel)) as f:
            return f.read()

    def check_commands(self, where, commands):
        for c in commands:
            self.expect(not FORBIDDEN.search(c), f"{where}: installs only through the scripts: {c[:90]}")

    def check_cli_names(self, where, instrs):
        """The HARNESS_CLIS default names CLIs that harness-clis.sh knows."""
        known = {line.split()[0] for line in subprocess.run(
            ["bash", os.path.join(self.root, "sandbox-images/harness-clis.sh"), "list"],
            capture_output=True, text=True, check=True).stdout.splitlines()}
        for keyword, text, _ in instrs:
            m = re.match(r'HARNESS_CLIS="([^"]*)"', text) if keyword == "ARG" else None
            if m:
                names = m.group(1).split()
                self.expect(set(names) <= known,
                            f"{where}: HARNESS_CLIS default {names} are known CLIs {sorted(known)}")

    def check_copy_sources(self, where, instrs):
        for keyword, text, _ in instrs:
            if keyword != "COPY" or "--from=" in text:
                continue
            parts = [p for p in text.split() if not p.startswith("--")]
            for src in parts[:-1]:
                self.expect(os.path.exists(os.path.join(self.root, src)),
                            f"{where}: COPY source {src} exists")

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
        runs = [(t, s) for k, t, s in instrs if k == "RUN"]
        last = max(s for _, _, s in instrs)
        self.check_commands(rel, [t for t, _ in runs])
        self.check_copy_sources(rel, instrs)
        self.check_cli_names(rel, instrs)
        self.expect(any("install-deps.sh build" in t for t, s in runs if s == 0),
                    "build stage runs install-deps.sh build")
        self.expect(any("install-deps.sh runtime" in t for t, s in runs if s == last),
                    "final stage runs install-deps.sh runtime")
        self.expect(any("harness-clis.sh install" in t and "$HARNESS_CLIS" in t for t, _ in runs),
                    "harness CLIs come from harness-clis.sh, chosen by the HARNESS_CLIS build arg")
        final = [(k, t) for k, t, s in instrs if s == last]
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
        compose = self.read("sandbox-images/docker/docker-compose.yml")
        self.expect(re.search(r"AGENTRT_TOKEN:\s*\$\{AGENTRT_TOKEN", compose) is not None,
                    "docker-compose takes AGENTRT_TOKEN from the environment")
        self.expect("dockerfile: sandbox-images/docker/Dockerfile" in compose,
                    "docker-compose builds this Dockerfile")

    def check_e2b(self):
        rel = "sandbox-images/e2b/e2b.Dockerfile"
        print(rel)
        instrs = instructions(os.path.join(self.root, rel))
        runs = [t for k, t, _ in instrs if k == "RUN"]
        self.check_commands(rel, runs)
        self.check_copy_sources(rel, instrs)
        self.check_cli_names(rel, instrs)
        joined = " ".join(runs)
        for step in ("install-deps.sh build", "install-deps.sh runtime", "harness-clis.sh install"):
            self.expect(step in joined, f"e2b.Dockerfile runs {step}")
        import tomllib
        with open(os.path.join(self.root, "sandbox-images/e2b/e2b.toml"), "rb") as f:
            config = tomllib.load(f)
        self.expect(os.path.exists(os.path.join(self.root, config.get("dockerfile", "-"))),
                    "e2b.toml names an existing Dockerfile (paths relative to the repo root)")
        self.expect("agentrt" in config.get("start_cmd", "") and "8080" in config["start_cmd"],
                    "e2b.toml start_cmd starts agentrt on 8080")
        ready = config.get("ready_cmd", "")
        self.expect("healthcheck.sh" in ready and ready.split()[0] in joined,
                    "e2b.toml ready_cmd is the health check the Dockerfile installs")

    def check_modal(self):
        rel = "sandbox-images/modal/agentrt_image.py"
        print(rel)
        tree = ast.parse(self.read(rel))
        commands = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "run_commands":
                for arg in node.args:
                    # f-strings: keep their literal parts ({SRC} becomes "{}")
                    if isinstance(arg, ast.JoinedStr):
                        commands.append("".join(v.value if isinstance(v, ast.Constant) else "{}"
                                                for v in arg.values))
                    elif isinstance(arg, ast.Constant):
                        commands.append(arg.value)
        self.check_commands(rel, commands)
        joined = " ".join(commands)
        for step in ("install-deps.sh build", "install-deps.sh runtime", "harness-clis.sh install"):
            self.expect(step in joined, f"Modal image runs {step}")
        ast.parse(self.read("sandbox-images/modal/start_sandbox.py"))
        self.expect(True, "start_sandbox.py parses")


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
    c.check_ci_scripts()
    c.check_docker()
    c.check_e2b()
    c.check_modal()
    c.check_systemd(sys.argv[2] if len(sys.argv) == 3 else None)
    if c.problems:
        fail(f"{len(c.problems)} check(s) failed:\n" + "\n".join(c.problems))
    print(f"{c.passed} checks passed")


if __name__ == "__main__":
    main()
