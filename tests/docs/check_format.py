#!/usr/bin/env python3
"""Checks that every C++ file of the tree is as clang-format (the root .clang-format) writes it.

    check_format.py SOURCE_DIR [CLANG_FORMAT]

Fix what it reports with `clang-format -i FILE...` (the files are listed). Generated and third-
party text is not checked: build trees, the fuzz corpora, and hidden directories.
"""
import os
import subprocess
import sys

EXTENSIONS = (".cpp", ".hpp", ".h", ".cc")
SKIP_DIRS = {"corpus", "node_modules", "dist"}


def sources(root):
    for top in ("runtime", "client", "shared", "tests", "samples"):
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames[:] = sorted(d for d in dirnames
                                 if not d.startswith(".") and not d.startswith("build")
                                 and d not in SKIP_DIRS)
            for name in sorted(filenames):
                if name.endswith(EXTENSIONS):
                    yield os.path.join(dirpath, name)


def main():
    root = sys.argv[1]
    tool = sys.argv[2] if len(sys.argv) > 2 else "clang-format"
    files = list(sources(root))
    if not files:
        print("check_format: no C++ files under " + root)
        return 1
    unformatted = []
    for i in range(0, len(files), 64):
        batch = files[i:i + 64]
        r = subprocess.run([tool, "--dry-run", "--Werror", "--style=file"] + batch,
                           capture_output=True, text=True)
        if r.returncode != 0:
            # One warning per differing line; keep one entry per file.
            for f in batch:
                if f + ":" in r.stderr:
                    unformatted.append(os.path.relpath(f, root))
            if not unformatted:
                print(r.stderr)
                return 1
    print("check_format: %d C++ files checked with %s" % (len(files), tool))
    if unformatted:
        print("not clang-format clean (run: clang-format -i FILE...):")
        for f in unformatted:
            print("  " + f)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
