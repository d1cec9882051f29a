#!/usr/bin/env python3
"""Deterministic agentrt --handler for the runtimeuse conformance check.

Speaks agentrt's custom handler protocol (docs/protocol.md): one JSON line on stdin,
JSON lines on stdout. It mirrors the prompt prefixes the runtimeuse e2e suite
drives its echo handler with, so their tests can run against agentrt unchanged:

  ECHO:<text>            text result <text>
  STRUCTURED:<json>      structured_output result <json>
  SLOW:<ms>              sleep, then text "done"           (timeout / cancel)
  STREAM:<n>             n assistant messages, then text "streamed <n> messages"
  STREAM_TEXT:<text>     one assistant message <text>, then text "done"
  WRITE_FILE:<path> <c>  write <c> to <path>, wait 3 s, text "wrote <path>"
  READ_FILE:<path>       text result = the file's contents
  ERROR:<msg>            error line <msg>, exit 1
  anything else          echoed back as text
"""
import json
import os
import sys
import time


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def text(t):
    emit({"type": "result", "data": {"type": "text", "text": t}, "metadata": {}})


def main():
    request = json.loads(sys.stdin.readline())
    prompt = request["user_prompt"]

    if prompt.startswith("ECHO:"):
        text(prompt[len("ECHO:"):])
    elif prompt.startswith("STRUCTURED:"):
        emit({"type": "result",
              "data": {"type": "structured_output",
                       "structured_output": json.loads(prompt[len("STRUCTURED:"):])},
              "metadata": {}})
    elif prompt.startswith("SLOW:"):
        time.sleep(int(prompt[len("SLOW:"):]) / 1000.0)
        text("done")
    elif prompt.startswith("STREAM:"):
        count = int(prompt[len("STREAM:"):])
        for i in range(count):
            emit({"type": "assistant", "text_blocks": [f"message {i + 1} of {count}"]})
        text(f"streamed {count} messages")
    elif prompt.startswith("STREAM_TEXT:"):
        emit({"type": "assistant", "text_blocks": [prompt[len("STREAM_TEXT:"):]]})
        text("done")
    elif prompt.startswith("WRITE_FILE:"):
        path, _, content = prompt[len("WRITE_FILE:"):].partition(" ")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(content)
        time.sleep(3)
        text(f"wrote {path}")
    elif prompt.startswith("READ_FILE:"):
        with open(prompt[len("READ_FILE:"):].strip(), encoding="utf-8") as f:
            text(f.read())
    elif prompt.startswith("ERROR:"):
        emit({"type": "error", "error": prompt[len("ERROR:"):],
              "metadata": {"source": "echo_handler"}})
        sys.exit(1)
    else:
        text(prompt)


if __name__ == "__main__":
    main()
