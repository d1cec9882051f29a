"""Runs one sample against a real local agentrt (CTest label `samples`) and checks what it did.

    run_sample.py CASE AGENTRT_BINARY SAMPLES_DIR

The query-driven samples run against `agentrt --handler summary_handler.py`, a stand-in agent
that inspects the sandbox for real (there is no model API on the build machines). Repository
archives are served by a loopback HTTP server, as a code host would serve them.
"""
import functools
import http.server
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
import threading

from agentrt_fixture import Runtime, fail, free_port, run

HERE = os.path.dirname(os.path.abspath(__file__))
HANDLER = os.path.join(HERE, "summary_handler.py")


class ArchiveServer:
    """Serves the files of a directory over HTTP on 127.0.0.1 (like a code host's archive URL)."""

    def __init__(self, directory):
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)
        handler.log_message = lambda *a: None
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, name):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{name}"


def make_archive(path, files):
    """A .tar.gz with the given {relative path: text}; shell scripts are made executable."""
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755 if name.endswith(".sh") else 0o644
            tar.addfile(info, io.BytesIO(data))


def expect(condition, what, result=None):
    if not condition:
        fail(what + (f"\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}" if result else ""))
    print(f"ok: {what}")


REPO = {
    "README.md": "# demo\n",
    "src/main.c": "int main(void) { return 0; }\n",
    "src/util.py": "print('util')\n",
    "build.sh": "#!/bin/sh\nset -e\necho building $(ls src | wc -l) sources\n"
                "mkdir -p ../out\nls src > ../out/build-info.txt\necho build done\n",
}

TESTS = {
    "run_tests.sh": "#!/bin/sh\n"
                    "echo running 3 tests\n"
                    "echo 'test_a ... ok'\n"
                    "echo 'test_b ... FAILED' >&2\n"
                    "mkdir -p reports\n"
                    "printf '<testsuite tests=\"3\" failures=\"%s\"/>\\n' \"$FAILURES\" > reports/junit.xml\n"
                    "echo 'lines: 87%' > reports/coverage.txt\n"
                    "exit \"$FAILURES\"\n",
}


def case_commands_sample(agentrt, samples, tmp):
    with Runtime([agentrt]) as rt:
        r = run([os.path.join(samples, "commands_sample"), rt.url, "--",
                 "echo streamed from the runtime", "exit 3", "echo never runs"])
    expect(r.returncode == 3, "commands_sample exits with the failing command's code", r)
    expect("streamed from the runtime" in r.stdout, "command output streams back", r)
    expect("[skipped] echo never runs" in r.stdout, "commands after the failure are skipped", r)
    check_help_and_token(agentrt, samples, "commands_sample", ["--", "echo token ok"])


def check_help_and_token(agentrt, samples, name, args):
    """--help prints the usage (never taken for a URL); the token comes from AGENTRT_TOKEN."""
    binary = os.path.join(samples, name)
    h = run([binary, "--help"])
    expect(h.returncode == 0 and "usage:" in h.stdout, f"{name} --help prints its usage", h)
    with Runtime([agentrt, "--token", "sample-token"]) as rt:
        env = dict(os.environ, AGENTRT_TOKEN="sample-token")
        ok = run([binary, rt.url, *args], env=env)
        expect(ok.returncode == 0, f"{name} authenticates with AGENTRT_TOKEN", ok)
        env.pop("AGENTRT_TOKEN")
        refused = run([binary, rt.url, *args], env=env)
        expect(refused.returncode != 0, f"{name} without a token is refused", refused)


def case_query_sample(agentrt, samples, tmp):
    with Runtime([agentrt, "--handler", HANDLER, "--workdir", tmp]) as rt:
        r = run([os.path.join(samples, "query_sample"), rt.url, "How many files are here?"])
    expect(r.returncode == 0, "query_sample exits 0", r)
    expect("result: 0 files under" in r.stdout, "the query's text result is printed", r)
    expect("assistant: Looked at" in r.stderr, "assistant messages stream to stderr", r)
    expect("hello from the same session" in r.stdout, "a command runs on the same session", r)
    h = run([os.path.join(samples, "query_sample"), "--help"])
    expect(h.returncode == 0 and "usage:" in h.stdout, "query_sample --help prints its usage", h)
    with Runtime([agentrt, "--token", "sample-token"]) as rt:
        ok = run([os.path.join(samples, "query_sample"), rt.url],
                 env=dict(os.environ, AGENTRT_TOKEN="sample-token"))
    expect("hello from the same session" in ok.stdout, "query_sample uses AGENTRT_TOKEN", ok)


