#!/usr/bin/env python3
"""Runs clang-tidy (the root .clang-tidy) over the first-party sources of a build.

    check_tidy.py SOURCE_DIR BUILD_DIR [CLANG_TIDY] [--jobs N] [--dirs DIR,...]
                  [--exceptions FILE]

Every .cpp under the chosen directories (default: runtime/src, client/src, client/cli,
shared/src) that BUILD_DIR/compile_commands.json compiles is checked once, N at a time (default:
the CPU count). Findings in the project's own headers are reported once however many files
include them; FILE (tests/docs/tidy_exceptions.txt) lists "PATH CHECK reason" pairs that are
tolerated, counted apart. Exits 1 when there is any other finding, listing each and a count per check, and
prints the wall and CPU time it took as a `[ figures  ]` line.
"""
import argparse
import collections
import concurrent.futures
import json
import os
import re
import resource
import subprocess
import sys
import time

DEFAULT_DIRS = ("runtime/src", "client/src", "client/cli", "shared/src")
# "path:line:col: warning: text [check,alias]"; errors too (a file clang cannot compile).
FINDING = re.compile(r"^(?P<where>[^\s:][^:]*:\d+:\d+): (?P<kind>warning|error): "
                     r"(?P<text>.*?) \[(?P<check>[^\]]+)\]$")


def translation_units(source_dir, build_dir, dirs):
    with open(os.path.join(build_dir, "compile_commands.json")) as f:
        entries = json.load(f)
    roots = tuple(os.path.join(os.path.realpath(source_dir), d) + os.sep for d in dirs)
    files = set()
    for e in entries:
        path = os.path.realpath(os.path.join(e.get("directory", ""), e["file"]))
        if path.endswith(".cpp") and path.startswith(roots):
            files.add(path)  # a file built into two targets (portable binaries) counts once
    return sorted(files)


def run_one(tool, build_dir, path, seconds):
    started = time.monotonic()
    r = subprocess.run([tool, "-p", build_dir, "--quiet", path],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seconds[path] = time.monotonic() - started
    findings = []
    for line in r.stdout.splitlines():
        m = FINDING.match(line.strip())
        if m:
            # With WarningsAsErrors the check reads "name,-warnings-as-errors".
            check = m.group("check").split(",")[0]
            findings.append((m.group("where"), m.group("kind"), m.group("text"), check))
    # A non-zero exit without a parsed finding (a crash, a missing database entry) is one too.
    if r.returncode != 0 and not findings:
        findings.append((path, "error", "clang-tidy exited with %d:\n%s" %
                         (r.returncode, r.stdout[-2000:]), "clang-tidy"))
    return findings


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("source_dir")
    ap.add_argument("build_dir")
    ap.add_argument("clang_tidy", nargs="?", default="clang-tidy")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--dirs", default=",".join(DEFAULT_DIRS))
    ap.add_argument("--exceptions")
    args = ap.parse_args()
    tolerated_pairs = set()
    if args.exceptions:
        with open(args.exceptions) as f:
            for line in f:
                fields = line.split()
                if fields and not fields[0].startswith("#"):
                    tolerated_pairs.add((fields[0], fields[1]))

    files = translation_units(args.source_dir, args.build_dir, args.dirs.split(","))
    if not files:
        print("check_tidy: no files of %s in %s/compile_commands.json" %
              (args.dirs, args.build_dir))
        return 1
    started = time.monotonic()
    findings = set()
    seconds = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for result in pool.map(lambda p: run_one(args.clang_tidy, args.build_dir, p, seconds),
                               files):
            findings.update(result)
    wall = time.monotonic() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime

    root = os.path.realpath(args.source_dir) + os.sep
    per_check = collections.Counter()
    tolerated = 0
    for where, kind, text, check in sorted(findings):
        where = where.replace(root, "")
        if (where.split(":")[0], check) in tolerated_pairs:
            tolerated += 1
            continue
        print("%s: %s: %s [%s]" % (where, kind, text, check))
        per_check[check] += 1
    for check, n in per_check.most_common():
        print("  %4d  %s" % (n, check))
    by_dir = collections.Counter()
    for path, s in seconds.items():
        by_dir[os.path.dirname(path.replace(root, ""))] += s
    print("[ figures  ] clang-tidy wall seconds per directory (summed over files): " +
          ", ".join("%s %.0f" % (d, s) for d, s in sorted(by_dir.items())))
    reported = sum(per_check.values())
    print("[ figures  ] clang-tidy: %d files, %d jobs: %.0f s wall, %.0f s CPU; %d findings, "
          "%d more tolerated (--exceptions)" % (len(files), args.jobs, wall, cpu, reported,
                                                tolerated))
    return 1 if reported else 0


if __name__ == "__main__":
    sys.exit(main())
