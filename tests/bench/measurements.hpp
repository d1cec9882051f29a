// The benchmarks. Each returns its figures and the correctness checks that failed; none of
// them judges a timing.
#pragma once

#include "archive_cache.hpp"
#include "bench_env.hpp"
#include "report.hpp"

namespace agentrt::bench {

// exec -> listening and idle RSS over many starts (runtimes the bench starts only).
measurement measure_startup(bench_env& env);
// `true` round trips on one persistent session.
measurement measure_roundtrip(bench_env& env);
// One command printing output_bytes; throughput and the runtime's peak RSS.
measurement measure_output(bench_env& env);
// `sessions` sessions at once on one io_loop, each running one command.
measurement measure_sessions(bench_env& env);
// One command's stdout redacted with 10,000 secrets, and without for reference.
measurement measure_redaction(bench_env& env);
// Close of a file in a watched directory -> artifact_upload_request_message.
measurement measure_announce(bench_env& env);
// One artifact of upload_bytes PUT to the bench's receiver; throughput and peak RSS.
measurement measure_upload(bench_env& env);
// Download + extract of a generated archive served over loopback.
measurement measure_download(bench_env& env, archive_kind kind);
// The same command's throughput with durable sessions off and on, through the client and a
// bare reader.
measurement measure_durable_output(bench_env& env);
// Reconnect -> first replayed message over resume_cuts dropped connections.
measurement measure_resume(bench_env& env);
// Runtime RSS and spill file while a command prints detach_rate to nobody for detach_seconds.
measurement measure_detached_rss(bench_env& env);
// Keystroke -> echo through a session process's pseudo-terminal.
measurement measure_pty_echo(bench_env& env);
// Runtime RSS and CPU with 100 idle session processes.
measurement measure_idle_processes(bench_env& env);

} // namespace agentrt::bench
