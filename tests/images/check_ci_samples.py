"""The CI samples (samples/ci/github-actions.yml, samples/ci/gitlab-ci.yml) without GitHub or
GitLab:

- they parse, and the wiring holds: the runtime is a service of the agentrt image, the job runs
  in the same image, the URL names the service, the token comes from a secret/CI variable, the
  health check or service wait is there, and the directory the reports are received into is the
  one the platform keeps as artifacts, also when the tests fail;
- rehearsal: the job's own shell lines (the `run:` step, the `script:` lines) run here with bash
  against a real local agentrt and a local git repository, with only the platform's variables
  replaced (the service URL, the token, the repository URL and commit, the project directory;
  the sandbox path /work is mapped to a temporary directory). They must fetch the commit inside
  the sandbox, run the test command there, receive its report files through agentrt-client's
  upload receiver, pass a failing test's exit code through, and never show the git token.

    check_ci_samples.py REPO_ROOT AGENTRT_BINARY AGENTRT_CLIENT

(check_recipes_npm.py validates the GitHub workflow with GitHub's own workflow parser.)
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agentrt_fixture import Checks, Runtime, fail, run, skip  # noqa: E402

try:
    import yaml
except ImportError:  # python3-yaml (Debian) or PyYAML
    skip("the Python yaml module is not installed (Debian: python3-yaml)")

TOKEN = "agentrt-ci-token"
GIT_TOKEN = "git-token-that-must-not-show-0123456789"
WORK = re.compile(r"(?<![\w/.-])/work(?=[/\s'\"]|$)")
FAILING_TEST = ('mkdir -p reports && echo partial > reports/failed.txt && sleep 0.3 && '
                'echo "token is $GIT_TOKEN" && exit 4')


class Checker(Checks):
    def __init__(self, root, agentrt, client):
        super().__init__()
        self.root = root
        self.agentrt = agentrt
        self.client_dir = os.path.dirname(os.path.abspath(client))

    def load(self, rel):
        with open(os.path.join(self.root, rel)) as f:
            return yaml.safe_load(f)

    def make_repo(self, d):
        """A git repository whose `make test` writes a report; returns (file:// URL, commit)."""
        repo = os.path.join(d, "origin")
        os.makedirs(repo)
        with open(os.path.join(repo, "Makefile"), "w") as f:
            f.write("test:\n\tmkdir -p reports\n\techo '<testsuite tests=\"1\"/>' > "
                    "reports/junit.xml\n\t@echo \"tests ran in $$(basename $$(pwd))\"\n")
        git = ["git", "-C", repo, "-c", "user.name=ci", "-c", "user.email=ci@example.invalid"]
        for argv in (["init", "-q"], ["add", "Makefile"], ["commit", "-q", "-m", "tests"],
                     ["config", "uploadpack.allowAnySHA1InWant", "true"]):
            subprocess.run(git + argv, check=True)
        sha = subprocess.run(git + ["rev-parse", "HEAD"], check=True, capture_output=True,
                             text=True).stdout.strip()
        return f"file://{repo}", sha

    def rehearse(self, what, script, env, reports, expect_code, expect_files, sandbox):
        env = dict(env, PATH=f"{self.client_dir}:{os.environ['PATH']}")
        unresolved = [k for k, v in env.items() if "${{" in str(v)]
        self.expect(not unresolved,
                    f"{what}: every ${{{{ }}}} expression is replaced ({unresolved})")
        mapped = WORK.sub(sandbox, script)
        self.expect(mapped != script and "${{" not in script,
                    f"{what}: the script uses /work in the sandbox and plain shell variables")
        r = run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", mapped], timeout=120,
                env=env)
        self.expect(r.returncode == expect_code,
                    f"{what}: exit code {expect_code} ({r.returncode})")
        got = sorted(os.listdir(reports)) if os.path.isdir(reports) else []
        self.expect(got == expect_files, f"{what}: reports received {expect_files} ({got})")
        self.expect(GIT_TOKEN not in r.stdout + r.stderr, f"{what}: the git token never shows")
        return r

    def check_github(self, rt, origin, sha, d):
        rel = "samples/ci/github-actions.yml"
        print(rel)
        wf = self.load(rel)
        jobs = wf.get("jobs", {})
        self.expect(len(jobs) == 1, "one job")
        job = next(iter(jobs.values()))
        service_id, service = next(iter(job.get("services", {}).items()))
        self.expect(job.get("container", {}).get("image") == service.get("image"),
                    "the job runs in the runtime's image (it has agentrt-client)")
        self.expect("secrets.AGENTRT_TOKEN" in str(service.get("env", {}).get("AGENTRT_TOKEN")),
                    "the service gets AGENTRT_TOKEN from a secret")
        self.expect("--health-cmd" in service.get("options", "") and
                    "healthcheck.sh" in service.get("options", ""),
                    "the job waits for the runtime's health check")
        env = job.get("env", {})
        self.expect(env.get("AGENTRT_URL", "").startswith(f"ws://{service_id}:"),
                    f"AGENTRT_URL names the service '{service_id}'")
        steps = job.get("steps", [])
        run_steps = [s for s in steps if "agentrt-client exec" in s.get("run", "")]
        uploads = [s for s in steps
                   if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
        self.expect(len(run_steps) == 1 and len(uploads) == 1,
                    "one step drives the runtime, one keeps the reports")
        step, upload = run_steps[0], uploads[0]
        self.expect(upload.get("with", {}).get("path") == env.get("REPORTS_DIR")
                    and "always()" in str(upload.get("if", "")),
                    "the reports received are uploaded, also when the tests fail")
        self.expect(job.get("defaults", {}).get("run", {}).get("shell") == "bash",
                    "the step runs with bash")
        for test_command, code, files in ((None, 0, ["junit.xml"]),
                                          (FAILING_TEST, 4, ["failed.txt"])):
            reports = os.path.join(d, f"gh-reports-{code}")
            sandbox = tempfile.mkdtemp(dir=d)
            variables = dict(os.environ, **{k: str(v) for k, v in env.items()},
                             **{k: str(v) for k, v in step.get("env", {}).items()})
            variables.update(AGENTRT_URL=rt.url, AGENTRT_TOKEN=TOKEN, REPORTS_DIR=reports,
                             REPO_URL=origin, COMMIT=sha, GIT_TOKEN=GIT_TOKEN)
            if test_command:
                variables["TEST_COMMAND"] = test_command
            r = self.rehearse(f"GitHub step, test exit {code}", step["run"], variables, reports,
                              code, files, sandbox)
            if code == 0:
                self.expect("tests ran in src" in r.stdout,
                            "the test command ran in the fetched sources, output streamed")

    def check_gitlab(self, rt, origin, sha, d):
        rel = "samples/ci/gitlab-ci.yml"
        print(rel)
        doc = self.load(rel)
        self.expect(len(doc) == 1, "one job")
        job = next(iter(doc.values()))
        variables = job.get("variables", {})
        image = job.get("image", {})
        services = job.get("services", [])
        self.expect(image.get("entrypoint") == [""], "the job image's entrypoint is cleared")
        self.expect(len(services) == 1 and services[0].get("name") == image.get("name"),
                    "the runtime is a service of the job's image")
        alias = services[0].get("alias") if services else None
        self.expect(variables.get("AGENTRT_URL", "").startswith(f"ws://{alias}:"),
                    f"AGENTRT_URL names the service alias '{alias}'")
        self.expect(str(variables.get("FF_NETWORK_PER_BUILD")).lower() == "true",
                    "one network per job (the service reaches the upload receiver)")
        self.expect("AGENTRT_TOKEN" not in variables,
                    "AGENTRT_TOKEN is a masked CI/CD variable, not in the file")
        artifacts = job.get("artifacts", {})
        self.expect(artifacts.get("when") == "always" and artifacts.get("paths") == ["reports/"],
                    "reports/ is kept as artifacts, also when the tests fail")
        script = "\n".join(job.get("script", []))
        self.expect('--upload-to "$CI_PROJECT_DIR/reports"' in script,
                    "the reports are received into $CI_PROJECT_DIR/reports")
        for test_command, code, files in ((None, 0, ["junit.xml"]),
                                          (FAILING_TEST.replace("$GIT_TOKEN", "$REPO_URL"), 4,
                                           ["failed.txt"])):
            project = os.path.join(d, f"gl-project-{code}")
            os.makedirs(project)
            sandbox = tempfile.mkdtemp(dir=d)
            env = dict(os.environ, **{k: str(v) for k, v in variables.items()})
            # CI_REPOSITORY_URL carries the job token, as GitLab's does (here in a path: the
            # repository is reached through a symbolic link named by the token).
            tokened = os.path.join(d, GIT_TOKEN)
            if not os.path.exists(tokened):
                os.symlink(origin[len("file://"):], tokened)
            env.update(AGENTRT_URL=rt.url, AGENTRT_TOKEN=TOKEN, CI_PROJECT_DIR=project,
                       CI_REPOSITORY_URL=f"file://{tokened}", CI_COMMIT_SHA=sha,
                       CI_JOB_TOKEN=GIT_TOKEN)
            if test_command:
                env["TEST_COMMAND"] = test_command
            self.rehearse(f"GitLab script, test exit {code}", script, env,
                          os.path.join(project, "reports"), code, files, sandbox)


def main():
    if len(sys.argv) != 4:
        fail(__doc__)
    repo, agentrt, client = sys.argv[1:]
    for tool in ("git", "make", "bash", "hostname", "base64"):
        if not shutil.which(tool):
            skip(f"{tool} not found")
    c = Checker(repo, agentrt, client)
    with tempfile.TemporaryDirectory() as d:
        origin, sha = c.make_repo(d)
        env = dict(os.environ, AGENTRT_TOKEN=TOKEN)
        with Runtime([agentrt], env=env) as rt:
            c.check_github(rt, origin, sha, d)
            c.check_gitlab(rt, origin, sha, d)
    c.finish()


if __name__ == "__main__":
    main()
