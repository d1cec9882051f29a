"""Documentation checks (CTest label `docs`), plain Python:

    check_docs.py includes REPO   every block after an `<!-- include: PATH -->` line in a
                                  Markdown file equals the file PATH (relative to the
                                  repository) byte for byte, and every file in docs/examples
                                  is included somewhere
    check_docs.py links REPO      every relative link in every Markdown file names a file
                                  inside the repository that exists, every #anchor names a
                                  heading of its target, and no file refers to the team's
                                  documents outside the repository
"""
import os
import re
import subprocess
import sys

INCLUDE = re.compile(r"^<!-- include: (\S+) -->\n```[^\n]*\n(.*?)^```$", re.M | re.S)
FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
CODE_SPAN = re.compile(r"`+[^`\n]*`+")
INLINE_LINK = re.compile(r"!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$", re.M)
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$", re.M)
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
# Documents that exist only beside the repository, in the team's shared folder. Spelled so
# that this file does not match itself.
OUTSIDE = re.compile(r"\.\./shared/|\b(?:PROTOCOL|HARNESSES)\.md\b")


def fail(problems):
    for p in problems:
        print(f"FAILED: {p}")
    sys.exit(1 if problems else 0)


def repo_files(root):
    """The repository's files as git sees them (tracked, and new ones not ignored), or every
    file outside .git and build trees when git is absent."""
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], capture_output=True, check=True).stdout
        names = {f for f in out.decode().split("\0") if f}
        return sorted(f for f in names if os.path.isfile(os.path.join(root, f)))
    except (OSError, subprocess.CalledProcessError):
        found = []
        for top, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d != ".git" and not d.startswith("build")
                       and not os.path.exists(os.path.join(top, d, "CMakeCache.txt"))]
            found += [os.path.relpath(os.path.join(top, f), root) for f in files]
        return sorted(found)


def read(root, rel):
    with open(os.path.join(root, rel), encoding="utf-8") as f:
        return f.read()


def check_includes(root):
    problems = []
    included = set()
    for rel in (f for f in repo_files(root) if f.endswith(".md")):
        for match in INCLUDE.finditer(read(root, rel)):
            target, shown = match.group(1), match.group(2)
            included.add(target)
            path = os.path.join(root, target)
            if not os.path.isfile(path):
                problems.append(f"{rel}: includes {target}, which does not exist")
                continue
            actual = read(root, target)
            if shown == actual:
                print(f"ok: {rel} shows {target} verbatim ({len(actual.splitlines())} lines)")
                continue
            a, b = shown.splitlines(), actual.splitlines()
            line = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            problems.append(f"{rel}: the block after '<!-- include: {target} -->' differs from "
                            f"the file at its line {line + 1}: "
                            f"{(a[line] if line < len(a) else '<end>')!r} vs "
                            f"{(b[line] if line < len(b) else '<end>')!r}")
    for rel in repo_files(root):
        if rel.startswith("docs/examples/") and rel not in included:
            problems.append(f"{rel} is not shown by any document (<!-- include: {rel} -->)")
    if not included:
        problems.append("no <!-- include: PATH --> blocks found")
    fail(problems)


def slug(heading):
    """GitHub's anchor for a heading: link and code markup dropped, lower case, punctuation
    other than '-' and '_' removed, spaces to '-'."""
    text = INLINE_LINK.sub(lambda m: m.group(1), heading)
    text = re.sub(r"[`*]", "", text).strip().lower()
    text = "".join(c for c in text if c.isalnum() or c in "-_ ")
    return text.replace(" ", "-")


def anchors(text):
    seen = {}
    out = set()
    for match in HEADING.finditer(FENCE.sub("", text)):
        base = slug(match.group(2))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def check_links(root):
    problems = []
    root = os.path.realpath(root)
    files = repo_files(root)
    checked = 0
    for rel in files:
        try:
            text = read(root, rel)
        except (UnicodeDecodeError, OSError):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                problems.append(f"{rel}:{number}: refers to a document outside the repository: "
                                f"{line.strip()[:120]}")
        if not rel.endswith(".md"):
            continue
        prose = CODE_SPAN.sub("", FENCE.sub("", text))
        targets = [m.group(2) for m in INLINE_LINK.finditer(prose)]
        targets += [m.group(1) for m in REFERENCE_DEF.finditer(prose)]
        here = os.path.dirname(os.path.join(root, rel))
        for target in targets:
            if SCHEME.match(target):
                continue
            checked += 1
            path, _, anchor = target.partition("#")
            resolved = os.path.realpath(os.path.join(here, path)) if path else os.path.join(root, rel)
            if resolved != root and not resolved.startswith(root + os.sep):
                problems.append(f"{rel}: link {target} leaves the repository")
                continue
            if not os.path.exists(resolved):
                problems.append(f"{rel}: link {target}: no such file")
                continue
            if anchor and resolved.endswith(".md") and anchor not in anchors(read(root, os.path.relpath(resolved, root))):
                problems.append(f"{rel}: link {target}: no heading with that anchor")
    print(f"checked {checked} relative links in {sum(f.endswith('.md') for f in files)} Markdown files")
    fail(problems)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("includes", "links"):
        print(__doc__)
        sys.exit(2)
    (check_includes if sys.argv[1] == "includes" else check_links)(sys.argv[2])
