"""The deploy recipes checked with the platforms' own npm packages (no account, no cluster):

- E2B: template.ts, build.ts and start_sandbox.ts type-check against the `e2b` SDK (strict tsc),
  and the template, run with that SDK, yields the build E2B would receive
  (Template.toJSON, file hashes on: every COPY source resolves, with a stand-in release tarball):
  the pinned base image, the tarball copied and installed by install-release.sh, no ENV value
  with stray quotes, agentrt as the start command and a GET /health ready check;
- Docker: both Dockerfiles pass dockerfile-utils' validator (the one behind VS Code's Docker
  support: instructions, arguments, flags, JSON forms) with no error;
- Kubernetes: every object of deployment.yaml and fan-out-job.yaml type-checks as its Kubernetes
  API type (kubernetes-types): a misspelled or misplaced field fails;
- GitHub Actions: samples/ci/github-actions.yml passes GitHub's workflow parser
  (@actions/workflow-parser: schema, contexts allowed per key, expressions);
- GitLab CI: samples/ci/gitlab-ci.yml passes GitLab's .gitlab-ci.yml JSON schema (the copy
  gitlab-ci-local ships, with ajv as gitlab-ci-local runs it);
- Daytona: the Image builder methods (with their argument counts) and the parameter fields the
  Python recipe uses exist in Daytona's TypeScript SDK, whose API mirrors the Python one
  (snake_case there, camelCase here); the Python SDK itself is not installable here.

    check_recipes_npm.py REPO_ROOT CACHE_DIR

The packages are installed with npm into CACHE_DIR (versions pinned: sandbox-images/e2b/package.json
and below), once per version change. Skips, saying why, without node/npm or when the registry
cannot be reached.
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
from agentrt_fixture import Checks, fail, run, skip  # noqa: E402

try:
    import yaml
except ImportError:  # python3-yaml (Debian) or PyYAML
    skip("the Python yaml module is not installed (Debian: python3-yaml)")

CHECK_PACKAGES = {"kubernetes-types": "1.30.0", "@actions/workflow-parser": "0.3.61",
                  "@daytonaio/sdk": "0.218.0", "dockerfile-utils": "0.16.3",
                  # 4.60: later releases need Node.js 22
                  "gitlab-ci-local": "4.60.0"}
DOCKERFILES = ("sandbox-images/docker/Dockerfile", "sandbox-images/e2b/e2b.Dockerfile")
E2B_SOURCES = ("template.ts", "build.ts", "start_sandbox.ts")
K8S_TYPES = {"Deployment": ("apps/v1", "Deployment"), "Service": ("core/v1", "Service"),
             "Job": ("batch/v1", "Job")}
# Node 20 imports JSON modules only with an import attribute, which @actions/workflow-parser's
# ES modules leave out; this loader hook adds it.
JSON_HOOK = """export async function load(url, context, next) {
  if (url.endsWith('.json')) return next(url, { ...context, importAttributes: { type: 'json' } })
  return next(url, context)
}
"""


class Checker(Checks):
    def __init__(self, root, cache):
        super().__init__()
        self.root = root
        self.cache = cache

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def node_json(self, script, *args, node_args=(), stdin=None, env=None):
        """Runs a node script from the cache directory; (its stdout as JSON, or None, stderr)."""
        r = subprocess.run(["node", *node_args, script, *args], input=stdin, capture_output=True,
                           text=True, timeout=120, cwd=self.cache, env=env)
        try:
            return json.loads(r.stdout), r.stderr
        except ValueError:
            return None, r.stderr.strip()[-500:]

    def install(self):
        with open(self.path("sandbox-images", "e2b", "package.json")) as f:
            recipe = json.load(f)
        wanted = {**{k: v for k, v in recipe["dependencies"].items()},
                  **{k: v for k, v in recipe["devDependencies"].items() if k != "tsx"},
                  **CHECK_PACKAGES}
        os.makedirs(self.cache, exist_ok=True)
        stamp_path = os.path.join(self.cache, "node_modules", ".agentrt-stamp")
        stamp = json.dumps(wanted, sort_keys=True)
        if os.path.exists(stamp_path) and open(stamp_path).read() == stamp:
            print(f"npm packages already in {self.cache}: {stamp}")
            return
        with open(os.path.join(self.cache, "package.json"), "w") as f:
            json.dump({"private": True, "dependencies": wanted}, f, indent=2)
        # No install scripts: nothing here needs one, and gitlab-ci-local's re2 would compile.
        r = run(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund",
                 "--loglevel=error"], timeout=900, cwd=self.cache)
        if r.returncode != 0:
            skip(f"npm install failed (is the npm registry reachable?): {r.stderr.strip()[-300:]}")
        with open(stamp_path, "w") as f:
            f.write(stamp)

    # ---- TypeScript: the E2B sources, the Kubernetes objects, the Daytona calls ----------------
    def k8s_source(self):
        lines, count = [], 0
        imports = {f'import type {{ {t} }} from "kubernetes-types/{m}";'
                   for m, t in K8S_TYPES.values()}
        for name in ("deployment.yaml", "fan-out-job.yaml"):
            with open(self.path("sandbox-images", "kubernetes", name)) as f:
                docs = [d for d in yaml.safe_load_all(f) if d]
            for doc in docs:
                kind = doc.get("kind")
                if kind not in K8S_TYPES:
                    self.expect(False, f"{name}: a type for kind {kind}")
                    continue
                lines.append(f"// {name}: {kind} {doc['metadata']['name']}")
                lines.append(f"export const object{count}: {K8S_TYPES[kind][1]} = "
                             f"{json.dumps(doc, indent=2)};")
                count += 1
        self.k8s_objects = count
        return "\n".join(sorted(imports) + lines) + "\n"

    def daytona_source(self):
        """TypeScript making the same calls as the Python recipe, translated to camelCase."""
        camel = lambda s: re.sub(r"_(\w)", lambda m: m.group(1).upper(), s)  # noqa: E731
        out = ['import { Image } from "@daytonaio/sdk";',
               'import type { CreateSnapshotParams, CreateSandboxFromSnapshotParams, Resources } '
               'from "@daytonaio/sdk";',
               "declare const image: Image;", "const x: any = null;"]
        self.daytona_calls = []
        for rel in ("agentrt_snapshot.py", "start_sandbox.py"):
            tree = ast.parse(open(self.path("sandbox-images", "daytona", rel)).read())
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                if isinstance(func, ast.Attribute):
                    recv = func.value
                    while isinstance(recv, ast.Call) and isinstance(recv.func, ast.Attribute):
                        recv = recv.func.value
                    if isinstance(recv, ast.Name) and recv.id in ("Image", "image"):
                        receiver = "Image" if func.value is recv and recv.id == "Image" else "image"
                        args = ", ".join("x" for _ in node.args)
                        out.append(f"{receiver}.{camel(func.attr)}({args});  // {rel}: {func.attr}")
                        self.daytona_calls.append(func.attr)
                elif isinstance(func, ast.Name) and func.id in (
                        "CreateSnapshotParams", "CreateSandboxFromSnapshotParams", "Resources"):
                    fields = ", ".join(f"{camel(k.arg)}: x" for k in node.keywords)
                    out.append(f"export const p{len(out)}: {func.id} = {{ {fields} }};  // {rel}")
                    self.daytona_calls.append(func.id)
        return "\n".join(out) + "\n"

    def typecheck(self):
        print("tsc --strict: the E2B template, the Kubernetes objects, the Daytona calls")
        gen = os.path.join(self.cache, "generated")
        os.makedirs(gen, exist_ok=True)
        with open(os.path.join(gen, "kubernetes.ts"), "w") as f:
            f.write(self.k8s_source())
        with open(os.path.join(gen, "daytona.ts"), "w") as f:
            f.write(self.daytona_source())
        modules = os.path.join(self.cache, "node_modules")
        e2b_dir = self.path("sandbox-images", "e2b")
        config = {
            "compilerOptions": {
                "strict": True, "target": "ES2022", "module": "commonjs",
                "moduleResolution": "node", "esModuleInterop": True, "skipLibCheck": True,
                "types": ["node"], "typeRoots": [os.path.join(modules, "@types")],
                "baseUrl": ".", "paths": {"*": [os.path.join(modules, "*")]},
                "rootDir": "/", "outDir": os.path.join(self.cache, "out"),
            },
            "files": [os.path.join(e2b_dir, s) for s in E2B_SOURCES]
                     + [os.path.join(gen, "kubernetes.ts"), os.path.join(gen, "daytona.ts")],
        }
        tsconfig = os.path.join(self.cache, "tsconfig.check.json")
        with open(tsconfig, "w") as f:
            json.dump(config, f, indent=2)
        r = run([os.path.join(modules, ".bin", "tsc"), "-p", tsconfig], timeout=300)
        errors = [ln for ln in r.stdout.splitlines() if ": error TS" in ln]
        by_file = lambda part: [e for e in errors if part in e]  # noqa: E731
        for s in E2B_SOURCES:
            self.expect(not by_file(f"e2b/{s}"), f"sandbox-images/e2b/{s} type-checks")
        self.expect(self.k8s_objects >= 4 and not by_file("kubernetes.ts"),
                    f"{self.k8s_objects} Kubernetes objects type-check as their API types")
        self.expect(len(self.daytona_calls) >= 6 and not by_file("daytona.ts"),
                    "the Daytona recipe's calls exist in the SDK: "
                    f"{sorted(set(self.daytona_calls))}")
        self.expect(r.returncode == 0, f"tsc exit 0 ({r.returncode})")
        return os.path.join(self.cache, "out") + e2b_dir

    # ---- E2B: the template as E2B's SDK serialises it -----------------------------------------
    def e2b_template(self, out_dir):
        print("the E2B template, serialised by the e2b SDK (Template.toJSON)")
        with open(self.path("CMakeLists.txt")) as f:
            version = re.search(r"project\(agentrt\s+VERSION\s+([0-9][^\s)]*)", f.read()).group(1)
        with open(self.path("sandbox-images", "e2b", "e2b.Dockerfile")) as f:
            base = re.search(r"^FROM\s+(\S+)", f.read(), re.M).group(1)
        with tempfile.TemporaryDirectory() as ctx:
            shutil.copytree(self.path("sandbox-images"), os.path.join(ctx, "sandbox-images"))
            os.makedirs(os.path.join(ctx, "dist"))
            tarball = os.path.join(ctx, "dist", f"agentrt-{version}-linux-x86_64.tar.gz")
            with open(tarball, "wb") as f:
                f.write(b"stand-in release tarball")
            script = os.path.join(self.cache, "e2b-dump.js")
            with open(script, "w") as f:
                compiled = json.dumps(os.path.join(out_dir, "template.js"))
                f.write("const { Template } = require('e2b');\n"
                        f"const {{ agentrtTemplate }} = require({compiled});\n"
                        "Template.toJSON(agentrtTemplate('token-for-the-check-0123'), true)\n"
                        "  .then((j) => console.log(j),\n"
                        "        (e) => { console.error(e); process.exit(1) });\n")
            env = dict(os.environ, AGENTRT_REPO=ctx,
                       NODE_PATH=os.path.join(self.cache, "node_modules"))
            build, stderr = self.node_json(script, env=env)
        if build is None:
            self.expect(False, f"the template serialises: {stderr}")
            return
        steps = build.get("steps", [])
        print(json.dumps(build, indent=1)[:3000])
        self.expect(build.get("fromImage") == base, f"E2B builds from the pinned {base}")
        copies = [s for s in steps if s["type"] == "COPY"]
        tarball = f"dist/agentrt-{version}-linux-x86_64.tar.gz"
        self.expect(any(s["args"][0] == tarball for s in copies),
                    f"the release tarball {tarball} is copied in")
        self.expect(copies and all(s.get("filesHash") for s in copies),
                    "every COPY source resolves in the build context (hashed)")
        runs = " ".join(s["args"][0] for s in steps if s["type"] == "RUN")
        self.expect(f"install-release.sh /tmp/agentrt-release/agentrt-{version}-linux-x86_64.tar.gz"
                    in runs, "install-release.sh installs it")
        envs = [s["args"] for s in steps if s["type"] == "ENV"]
        self.expect(all('"' not in v and "'" not in v for a in envs for v in a[1::2]),
                    f"no ENV value carries quotes {envs}")
        start = build.get("startCmd", "")
        self.expect(start.startswith("env AGENTRT_TOKEN=token-for-the-check-0123 "
                                     "/usr/local/bin/agentrt ") and "--port 8080" in start,
                    f"the start command starts agentrt on 8080 with the template's token: {start}")
        ready = build.get("readyCmd", "")
        self.expect("http://127.0.0.1:8080/health" in ready and "curl" in ready,
                    "the ready command waits for GET /health (with curl, which the image has): "
                    f"{ready}")

    # ---- Dockerfiles -----------------------------------------------------------------------------
    def dockerfiles(self):
        print("the Dockerfiles, validated by dockerfile-utils")
        script = os.path.join(self.cache, "dockerfile-check.js")
        with open(script, "w") as f:
            f.write("const fs = require('fs')\n"
                    "const { validate } = require('dockerfile-utils')\n"
                    "const out = {}\n"
                    "for (const f of process.argv.slice(2)) {\n"
                    "  out[f] = validate(fs.readFileSync(f, 'utf8'))\n"
                    "    .filter((d) => d.severity === 1)\n"
                    "    .map((d) => `line ${d.range.start.line + 1}: ${d.message}`)\n"
                    "}\n"
                    "console.log(JSON.stringify(out))\n")
        with tempfile.TemporaryDirectory() as d:
            broken = os.path.join(d, "Dockerfile.broken")  # proves errors are reported at all
            with open(self.path(DOCKERFILES[0])) as f:
                text = f.read()
            with open(broken, "w") as f:
                f.write(text.replace("EXPOSE 8080", "EXPOSE eighty"))
            files = [self.path(rel) for rel in DOCKERFILES] + [broken]
            errors, stderr = self.node_json(script, *files)
            errors = errors or {f: [stderr] for f in files}
        for rel in DOCKERFILES:
            self.expect(errors.get(self.path(rel)) == [],
                        f"{rel}: no errors {errors.get(self.path(rel))}")
        self.expect(bool(errors.get(broken)),
                    f"the validator does report a broken copy {errors.get(broken)}")

    # ---- GitHub Actions -------------------------------------------------------------------------
    def github_workflow(self):
        print("samples/ci/github-actions.yml, parsed by @actions/workflow-parser")
        hook = os.path.join(self.cache, "json-hook.mjs")
        with open(hook, "w") as f:
            f.write(JSON_HOOK)
        register = os.path.join(self.cache, "register-json.mjs")
        with open(register, "w") as f:
            f.write("import { register } from 'node:module'\n"
                    "register('./json-hook.mjs', import.meta.url)\n")
        script = os.path.join(self.cache, "workflow-check.mjs")
        with open(script, "w") as f:
            f.write("import fs from 'node:fs'\n"
                    "import { parseWorkflow, convertWorkflowTemplate, NoOperationTraceWriter } "
                    "from '@actions/workflow-parser'\n"
                    "const content = fs.readFileSync(process.argv[2], 'utf8')\n"
                    "const result = parseWorkflow({ name: 'github-actions.yml', content }, "
                    "new NoOperationTraceWriter())\n"
                    "const template = await convertWorkflowTemplate(result.context, result.value)\n"
                    "const errors = result.context.errors.getErrors().map((e) => e.message)\n"
                    "console.log(JSON.stringify({ errors, jobs: (template.jobs || []).length }))\n")
        results = {}
        with tempfile.TemporaryDirectory() as d:
            broken = os.path.join(d, "broken.yml")
            with open(self.path("samples", "ci", "github-actions.yml")) as f:
                text = f.read()
            with open(broken, "w") as f:  # proves the parser reports errors at all
                f.write(text.replace("runs-on:", "runs_on:"))
            for name, path in (("sample", self.path("samples", "ci", "github-actions.yml")),
                               ("broken", broken)):
                result, stderr = self.node_json(script, path, node_args=("--import", register))
                results[name] = result or {"errors": [stderr], "jobs": 0}
        print(json.dumps(results))
        self.expect(results["sample"]["errors"] == [] and results["sample"]["jobs"] == 1,
                    f"the workflow is valid: {results['sample']['errors']}")
        self.expect(bool(results["broken"]["errors"]),
                    "the parser does report a broken copy (runs_on for runs-on)")


    # ---- GitLab CI ------------------------------------------------------------------------------
    def gitlab_ci(self):
        print("samples/ci/gitlab-ci.yml, validated against GitLab's CI schema")
        # gitlab-ci-local ships GitLab's .gitlab-ci.yml JSON schema and validates with ajv; its
        # command line needs the native re2 module, which npm would compile here for minutes,
        # so the packages are installed without scripts and the schema is used directly.
        script = os.path.join(self.cache, "gitlab-ci-check.mjs")
        with open(script, "w") as f:
            f.write("import fs from 'node:fs'\n"
                    "import { createRequire } from 'node:module'\n"
                    "import { schema } from 'gitlab-ci-local/src/schema/schema.js'\n"
                    "const require = createRequire(import.meta.resolve("
                    "'gitlab-ci-local/src/validator.js'))\n"
                    "const Ajv = require('ajv').default\n"
                    "const ajv = new Ajv({ allErrors: true, allowUnionTypes: true, "
                    "validateFormats: false, strictTypes: false, "
                    "keywords: ['markdownDescription'] })\n"
                    "const validate = ajv.compile(schema)\n"
                    "const config = JSON.parse(fs.readFileSync(0, 'utf8'))\n"
                    "const ok = validate(config)\n"
                    "console.log(JSON.stringify({ ok, errors: (validate.errors || []).map(\n"
                    "  (e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`) }))\n")
        with open(self.path("samples", "ci", "gitlab-ci.yml")) as f:
            config = yaml.safe_load(f)
        broken = json.loads(json.dumps(config))
        for job in broken.values():  # proves the schema reports errors at all
            job["scripts"] = job.pop("script")
        results = {}
        for name, doc in (("sample", config), ("broken", broken)):
            result, stderr = self.node_json(script, stdin=json.dumps(doc))
            results[name] = result or {"ok": None, "errors": [stderr]}
        print(json.dumps(results))
        self.expect(results["sample"]["ok"] is True,
                    f"the GitLab job passes GitLab's CI schema {results['sample']['errors']}")
        self.expect(results["broken"]["ok"] is False,
                    "the schema does report a broken copy (scripts for script)")


def main():
    if len(sys.argv) != 3:
        fail(__doc__)
    for tool in ("node", "npm"):
        if not shutil.which(tool):
            skip(f"{tool} not found: the recipes are not type-checked (install Node.js and npm)")
    c = Checker(os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]))
    c.install()
    out_dir = c.typecheck()
    c.e2b_template(out_dir)
    c.dockerfiles()
    c.github_workflow()
    c.gitlab_ci()
    c.finish()


if __name__ == "__main__":
    main()