def case_sandbox_run(agentrt, samples, tmp):
    served, work, local = (os.path.join(tmp, d) for d in ("served", "sandbox", "local"))
    os.makedirs(served)
    make_archive(os.path.join(served, "demo-main.tar.gz"), REPO)
    with ArchiveServer(served) as server, \
            Runtime([agentrt, "--handler", HANDLER, "--workdir", work]) as rt:
        r = run([os.path.join(samples, "sandbox_run"), rt.url,
                 "--archive", server.url("demo-main.tar.gz"), "--workdir", work,
                 "--setup", "sh build.sh", "--out", local])
    expect(r.returncode == 0, "sandbox_run exits 0", r)
    expect("building 2 sources" in r.stdout and "build done" in r.stdout,
           "set-up output streams back", r)
    summary_path = os.path.join(local, "summary.json")
    expect(os.path.isfile(summary_path), "the structured answer arrived as an artifact", r)
    with open(summary_path) as f:
        summary = json.load(f)
    expect(summary["file_count"] == len(REPO), f"file_count is {len(REPO)}: {summary}")
    expect(summary["languages"] == ["C", "Markdown", "Python", "Shell"], f"languages: {summary}")
    with open(os.path.join(local, "build-info.txt")) as f:
        expect(f.read().split() == ["main.c", "util.py"], "the set-up's build output arrived")
    expect(f"artifact: {local}/summary.json" in r.stdout, "artifacts are listed", r)


def run_ci(agentrt, samples, tmp, failures):
    served, work, local = (os.path.join(tmp, d) for d in ("served", "sandbox", "local"))
    os.makedirs(served)
    make_archive(os.path.join(served, "tests.tar.gz"), TESTS)
    with ArchiveServer(served) as server, Runtime([agentrt]) as rt:
        r = run([os.path.join(samples, "ci_runner"), rt.url, "--archive", server.url("tests.tar.gz"),
                 "--workdir", work, "--test", "./run_tests.sh", "--env", f"FAILURES={failures}",
                 "--out", local])
    expect(r.returncode == failures, f"ci_runner exits with the test command's code {failures}", r)
    expect("[test] running 3 tests" in r.stdout, "the test log streams with a prefix", r)
    expect("[test:err] test_b ... FAILED" in r.stderr, "stderr streams separately", r)
    with open(os.path.join(local, "junit.xml")) as f:
        expect(f'failures="{failures}"' in f.read(), "the JUnit report arrived")
    with open(os.path.join(local, "coverage.txt")) as f:
        expect(f.read() == "lines: 87%\n", "the coverage report arrived")
    expect("2 report file(s)" in r.stdout, "the reports are summarized", r)


def case_ci_runner_fail(agentrt, samples, tmp):
    run_ci(agentrt, samples, tmp, 3)


def case_ci_runner_pass(agentrt, samples, tmp):
    run_ci(agentrt, samples, tmp, 0)


def case_fan_out(agentrt, samples, tmp):
    dead = f"ws://127.0.0.1:{free_port()}/"  # nothing listens there
    barrier = os.path.join(tmp, "barrier")
    os.makedirs(barrier)
    # Every runtime checks in, then waits (up to 10 s) for the other two: this passes only when
    # the three run at the same time, not one after another.
    rendezvous = (f"touch {barrier}/$$; i=0; while [ $(ls {barrier} | wc -l) -lt 3 ] && "
                  f"[ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done; "
                  f"[ $(ls {barrier} | wc -l) -ge 3 ]")
    with Runtime([agentrt]) as a, Runtime([agentrt]) as b, Runtime([agentrt]) as c:
        urls = [a.url, b.url, c.url, dead]
        r = run([os.path.join(samples, "fan_out"), *urls, "--", rendezvous,
                 "echo answer $((6 * 7)) from $$"])
    expect(r.returncode == 1, "fan_out exits 1 when one runtime fails", r)
    rows = {line.split()[0]: line for line in r.stdout.splitlines() if line.startswith("ws://")}
    expect(len(rows) == 4, "one table row per runtime", r)
    for url in urls[:3]:
        expect(" ok " in rows[url] and "answer 42 from" in rows[url],
               f"{url} ran the commands alongside the others", r)
    expect("connect failed" in rows[dead], "the unreachable runtime is reported", r)
    print("[ figures  ] fan_out:", r.stdout.strip().splitlines()[-1])
    check_help_and_token(agentrt, samples, "fan_out", ["--", "true"])


def main():
    if len(sys.argv) != 4:
        fail(__doc__)
    case, agentrt, samples = sys.argv[1:]
    tmp = tempfile.mkdtemp(prefix=f"agentrt-sample-{case}-")
    try:
        globals()[f"case_{case}"](agentrt, samples, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"samples.{case}: passed")


if __name__ == "__main__":
    main()
