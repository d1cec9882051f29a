"""Every binary reports the project version (CTest `docs.versions`), plain Python:

    check_versions.py VERSION CHANGELOG NAME=PATH...

VERSION is the project's (CMake's PROJECT_VERSION) and must be a semantic version; each
`PATH --version` must exit 0 and print exactly "NAME VERSION"; CHANGELOG (Keep a Changelog)
must have an [Unreleased] section and one for VERSION.
"""
import re
import subprocess
import sys

SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")


def main(version, changelog, binaries):
    problems = []
    if not SEMVER.match(version):
        problems.append(f"project version {version!r} is not a semantic version")
    with open(changelog, encoding="utf-8") as f:
        headings = re.findall(r"^## \[([^\]]+)\]", f.read(), re.M)
    for wanted in ("Unreleased", version):
        if wanted not in headings:
            problems.append(f"{changelog} has no '## [{wanted}]' section (has: {headings})")
    for spec in binaries:
        name, _, path = spec.partition("=")
        try:
            run = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
        except OSError as e:
            problems.append(f"{name}: cannot run {path} ({e}); is it built?")
            continue
        expected = f"{name} {version}\n"
        if run.returncode != 0 or run.stdout != expected:
            problems.append(f"{path} --version: exit {run.returncode}, stdout {run.stdout!r}, "
                            f"stderr {run.stderr.strip()[:200]!r}; expected {expected!r}")
        else:
            print(f"ok: {run.stdout.strip()}")
    for p in problems:
        print(f"FAILED: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) < 4:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
