#!/usr/bin/env python3
"""A stand-in agent for the samples' CI runs (there is no model API on the build machines):
a handler for `agentrt --handler` that answers a query by looking at its working directory
for real — it counts the files of the repository the sample unpacked there and names their
languages — and returns the answer as structured output when the request asks for it.
Speaks the custom handler protocol: one JSON line on stdin, JSON lines on stdout."""
import json
import os
import sys

EXTENSIONS = {".c": "C", ".cc": "C++", ".cpp": "C++", ".h": "C", ".hpp": "C++", ".py": "Python",
              ".sh": "Shell", ".md": "Markdown", ".js": "JavaScript", ".ts": "TypeScript",
              ".go": "Go", ".rs": "Rust", ".txt": "Text"}

request = json.loads(sys.stdin.readline())
root = os.path.join(os.getcwd(), "repo") if os.path.isdir("repo") else os.getcwd()
files = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]
languages = sorted({EXTENSIONS[os.path.splitext(f)[1]] for f in files
                    if os.path.splitext(f)[1] in EXTENSIONS})
summary = f"{len(files)} files under {os.path.basename(root)}: {', '.join(languages) or 'none'}"
print(json.dumps({"type": "assistant", "text_blocks": [f"Looked at {root}: {summary}"]}),
      flush=True)
if request.get("output_format"):
    data = {"type": "structured_output",
            "structured_output": {"summary": summary, "file_count": len(files),
                                  "languages": languages}}
else:
    data = {"type": "text", "text": summary}
print(json.dumps({"type": "result", "data": data, "metadata": {"handler": "summary_handler"}}),
      flush=True)
