#!/usr/bin/env python3
"""A complete agentrt custom handler in Python, with no dependencies.

    agentrt --handler docs/examples/handler.py

agentrt starts this program once per invocation_message, writes the invocation to its stdin
as one JSON line, and reads JSON lines from its stdout (docs/protocol.md, "The custom handler
protocol"). This one needs no model: it lists the files in its working directory and answers
from what it finds. A real handler calls its model where answer() is.

Cancel: agentrt sends SIGTERM to the handler's process group (SIGKILL after --kill-grace).
Python's default action for SIGTERM ends the program, which is all this handler needs.
"""
import json
import os
import sys
import uuid


def emit(line_type, **fields):
    """Writes one protocol line. Flushed at once: agentrt forwards each line as it arrives."""
    sys.stdout.write(json.dumps({"type": line_type, **fields}) + "\n")
    sys.stdout.flush()


def log(text):
    """stderr is for people: agentrt logs each line (secrets redacted) and quotes the last
    lines in its error_message when the handler fails without an error line."""
    print(text, file=sys.stderr, flush=True)


def answer(prompt, files):
    """The 'model' of this example."""
    shown = ", ".join(files[:10]) + (", ..." if len(files) > 10 else "")
    return f"{len(files)} files here: {shown}" if files else "This directory is empty."


def main():
    invocation = json.loads(sys.stdin.readline())
    prompt = invocation["user_prompt"].strip()
    if not prompt:
        # The last error line becomes the request's error_message when the handler fails.
        emit("error", error="the prompt is empty", metadata={"code": "empty_prompt"})
        return 1

    # A resumed conversation keeps its id (extension: present only when the client asked).
    session_id = invocation.get("resume_session_id") or str(uuid.uuid4())
    model = invocation["model"] or "example-model"
    log(f"session {session_id}, model {model}, source {invocation['source_id']!r}")

    # agent_event lines reach only clients that put "agent_events" in client_capabilities;
    # printing them unconditionally is fine.
    emit("agent_event", event="session",
         data={"session_id": session_id, "harness": "example", "model": model})
    emit("assistant", text_blocks=[f"Looking at {os.getcwd()} to answer: {prompt}"])
    emit("agent_event", event="tool_use",
         data={"id": "call-1", "name": "list_files", "input": {"directory": "."}})
    files = sorted(name for name in os.listdir(".") if not name.startswith("."))
    emit("agent_event", event="tool_result",
         data={"id": "call-1", "output": "\n".join(files), "is_error": False})
    text = answer(prompt, files)
    emit("agent_event", event="usage",
         data={"input_tokens": len(prompt.split()), "output_tokens": len(text.split())})

    metadata = {"session_id": session_id, "num_turns": 1, "model": model}
    if invocation["output_format"] is None:
        emit("result", data={"type": "text", "text": text}, metadata=metadata)
    else:
        # agentrt validates this against the client's schema: a mismatch fails the request.
        structured = {"answer": text, "file_count": len(files), "files": files}
        emit("result", data={"type": "structured_output", "structured_output": structured},
             metadata=metadata)
    return 0


if __name__ == "__main__":
    sys.exit(main())
