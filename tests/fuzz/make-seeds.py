#!/usr/bin/env python3
"""Writes the committed seed corpora of tests/fuzz (corpus/<target>/). Run it only to change
the seeds: CI uses the committed files. Reproducers of past findings (corpus/*/regression-*)
are kept. Deterministic (fixed mtimes), so a re-run rewrites the
same bytes. Needs python3, zstd and libarchive (for 7z, through ctypes).

  python3 tests/fuzz/make-seeds.py
"""
import ctypes
import ctypes.util
import gzip
import bz2
import io
import lzma
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")
MTIME = 1700000000


def reset(name):
    """Empties corpus/<name>, keeping the fuzzers' reproducers (regression-*)."""
    d = os.path.join(CORPUS, name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if not f.startswith("regression-"):
            os.remove(os.path.join(d, f))
    return d


def write(d, name, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# ---- protocol frames -----------------------------------------------------------------------

FRAMES = {
    "invocation": '{"message_type":"invocation_message","source_id":"src-1","system_prompt":"be brief",'
    '"user_prompt":"list files","model":"claude-sonnet-4-5","output_format_json_schema_str":null,'
    '"agent_env":{"FOO":"bar"},"secrets_to_redact":["hunter2","sk-abc"],"artifacts_dirs":["/tmp/out"],'
    '"artifacts_dir":"/tmp/legacy","artifacts_ignore_content":"*.log\\n!keep.log\\n",'
    '"pre_agent_downloadables":[{"download_url":"https://example.com/a.zip","working_dir":"/tmp/w","extract":true}],'
    '"pre_agent_invocation_commands":[{"command":"echo pre","cwd":"/tmp","env":{"A":"1"}}],'
    '"post_agent_invocation_commands":[{"command":"echo post","timeout_s":2.5,"stdin":"in"}],'
    '"client_capabilities":["agent_events","upload_results"],"resume_session_id":"s-9"}',
    "invocation_schema": '{"message_type":"invocation_message","system_prompt":"","user_prompt":"city?",'
    '"model":"m","output_format_json_schema_str":"{\\"type\\":\\"json_schema\\",\\"schema\\":{\\"type\\":\\"object\\"}}",'
    '"secrets_to_redact":null}',
    "command_execution": '{"message_type":"command_execution_message","source_id":"x","secrets_to_redact":["tok"],'
    '"commands":[{"command":"echo hi tok","cwd":"/tmp/a b","env":{"K":"V"},"timeout_s":0},'
    '{"command":"cat","stdin":"\\u00e9\\ud83d\\ude00"}],"pre_execution_downloadables":[],'
    '"artifacts_dirs":[],"artifacts_dir":""}',
    "cancel": '{"message_type":"cancel_message"}',
    "end_session": '{"message_type":"end_session_message","extra":[1,2,{"x":null}]}',
    "upload_response": '{"message_type":"artifact_upload_response_message","filename":"a.txt",'
    '"filepath":"/tmp/out/a.txt","presigned_url":"http://127.0.0.1:9/put?sig=1","content_type":"text/plain"}',
    "result_text": '{"message_type":"result_message","data":{"type":"text","text":"hello"},'
    '"metadata":{"session_id":"s","usage":{"input_tokens":1}}}',
    "result_structured": '{"message_type":"result_message","data":{"type":"structured_output",'
    '"structured_output":{"city":"Paris","n":[1,2.5e10,-0.0,null,true]}},"metadata":null}',
    "command_result": '{"message_type":"command_execution_result_message","results":[{"command":"true",'
    '"exit_code":0,"stdout":"out\\n","stdout_truncated":true},{"command":"false","exit_code":137}]}',
    "error": '{"message_type":"error_message","error":"Request cancelled","metadata":{"code":"cancelled"}}',
    "assistant": '{"message_type":"assistant_message","text_blocks":["one","two"]}',
    "command_output": '{"message_type":"command_output_message","stream":"stderr","text":"x\\ty\\n","command":"ls"}',
    "heartbeat": '{"message_type":"heartbeat_message","phase":"request_in_flight","elapsed_ms":15000.5}',
    "upload_request": '{"message_type":"artifact_upload_request_message","filename":"a.txt","filepath":"/tmp/out/a.txt"}',
    "end_session_confirm": '{"message_type":"end_session_confirm_message"}',
    "agent_event": '{"message_type":"agent_event_message","event":"tool_use","data":{"id":"t1","input":{"command":"ls"}}}',
    "upload_result": '{"message_type":"artifact_upload_result_message","filepath":"/tmp/out/a.txt","ok":false,'
    '"http_status":500,"error":"HTTP 500"}',
    # Durable sessions (docs/durable-sessions.md).
    "session_info": '{"message_type":"session_info_message","session_id":"s-1f2e","resume_token":'
    '"00112233445566778899aabbccddeeff","resumed":true,"resume_window_s":0.5,"detached_window_s":3600,'
    '"last_seq":977,"requests_received":2,"request_in_flight":true}',
    "gap": '{"message_type":"gap_message","from_seq":41,"to_seq":977,"lost":[{"message_type":'
    '"command_output_message","command":"make","stream":"stdout","messages":930,"bytes":61034496},'
    '{"message_type":"assistant_message","messages":1,"bytes":3}]}',
    "detach_confirm": '{"message_type":"detach_confirm_message","session_id":"s-1f2e","expires_in_s":3600,"seq":12}',
    "ack": '{"message_type":"ack_message","seq":18446744073709551615}',
    "detach": '{"message_type":"detach_message"}',
    "numbered_output": '{"message_type":"command_output_message","stream":"stdout","text":"hi\n",'
    '"command":"echo hi","seq":42}',
    "bad_seq": '{"message_type":"result_message","data":{"type":"text","text":"x"},"seq":0}',
    # What a replay carries numbered (an upload request announced again, a terminal), the
    # refusals of a resume, and seq/ack/gap/session_info at the edges of their types.
    "numbered_upload_request": '{"message_type":"artifact_upload_request_message","filename":"a.txt",'
    '"filepath":"/tmp/out/a.txt","seq":977}',
    "numbered_result": '{"message_type":"command_execution_result_message","results":[{"command":"make",'
    '"exit_code":0,"stdout":"ok\\n"}],"seq":9007199254740993}',
    "resume_expired": '{"message_type":"error_message","error":"resume refused: session expired",'
    '"metadata":{"code":"session_expired"}}',
    "resume_refused": '{"message_type":"error_message","error":"resume refused: unknown session or wrong token",'
    '"metadata":{"code":"resume_refused"}}',
    "seq_on_client_message": '{"message_type":"cancel_message","seq":5}',
    "seq_float": '{"message_type":"command_output_message","stream":"stdout","text":"x","command":"c","seq":1.5}',
    "seq_negative": '{"message_type":"assistant_message","text_blocks":["x"],"seq":-1}',
    "seq_string": '{"message_type":"heartbeat_message","phase":"p","elapsed_ms":1,"seq":"7"}',
    "seq_overflow": '{"message_type":"agent_event_message","event":"e","data":{},"seq":18446744073709551616}',
    "ack_zero": '{"message_type":"ack_message","seq":0}',
    "ack_no_seq": '{"message_type":"ack_message"}',
    "ack_negative": '{"message_type":"ack_message","seq":-3}',
    "gap_empty": '{"message_type":"gap_message","from_seq":5,"to_seq":4,"lost":[]}',
    "gap_bad_loss": '{"message_type":"gap_message","from_seq":1,"to_seq":2,"lost":[{"message_type":'
    '"command_output_message","messages":"2","bytes":-1}],"seq":3}',
    "session_info_minimal": '{"message_type":"session_info_message","session_id":"","resume_token":"",'
    '"resumed":false,"resume_window_s":0,"detached_window_s":0,"last_seq":0,"requests_received":0}',
    "session_info_bad_window": '{"message_type":"session_info_message","session_id":"s","resume_token":"t",'
    '"resumed":true,"resume_window_s":-1,"detached_window_s":"x","last_seq":1.5,"requests_received":0,'
    '"request_in_flight":null}',
    "detach_with_fields": '{"message_type":"detach_message","session_id":"s-1f2e","seq":1}',
    # Extensions: a declined upload, per-invocation harness settings.
    "upload_declined": '{"message_type":"artifact_upload_declined_message","filename":"a.txt",'
    '"filepath":"/tmp/out/a.txt","reason":"no bucket"}',
    "harness_settings": '{"message_type":"invocation_message","system_prompt":"","user_prompt":"u","model":"m",'
    '"secrets_to_redact":[],"agent":"claude","harness_settings":{"max_turns":2,"timeout_s":0.5,'
    '"permission_mode":"plan","allowed_tools":["Bash(ls:*)"],"disallowed_tools":[],"max_budget_usd":1e-6,'
    '"token_budget":9223372036854775807,"mcp_servers":{"fs":{"command":"npx","args":["-y","x"]}},'
    '"extra_args":["--verbose"]}}',
    "harness_settings_bad": '{"message_type":"invocation_message","system_prompt":"","user_prompt":"u",'
    '"model":"m","harness_settings":{"max_turns":0,"token_budget":1.5,"mcp_servers":[]}}',
    # Session processes (docs/processes.md).
    "process_start": '{"message_type":"process_start_message","ref":"r1","command":"python3 -m http.server 8000",'
    '"cwd":"/w","env":{"A":"1"},"pty":{"cols":120,"rows":40},"stdin":true,"ready":{"tcp_port":8000,'
    '"probe":"true","timeout_s":30,"interval_s":0.2},"secrets_to_redact":["s"],"timeout_s":3600}',
    "process_start_bad": '{"message_type":"process_start_message","command":"x","pty":{"cols":0,"rows":1001},'
    '"ready":{"tcp_port":65536}}',
    "process_stdin": '{"message_type":"process_stdin_message","process_id":"p1","data_b64":"AAEC/w==","eof":true}',
    "process_stdin_text": '{"message_type":"process_stdin_message","process_id":"p1","text":"1+2\\n"}',
    "process_stdin_bad": '{"message_type":"process_stdin_message","process_id":"p1","data_b64":"YQ=","text":"a"}',
    "process_signal": '{"message_type":"process_signal_message","ref":"k","process_id":"p2","signal":"SIGINT"}',
    "process_resize": '{"message_type":"process_resize_message","process_id":"p2","cols":1000,"rows":1}',
    "process_list": '{"message_type":"process_list_message","ref":"l"}',
    "process_wait": '{"message_type":"process_wait_message","ref":"w","process_id":"p9"}',
    "process_started": '{"message_type":"process_started_message","ref":"r1","process_id":"p1","pid":4242,'
    '"pty":true,"stdin_window":1048576,"seq":3}',
    "process_output_pty": '{"message_type":"process_output_message","process_id":"p1","stream":"pty",'
    '"data_b64":"G1sxbT4+PiA=","seq":4}',
    "process_output_text": '{"message_type":"process_output_message","process_id":"p1","stream":"stdout","text":"x"}',
    "process_stdin_ack": '{"message_type":"process_stdin_ack_message","process_id":"p1","written":262144,"closed":false}',
    "process_ready": '{"message_type":"process_ready_message","process_id":"p1","ready":false,'
    '"error":"not ready after 30 s","elapsed_ms":30001}',
    "process_exit": '{"message_type":"process_exit_message","ref":"w","process_id":"p1","exit_code":143,'
    '"signal":"SIGTERM","timed_out":false}',
    "process_list_result": '{"message_type":"process_list_result_message","processes":[{"process_id":"p1",'
    '"command":"sleep 9","pid":10,"pty":false,"state":"running","ready":true},{"process_id":"p2","command":"false",'
    '"pid":11,"pty":true,"state":"exited","exit_code":1,"signal":"SIGKILL"}]}',
    "process_error": '{"message_type":"process_error_message","ref":"s","process_id":"p7","code":"unknown_process",'
    '"error":"no process p7 in this session"}',
    # Refused frames: each error path of the decoder.
    "bad_json": '{"message_type":"cancel_message",',
    "not_object": '[1,2,3]',
    "no_type": '{"type":"cancel_message"}',
    "unknown_type": '{"message_type":"nope"}',
    "wrong_type": '{"message_type":"command_execution_message","commands":[{"command":"a"},{"command":"b","cwd":5}]}',
    "negative_timeout": '{"message_type":"command_execution_message","commands":[{"command":"a","timeout_s":-1}]}',
    "int_range": '{"message_type":"command_execution_result_message","results":[{"command":"a","exit_code":4294967296}]}',
    "invalid_utf8": b'{"message_type":"assistant_message","text_blocks":["\xff\xfe"]}',
    "big_numbers": '{"message_type":"heartbeat_message","phase":"p","elapsed_ms":1e400}',
}


def protocol_seeds():
    d = reset("protocol_decode")
    for name, frame in FRAMES.items():
        write(d, name + ".json", frame)


# ---- ignore rules --------------------------------------------------------------------------

IGNORE = {
    "gitignore_examples": "# comment\n*.log\n!important.log\n/build/\ndoc/*.txt\ndoc/**/*.pdf\n"
    "**/foo\nabc/**\na/**/b\n\\#hash\n\\!bang\ntrailing\\ \\ \nspaces   \n\0"
    "x.log\nimportant.log\nbuild/\nsub/build/\ndoc/a.txt\ndoc/x/y.txt\ndoc/x/y/z.pdf\n"
    "foo\na/b/foo/\nabc/def\na/b\na/x/y/b\n#hash\n!bang\ntrailing  \nspaces\n",
    "brackets": "[abc]\n[!a-c]x\n[[:alpha:]]*.c\n[]a]\n[a-]\n[\\]]\n[[:bogus:]]\n[unterminated\n\0"
    "a\nbx\ndx\nmain.c\n]\n-\n[\n",
    "only_foo_bar": "/*\n!/foo\n/foo/*\n!/foo/bar\n\0foo/bar/x\nfoo/baz\nother/\nfoo/\n",
    "defaults_paths": "\0node_modules/\nsrc/node_modules/a.js\n.venv/bin/python\ndist\n__pycache__/x.pyc\n"
    "./a//b/./c\n",
    "crlf_bom": "\xef\xbb\xbf*.tmp\r\n!keep.tmp\r\n\0a.tmp\nkeep.tmp\n",
    "stars": "*a*a*a*a*a*b\n**/**/**/x\n***\na**b\n\0aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
    "a/b/c/d/e/f/g/x\nab\n",
}


def ignore_seeds():
    d = reset("ignore_rules")
    for name, text in IGNORE.items():
        write(d, name + ".txt", text.encode("latin-1") if "\xef" in text else text)


# ---- harness event streams -----------------------------------------------------------------

HANDLER = {
    "text_result": '{"type":"assistant","text_blocks":["msg 1","second block"]}\n'
    '{"type":"agent_event","event":"tool_use","data":{"id":"t1","name":"shell","input":{"command":"ls"}}}\n'
    '{"type":"agent_event","event":"bogus","data":{}}\n'
    '{"type":"result","data":{"type":"text","text":"hello there"},"metadata":{"session_id":"s-1","num_turns":1}}\n',
    "structured": '{"type":"result","data":{"type":"structured_output","structured_output":'
    '{"city":"Paris","population":2100000,"tags":["a",{"b":[1,2.5,null]}]}},"metadata":{}}\n',
    "structured_in_text": '{"type":"result","data":{"type":"text","text":"Here:\\n```json\\n{\\"city\\":\\"Rome\\"}\\n```"}}\n',
    "error": '{"type":"assistant","text_blocks":["trying"]}\n'
    '{"type":"error","error":"model refused: quota exceeded","metadata":{"code":429}}\n',
    "garbage": 'this is not json\n{"no_type":true}\n[1,2,3]\n\xff\xfe invalid utf8\r\n'
    '{"type":"assistant","text_blocks":["ok"]}\n'
    '{"type":"result","data":{"type":"text","text":"final without newline"}}',
}


def sse_chunk(delta, finish="null"):
    return ('data: {"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,'
            '"delta":%s,"finish_reason":%s}]}\n\n' % (delta, finish))


def sse_body(text, tool_calls=()):
    out = sse_chunk('{"role":"assistant","content":""}')
    for i in range(0, len(text), 7):
        out += sse_chunk('{"content":"%s"}' % text[i:i + 7].replace('"', '\\"'))
    for i, (cid, name, args) in enumerate(tool_calls):
        half = len(args) // 2
        esc = lambda s: s.replace("\\", "\\\\").replace('"', '\\"')
        out += sse_chunk('{"tool_calls":[{"index":%d,"id":"%s","type":"function","function":'
                         '{"name":"%s","arguments":"%s"}}]}' % (i, cid, name, esc(args[:half])))
        out += sse_chunk('{"tool_calls":[{"index":%d,"function":{"arguments":"%s"}}]}' % (i, esc(args[half:])))
    out += sse_chunk("{}", '"tool_calls"' if tool_calls else '"stop"')
    out += ('data: {"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[],'
            '"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}}\n\n')
    return out + "data: [DONE]\n\n"


SSE = {
    "sse_text": sse_body("Hello, streaming world!"),
    "sse_tool_call": sse_body("", [("call_1", "shell", '{"command":"echo hi"}')]),
    "sse_reasoning_crlf": ('data: {"choices":[{"delta":{"reasoning_content":"think"}}]}\r\n\r\n'
                           ': keep-alive comment\r\n'
                           'data:{"choices":[{"message":{"content":"{\\"city\\":\\"Oslo\\"}"},"finish_reason":"stop"}]}\r\n\r\n'
                           'data: [DONE]\r\n'),
    "sse_error": 'data: {"error":{"message":"rate limited","type":"requests"}}\n\ndata: {"error":"plain"}\n\n',
}


def harness_seeds():
    d = reset("harness_parsers")
    data = os.path.join(REPO, "tests", "runtime", "data")
    for cli in sorted(os.listdir(data)):
        for f in sorted(os.listdir(os.path.join(data, cli))):
            if f.endswith(".jsonl"):
                shutil.copyfile(os.path.join(data, cli, f), os.path.join(d, cli + "_" + f))
    for name, text in HANDLER.items():
        write(d, "handler_" + name + ".jsonl", text.encode("latin-1") if "\xff" in text else text)
    for name, text in SSE.items():
        write(d, "openai_" + name + ".txt", text)


# ---- archives ------------------------------------------------------------------------------

def tar_bytes(entries, fmt=tarfile.PAX_FORMAT):
    """entries: (name, kind, payload, mode) with kind in file/dir/sym/hard/fifo/chr."""
    old = tarfile.RECORDSIZE
    tarfile.RECORDSIZE = 1024  # the two end blocks, no 10 KiB padding
    try:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
            for name, kind, payload, mode in entries:
                ti = tarfile.TarInfo(name)
                ti.mtime = MTIME
                ti.mode = mode
                data = None
                if kind == "file":
                    data = payload.encode() if isinstance(payload, str) else payload
                    ti.size = len(data)
                elif kind == "dir":
                    ti.type = tarfile.DIRTYPE
                elif kind == "sym":
                    ti.type, ti.linkname = tarfile.SYMTYPE, payload
                elif kind == "hard":
                    ti.type, ti.linkname = tarfile.LNKTYPE, payload
                elif kind == "fifo":
                    ti.type = tarfile.FIFOTYPE
                elif kind == "chr":
                    ti.type, ti.devmajor, ti.devminor = tarfile.CHRTYPE, 1, 3
                t.addfile(ti, io.BytesIO(data) if data is not None else None)
        return buf.getvalue()
    finally:
        tarfile.RECORDSIZE = old


def zip_bytes(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, kind, payload, mode in entries:
            zi = zipfile.ZipInfo(name, date_time=(2023, 11, 14, 22, 13, 20))
            zi.compress_type = zipfile.ZIP_DEFLATED
            if kind == "dir":
                zi.external_attr = (0o40000 | mode) << 16 | 0x10
                z.writestr(zi, b"")
            elif kind == "sym":
                zi.create_system = 3
                zi.external_attr = (0o120000 | 0o777) << 16
                z.writestr(zi, payload)
            else:
                zi.create_system = 3
                zi.external_attr = (0o100000 | mode) << 16
                z.writestr(zi, payload)
    return buf.getvalue()


def seven_zip_bytes(entries):
    """7z through libarchive's writer (python has none)."""
    lib = ctypes.CDLL(ctypes.util.find_library("archive") or "libarchive.so.13")
    lib.archive_write_new.restype = ctypes.c_void_p
    lib.archive_entry_new.restype = ctypes.c_void_p
    for f in ("archive_write_set_format_7zip", "archive_write_close", "archive_write_free"):
        getattr(lib, f).argtypes = [ctypes.c_void_p]
    lib.archive_write_open_memory.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                                              ctypes.POINTER(ctypes.c_size_t)]
    lib.archive_write_header.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.archive_write_data.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.archive_write_data.restype = ctypes.c_ssize_t
    lib.archive_entry_set_pathname.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.archive_entry_set_symlink.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.archive_entry_set_size.argtypes = [ctypes.c_void_p, ctypes.c_int64]
    lib.archive_entry_set_filetype.argtypes = [ctypes.c_void_p, ctypes.c_uint]
    lib.archive_entry_set_perm.argtypes = [ctypes.c_void_p, ctypes.c_uint]
    lib.archive_entry_set_mtime.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_long]
    lib.archive_entry_free.argtypes = [ctypes.c_void_p]
    cap = 1 << 16
    out = ctypes.create_string_buffer(cap)
    used = ctypes.c_size_t(0)
    a = lib.archive_write_new()
    assert lib.archive_write_set_format_7zip(a) == 0
    assert lib.archive_write_open_memory(a, out, cap, ctypes.byref(used)) == 0
    for name, kind, payload, mode in entries:
        e = lib.archive_entry_new()
        lib.archive_entry_set_pathname(e, name.encode())
        lib.archive_entry_set_mtime(e, MTIME, 0)
        lib.archive_entry_set_perm(e, mode)
        data = payload.encode() if isinstance(payload, str) else payload
        if kind == "dir":
            lib.archive_entry_set_filetype(e, 0o40000)
        elif kind == "sym":
            lib.archive_entry_set_filetype(e, 0o120000)
            lib.archive_entry_set_symlink(e, data)
        else:
            lib.archive_entry_set_filetype(e, 0o100000)
            lib.archive_entry_set_size(e, len(data))
        assert lib.archive_write_header(a, e) == 0
        if kind == "file" and data:
            assert lib.archive_write_data(a, data, len(data)) == len(data)
        lib.archive_entry_free(e)
    assert lib.archive_write_close(a) == 0
    lib.archive_write_free(a)
    return out.raw[:used.value]


NORMAL = [
    ("dir/", "dir", None, 0o755),
    ("dir/a.txt", "file", "hello\n", 0o644),
    ("dir/sub/b.sh", "file", "#!/bin/sh\necho b\n", 0o755),
    ("link", "sym", "dir/a.txt", 0o777),
    ("top.txt", "file", "top\n" * 20, 0o600),
]


def archive_seeds():
    d = reset("archive_extract")
    normal_tar = tar_bytes(NORMAL + [("hard", "hard", "top.txt", 0o644)])
    write(d, "normal.tar", normal_tar)
    write(d, "normal.tar.gz", gzip.compress(normal_tar, mtime=MTIME))
    write(d, "normal.tar.bz2", bz2.compress(normal_tar))
    write(d, "normal.tar.xz", lzma.compress(normal_tar))
    write(d, "normal.tar.zst", subprocess.run(["zstd", "-q", "-c", "-19"], input=normal_tar,
                                              stdout=subprocess.PIPE, check=True).stdout)
    write(d, "gnu.tar", tar_bytes(NORMAL[:3], tarfile.GNU_FORMAT))
    write(d, "ustar_long_name.tar", tar_bytes([("d" * 90 + "/" + "f" * 60, "file", "x", 0o644)],
                                              tarfile.USTAR_FORMAT))
    write(d, "pax_utf8.tar", tar_bytes([("caf\u00e9/\u65e5\u672c.txt", "file", "u", 0o644)]))
    write(d, "normal.zip", zip_bytes(NORMAL))
    write(d, "normal.7z", seven_zip_bytes(NORMAL))
    # Hostile archives: every rule of the extractor once.
    hostile_tar = {
        "slip": [("../evil", "file", "x", 0o644)],
        "slip_deep": [("a/../../../evil", "file", "x", 0o644)],
        "absolute": [("/tmp/agentrt-fuzz-evil", "file", "x", 0o644)],
        "symlink_escape": [("up", "sym", "../..", 0o777), ("up/evil", "file", "x", 0o644)],
        "symlink_absolute": [("etc", "sym", "/etc", 0o777), ("etc/evil", "file", "x", 0o644)],
        "symlink_chain": [("sub/", "dir", None, 0o755), ("sub/up", "sym", "..", 0o777),
                          ("sub/out", "sym", "up/..", 0o777), ("sub/out/evil", "file", "x", 0o644)],
        "symlink_then_file": [("f", "sym", "g", 0o777), ("g", "file", "x", 0o644),
                              ("f", "file", "replaced", 0o644)],
        "hardlink_outside": [("pw", "hard", "/etc/passwd", 0o644)],
        "hardlink_dotdot": [("pw", "hard", "../input", 0o644)],
        "hardlink_unknown": [("pw", "hard", "not-extracted", 0o644)],
        "device": [("null", "chr", None, 0o666)],
        "fifo": [("pipe", "fifo", None, 0o644)],
        "setuid": [("suid", "file", "x", 0o4755), ("sdir/", "dir", None, 0o3777)],
        "dir_file_conflict": [("x/", "dir", None, 0o755), ("x", "file", "y", 0o644),
                              ("f", "file", "y", 0o644), ("f/g", "file", "z", 0o644)],
        "dot_entries": [("./", "dir", None, 0o755), (".", "file", "x", 0o644),
                        ("a/./b//c", "file", "x", 0o644), ("", "file", "x", 0o644)],
        "duplicates": [("d", "file", "1", 0o644), ("d", "file", "2", 0o000),
                       ("d2/", "dir", None, 0o000), ("d2/x", "file", "3", 0o644)],
    }
    for name, entries in hostile_tar.items():
        write(d, "hostile_" + name + ".tar", tar_bytes(entries))
    write(d, "hostile_slip.zip", zip_bytes([("../evil", "file", "x", 0o644), ("/abs", "file", "x", 0o644)]))
    write(d, "hostile_symlink.zip", zip_bytes([("l", "sym", "../../etc", 0o777), ("l/x", "file", "x", 0o644)]))
    write(d, "hostile_symlink.7z", seven_zip_bytes([("l", "sym", "/etc", 0o777), ("../x", "file", "x", 0o644)]))
    # A small bomb: 2 MiB of zeros (past the ratio check's 1 MiB grace), a few KB packed.
    write(d, "bomb.tar.xz", lzma.compress(tar_bytes([("zeros", "file", b"\0" * (2 << 20), 0o644)])))
    write(d, "truncated.tar.gz", gzip.compress(normal_tar, mtime=MTIME)[:200])
    write(d, "truncated.zip", zip_bytes(NORMAL)[:300])
    write(d, "not_an_archive.txt", "just some text, no archive at all\n")
    write(d, "empty", b"")


def main():
    protocol_seeds()
    ignore_seeds()
    harness_seeds()
    archive_seeds()
    for name in sorted(os.listdir(CORPUS)):
        files = os.listdir(os.path.join(CORPUS, name))
        size = sum(os.path.getsize(os.path.join(CORPUS, name, f)) for f in files)
        print("%-16s %3d files, %6d bytes" % (name, len(files), size))


if __name__ == "__main__":
    sys.exit(main())
