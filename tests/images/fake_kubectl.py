#!/usr/bin/env python3
"""A stand-in for kubectl, for rehearsing sandbox-images/kubernetes/fan-out.sh without a cluster.
It answers exactly the calls fan-out.sh makes and records them in $FAKE_KUBECTL_STATE/calls.jsonl;
`port-forward pod/P LOCAL:8080` becomes a real agentrt ($FAKE_KUBECTL_AGENTRT) listening on
127.0.0.1:LOCAL with the Secret's token, so the fan_out sample talks to real runtimes.

Environment: FAKE_KUBECTL_STATE (a directory), FAKE_KUBECTL_AGENTRT, FAKE_KUBECTL_TOKEN.
Anything else fan-out.sh might call fails loudly.
"""
import base64
import json
import os
import sys

import yaml

STATE = os.environ["FAKE_KUBECTL_STATE"]
APPLIED = os.path.join(STATE, "applied.json")


def record(argv, **extra):
    with open(os.path.join(STATE, "calls.jsonl"), "a") as f:
        f.write(json.dumps({"argv": argv, **extra}) + "\n")


def applied_job():
    if not os.path.exists(APPLIED):
        return None
    with open(APPLIED) as f:
        docs = json.load(f)
    return next((d for d in docs if d.get("kind") == "Job"), None)


def main(argv):
    if argv[:2] == ["apply", "-f"] and argv[2:] == ["-"]:
        docs = [d for d in yaml.safe_load_all(sys.stdin.read()) if d]
        with open(APPLIED, "w") as f:
            json.dump(docs, f)
        record(argv, kinds=[d["kind"] for d in docs])
        return 0
    if argv[:2] == ["get", "pods"] and "-l" in argv:
        record(argv)
        job = applied_job()
        selector = argv[argv.index("-l") + 1]
        if job is None or selector != f"job-name={job['metadata']['name']}":
            return 0
        for i in range(job["spec"]["completions"]):
            print(f"{job['metadata']['name']}-{i}-x{i:04d}")
        return 0
    if argv[:1] == ["wait"] and "--for=condition=Ready" in argv:
        record(argv)
        return 0 if applied_job() else 1
    if argv[:3] == ["get", "secret", "agentrt-token"]:
        record(argv)
        if argv[3:] != ["-o", "jsonpath={.data.token}"]:
            return 1
        print(base64.b64encode(os.environ["FAKE_KUBECTL_TOKEN"].encode()).decode(), end="")
        return 0
    if argv[:1] == ["port-forward"] and len(argv) == 3 and argv[1].startswith("pod/"):
        local, _, remote = argv[2].partition(":")
        record(argv)
        if remote != "8080":
            return 1
        env = dict(os.environ, AGENTRT_TOKEN=os.environ["FAKE_KUBECTL_TOKEN"])
        agentrt = os.environ["FAKE_KUBECTL_AGENTRT"]
        os.execve(agentrt, [agentrt, "--host", "127.0.0.1", "--port", local, "--log-level", "warn"],
                  env)
    if argv[:1] == ["delete"] and len(argv) >= 3:
        record(argv)
        return 0
    print(f"fake kubectl: unexpected call {argv}", file=sys.stderr)
    record(argv, unexpected=True)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
