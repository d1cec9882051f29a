"""The Kubernetes recipe (sandbox-images/kubernetes/) without a cluster:

- the manifests parse, and the facts that make them work hold: a readiness probe on GET /health
  at the port agentrt listens on, the token from the Secret agentrt-token (never a literal), the
  image's non-root uid, Services that select the pods and reach the named port, an Indexed Job
  whose pods get DNS names through a headless Service, the image the kustomization names;
- `kubectl kustomize` renders the kustomization, where kubectl exists (offline);
- fan-out.sh, rehearsed end to end with a stand-in kubectl (fake_kubectl.py) whose port-forwards
  are real agentrt processes: it applies the Job with N pods and the image, waits, forwards N
  ports, drives them with the real fan_out sample, passes a failure through, and deletes the Job
  and its Service every time.

    check_kubernetes.py REPO_ROOT AGENTRT_BINARY FAN_OUT_BINARY|none

(FAN_OUT_BINARY none: the samples are not built; the rehearsal is left out and says so.)

(check_recipes_npm.py type-checks the same manifests against the Kubernetes API types.)
"""
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agentrt_fixture import Checks, fail, run, skip  # noqa: E402


def free_port_block(n):
    """n consecutive ports that were free a moment ago, below the kernel's ephemeral range.

    fan-out.sh forwards BASE..BASE+n-1. Ports from free_port() are ephemeral ones: the outgoing
    connections of tests running beside this one take such ports at any time, and once took one
    of these between the choice and the bind ("Address already in use"). Below the ephemeral
    range only an explicit bind can take a port.
    """
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low = int(f.read().split()[0])
    for _ in range(200):
        base = random.randrange(10000, max(10001, low - n))
        socks = []
        try:
            for port in range(base, base + n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    fail(f"no {n} consecutive free ports below {low}")


try:
    import yaml
except ImportError:  # python3-yaml (Debian) or PyYAML
    skip("the Python yaml module is not installed (Debian: python3-yaml)")

SECRET, SECRET_KEY = "agentrt-token", "token"


class Checker(Checks):
    def __init__(self, root):
        super().__init__()
        self.root = root
        self.dir = os.path.join(root, "sandbox-images", "kubernetes")

    def load(self, name):
        with open(os.path.join(self.dir, name)) as f:
            return [d for d in yaml.safe_load_all(f) if d]

    def image_uid(self):
        with open(os.path.join(self.root, "sandbox-images", "docker", "Dockerfile")) as f:
            m = re.search(r"useradd\b[^\n]*--uid (\d+)", f.read())
        return int(m.group(1)) if m else None

    def check_pod(self, where, pod_spec, labels):
        """The pod template of a Deployment or Job; returns the container's image."""
        containers = pod_spec.get("containers", [])
        self.expect(len(containers) == 1, f"{where}: one container")
        c = containers[0]
        args = c.get("args", [])
        port = int(args[args.index("--port") + 1]) if "--port" in args else 8080
        named = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
        self.expect(port in named.values(), f"{where}: containerPort {port} is agentrt's --port")
        probe = c.get("readinessProbe", {}).get("httpGet", {})
        probe_port = named.get(probe.get("port"), probe.get("port"))
        self.expect(probe.get("path") == "/health" and probe_port == port,
                    f"{where}: readiness probe GET /health on port {port} ({probe})")
        env = {e["name"]: e for e in c.get("env", [])}
        token = env.get("AGENTRT_TOKEN", {})
        ref = token.get("valueFrom", {}).get("secretKeyRef", {})
        self.expect("value" not in token and ref.get("name") == SECRET
                    and ref.get("key") == SECRET_KEY,
                    f"{where}: AGENTRT_TOKEN from secretKeyRef {SECRET}/{SECRET_KEY}")
        self.expect("--token" not in args, f"{where}: no token on the command line")
        ctx = pod_spec.get("securityContext", {})
        uid = self.image_uid()
        self.expect(ctx.get("runAsNonRoot") is True and ctx.get("runAsUser") == uid,
                    f"{where}: runs as the image's non-root uid {uid}")
        self.expect(pod_spec.get("automountServiceAccountToken") is False,
                    f"{where}: no service account token in the sandbox")
        mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
        workdir = args[args.index("--workdir") + 1] if "--workdir" in args else None
        self.expect(workdir in mounts, f"{where}: the workdir {workdir} is a volume")
        return c.get("image"), named, port

    def check_service(self, where, svc, pod_labels, named_ports, port):
        selector = svc["spec"].get("selector", {})
        self.expect(selector and all(pod_labels.get(k) == v for k, v in selector.items()),
                    f"{where}: Service selects the pods ({selector})")
        targets = [p.get("targetPort", p["port"]) for p in svc["spec"]["ports"]]
        self.expect(all(named_ports.get(t, t) == port for t in targets),
                    f"{where}: Service reaches port {port} ({targets})")

    def check_manifests(self):
        print("deployment.yaml")
        docs = {d["kind"]: d for d in self.load("deployment.yaml")}
        self.expect(set(docs) == {"Deployment", "Service"},
                    f"Deployment and Service ({sorted(docs)})")
        dep = docs["Deployment"]
        labels = dep["spec"]["template"]["metadata"]["labels"]
        self.expect(dep["spec"]["selector"]["matchLabels"].items() <= labels.items(),
                    "the Deployment's selector matches its pods")
        image, named, port = self.check_pod("Deployment", dep["spec"]["template"]["spec"], labels)
        self.check_service("deployment.yaml", docs["Service"], labels, named, port)

        print("kustomization.yaml")
        kust = self.load("kustomization.yaml")[0]
        self.expect(all(os.path.exists(os.path.join(self.dir, r)) for r in kust["resources"]),
                    f"resources exist: {kust['resources']}")
        images = {i["name"]: f"{i['newName']}:{i['newTag']}" for i in kust.get("images", [])}
        self.expect(image in images,
                    f"the Deployment's image '{image}' is set by the kustomization")
        full_image = images.get(image)

        print("fan-out-job.yaml")
        docs = {d["kind"]: d for d in self.load("fan-out-job.yaml")}
        self.expect(set(docs) == {"Job", "Service"}, f"Job and Service ({sorted(docs)})")
        job, svc = docs["Job"], docs["Service"]
        spec = job["spec"]
        self.expect(spec.get("completionMode") == "Indexed", "an Indexed Job (pods named by index)")
        self.expect(spec.get("completions") == spec.get("parallelism"),
                    "all pods at once (completions == parallelism)")
        self.expect(spec.get("activeDeadlineSeconds", 0) > 0,
                    "activeDeadlineSeconds bounds workers a dead driver leaves behind")
        pod = spec["template"]["spec"]
        self.expect(pod.get("restartPolicy") == "Never", "restartPolicy Never")
        labels = spec["template"]["metadata"]["labels"]
        fan_image, named, port = self.check_pod("Job", pod, labels)
        self.expect(fan_image == full_image,
                    f"the Job runs the kustomization's image {full_image} ({fan_image})")
        self.expect(svc["spec"].get("clusterIP") == "None" and
                    pod.get("subdomain") == svc["metadata"]["name"],
                    "a headless Service named by the pods' subdomain (DNS name per pod)")
        self.check_service("fan-out-job.yaml", svc, labels, named, port)
        with open(os.path.join(self.dir, "fan-out.sh")) as f:
            script = f.read()
        self.expect(f"job={job['metadata']['name']}" in script and SECRET in script,
                    "fan-out.sh uses the Job's name and the Secret")
        with open(os.path.join(self.root, "README.md")) as f:
            readme = f.read()
        create = f"kubectl create secret generic {SECRET} --from-literal={SECRET_KEY}="
        self.expect(create in readme, "the README creates the Secret the manifests read")
        return job["metadata"]["name"], full_image

    def check_kustomize(self, image):
        print("kubectl kustomize")
        kubectl = shutil.which("kubectl")
        if not kubectl:
            print("  (kubectl not installed: not rendered)")
            return
        r = subprocess.run([kubectl, "kustomize", self.dir], capture_output=True, text=True,
                           timeout=60)
        rendered = [d for d in yaml.safe_load_all(r.stdout) if d] if r.returncode == 0 else []
        images = [c["image"] for d in rendered if d["kind"] == "Deployment"
                  for c in d["spec"]["template"]["spec"]["containers"]]
        self.expect(r.returncode == 0 and images == [image],
                    f"kubectl kustomize renders the Deployment with {image} {r.stderr.strip()}")

    def rehearse_fan_out(self, agentrt, fan_out, job_name, image):
        print("fan-out.sh with a stand-in kubectl")
        fake = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_kubectl.py")
        with tempfile.TemporaryDirectory() as state:
            kubectl = os.path.join(state, "kubectl")
            with open(kubectl, "w") as f:
                f.write(f"#!/bin/sh\nexec {sys.executable} {fake} \"$@\"\n")
            os.chmod(kubectl, 0o755)
            base = free_port_block(5)
            env = dict(os.environ, KUBECTL=kubectl, AGENTRT_FAN_OUT=fan_out,
                       FAKE_KUBECTL_STATE=state, FAKE_KUBECTL_AGENTRT=agentrt,
                       FAKE_KUBECTL_TOKEN="fan-out-token-42", FAN_OUT_READY_TIMEOUT="60")
            script = os.path.join(self.dir, "fan-out.sh")
            for count, command, expect_status in ((3, "echo hello from $PWD", 0), (2, "exit 3", 1)):
                env["FAN_OUT_BASE_PORT"] = str(base)
                open(os.path.join(state, "calls.jsonl"), "w").close()
                r = run(["bash", script, "-n", str(count), "--", command], timeout=120, env=env)
                with open(os.path.join(state, "calls.jsonl")) as f:
                    calls = [json.loads(line) for line in f]
                with open(os.path.join(state, "applied.json")) as f:
                    applied = {d["kind"]: d for d in json.load(f)}
                what = f"fan-out.sh -n {count} -- '{command}'"
                self.expect(r.returncode == expect_status,
                            f"{what}: exit {expect_status} ({r.returncode})")
                rows = [ln for ln in r.stdout.splitlines() if ln.startswith("ws://127.0.0.1:")]
                status = "ok" if expect_status == 0 else "failed"
                self.expect(len(rows) == count and all(f"  {status} " in ln for ln in rows),
                            f"{what}: fan_out reports {count} runtimes '{status}'")
                job = applied.get("Job", {})
                pod = job.get("spec", {}).get("template", {}).get("spec", {})
                self.expect(job.get("spec", {}).get("completions") == count
                            and job["spec"].get("parallelism") == count,
                            f"{what}: applied the Job with {count} pods")
                self.expect([c["image"] for c in pod.get("containers", [])] == [image],
                            f"{what}: applied the Job with the image {image}")
                forwards = [c for c in calls if c["argv"][0] == "port-forward"]
                self.expect(len(forwards) == count, f"{what}: one port-forward per pod")
                deleted = {tuple(c["argv"][1:3]) for c in calls if c["argv"][0] == "delete"}
                self.expect({("job", job_name), ("service", job_name)} <= deleted,
                            f"{what}: deleted the Job and its Service ({sorted(deleted)})")
                self.expect(not any(c.get("unexpected") for c in calls),
                            f"{what}: made only the kubectl calls the stand-in knows")
                base += count
            left = subprocess.run(["pgrep", "-f", f"{agentrt} --host 127.0.0.1 --port"],
                                  capture_output=True, text=True).stdout.split()
            self.expect(not left, f"no forwarded agentrt left running ({left})")


def main():
    if len(sys.argv) != 4:
        fail(__doc__)
    repo, agentrt, fan_out = sys.argv[1:]
    c = Checker(repo)
    job_name, image = c.check_manifests()
    c.check_kustomize(image)
    if fan_out == "none":
        print("(the fan_out sample is not built (-DAGENTRT_BUILD_SAMPLES=OFF): fan-out.sh was "
              "not rehearsed)")
    elif shutil.which("pgrep") is None:
        print("(pgrep not found: fan-out.sh was not rehearsed)")
    else:
        c.rehearse_fan_out(os.path.abspath(agentrt), os.path.abspath(fan_out), job_name, image)
    c.finish()


if __name__ == "__main__":
    main()
