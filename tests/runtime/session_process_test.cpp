// Session processes (docs/processes.md) against the real runtime over a real WebSocket: the
// opt-in, background commands with ids, stdin in order under the window, a REPL on a PTY,
// signals, readiness of a real HTTP server used by a later request, the end of the session
// killing everything, and clear errors for bad ids and bad input.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "agentrt/protocol/codec.hpp"
#include "support/program_run.hpp"
#include "support/protocol_helpers.hpp"
#include "support/runtime_process.hpp"
#include "support/ws_test_client.hpp"

namespace agentrt::test {
namespace {

using namespace std::chrono_literals;
namespace p = agentrt::protocol;

const std::map<std::string, std::string> opt_in = {{"Agentrt-Extensions", "processes"}};

std::unique_ptr<ws_test_client> connect_processes(const runtime_process& rt) {
  auto r = ws_test_client::connect(rt.url(), opt_in);
  EXPECT_TRUE(r.client) << r.error;
  return std::move(r.client);
}

// The next message of type T; everything else on the way is kept in skipped (when given).
template <class T>
std::optional<T> next(ws_test_client& c, std::chrono::milliseconds timeout = 30s,
                      std::vector<p::message>* skipped = nullptr) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto m = c.receive(std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now()));
    if (!m)
      break;
    if (auto* t = std::get_if<T>(&*m))
      return *t;
    if (skipped)
      skipped->push_back(std::move(*m));
  }
  return std::nullopt;
}

p::process_started_message start(ws_test_client& c, p::process_start_message m) {
  c.send(m);
  auto started = next<p::process_started_message>(c, 10s);
  EXPECT_TRUE(started) << "no process_started_message for " << m.command;
  return started.value_or(p::process_started_message{});
}

p::process_start_message command(std::string cmd) {
  p::process_start_message m;
  m.command = std::move(cmd);
  return m;
}

// Output of one process and stream up to (and including) the first chunk containing until.
std::string read_output(ws_test_client& c, const std::string& id, const std::string& stream,
                        const std::string& until, std::chrono::milliseconds timeout = 30s) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out.find(until) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    auto m =
        next<p::process_output_message>(c, std::chrono::duration_cast<std::chrono::milliseconds>(
                                               deadline - std::chrono::steady_clock::now()));
    if (!m)
      break;
    if (m->process_id == id && m->stream == stream)
      out += m->data;
  }
  return out;
}

p::process_exit_message wait_exit(ws_test_client& c, const std::string& id,
                                  std::vector<p::message>* skipped = nullptr) {
  c.send(p::process_wait_message{std::string("w-") + id, id});
  auto exit = next<p::process_exit_message>(c, 30s, skipped);
  EXPECT_TRUE(exit) << "no exit for " << id;
  return exit.value_or(p::process_exit_message{});
}

p::process_error_message expect_process_error(ws_test_client& c) {
  auto e = next<p::process_error_message>(c, 10s);
  EXPECT_TRUE(e) << "no process_error_message";
  return e.value_or(p::process_error_message{});
}

bool wait_until_gone(const std::string& prefix, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!find_processes(prefix).empty()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

TEST(SessionProcess, WithoutTheOptInProcessMessagesAreRefusedLikeUnknownOnes) {
  runtime_process rt;
  auto r = ws_test_client::connect(rt.url());
  ASSERT_TRUE(r.client) << r.error;
  r.client->send(command("echo never"));
  auto m = r.client->receive(10s);
  ASSERT_TRUE(m);
  auto* e = std::get_if<p::error_message>(&*m);
  ASSERT_NE(e, nullptr) << p::encode(*m);
  EXPECT_NE(e->error.find("processes"), std::string::npos) << e->error;
  EXPECT_NE(e->metadata.json.find("unexpected_message"), std::string::npos);
  // The session is untouched: a request still works.
  r.client->send(exec_request({"echo ok"}));
  auto msgs = r.client->receive_until_terminal();
  ASSERT_FALSE(msgs.empty());
  EXPECT_NE(std::get_if<p::command_execution_result_message>(&msgs.back()), nullptr);
}

TEST(SessionProcess, StartsAtOnceStreamsOutputAndKeepsTheStatusUntilCollected) {
  runtime_process rt;
  auto c = connect_processes(rt);
  ASSERT_TRUE(c);
  auto m = command("echo out; echo err >&2; exit 7");
  m.ref = "first";
  const auto started = start(*c, m);
  EXPECT_EQ(started.ref, "first");
  EXPECT_EQ(started.process_id, "p1");
  EXPECT_GT(started.pid, 0);
  EXPECT_FALSE(started.pty);
  EXPECT_EQ(started.stdin_window, 0u);

  std::vector<p::message> seen;
  // Not collected yet: the list shows it exited, with its status.
  std::this_thread::sleep_for(300ms);
  c->send(p::process_list_message{"l"});
  auto list = next<p::process_list_result_message>(*c, 10s, &seen);
  ASSERT_TRUE(list);
  EXPECT_EQ(list->ref, "l");
  ASSERT_EQ(list->processes.size(), 1u);
  EXPECT_EQ(list->processes[0].command, "echo out; echo err >&2; exit 7");

  const auto exit = wait_exit(*c, "p1", &seen);
  EXPECT_EQ(exit.ref, "w-p1");
  EXPECT_EQ(exit.exit_code, 7);
  EXPECT_FALSE(exit.signal);
  std::string out, err;
  for (const auto& s : seen) {
    if (auto* o = std::get_if<p::process_output_message>(&s))
      (o->stream == "stdout" ? out : err) += o->data;
  }
  EXPECT_EQ(out, "out\n");
  EXPECT_EQ(err, "err\n");

  // Collected: gone.
  c->send(p::process_wait_message{"again", "p1"});
  const auto e = expect_process_error(*c);
  EXPECT_EQ(e.code, "unknown_process");
  EXPECT_EQ(e.ref, "again");
}

TEST(SessionProcess, SeveralRunBesideARequest) {
  runtime_process rt;
  auto c = connect_processes(rt);
  ASSERT_TRUE(c);
  const auto a = start(*c, command("sleep 100.311"));
  const auto b = start(*c, command("sleep 100.312"));
  EXPECT_NE(a.process_id, b.process_id);
  c->send(exec_request({"echo request-ran"}));
  auto msgs = c->receive_until_terminal();
  ASSERT_FALSE(msgs.empty());
  auto* res = std::get_if<p::command_execution_result_message>(&msgs.back());
  ASSERT_NE(res, nullptr) << p::encode(msgs.back());
  EXPECT_EQ(res->results[0].exit_code, 0);
  for (int i = 0; i < 100 && find_processes("sleep 100.312").empty(); ++i)
    std::this_thread::sleep_for(20ms);
  EXPECT_EQ(find_processes("sleep 100.311").size(), 1u);
  EXPECT_EQ(find_processes("sleep 100.312").size(), 1u);
}

TEST(SessionProcess, StdinArrivesInOrderAndIsAcknowledged) {
  runtime_process rt;
  auto c = connect_processes(rt);
  ASSERT_TRUE(c);
  auto m = command("read x; echo got:$x; cat >/dev/null; echo done");
  m.stdin_open = true;
  const auto started = start(*c, m);
  EXPECT_EQ(started.stdin_window, 1u << 20);
  c->send(p::process_stdin_message{started.process_id, "hello\n", false});
  EXPECT_NE(read_output(*c, started.process_id, "stdout", "got:hello").find("got:hello\n"),
            std::string::npos);
  c->send(p::process_stdin_message{started.process_id, "", true});
  std::vector<p::message> seen;
  const auto exit = wait_exit(*c, started.process_id, &seen);
  EXPECT_EQ(exit.exit_code, 0);
  bool closed_ack = false;
  for (const auto& s : seen) {
    if (auto* ack = std::get_if<p::process_stdin_ack_message>(&s); ack && ack->closed) {
      closed_ack = true;
      EXPECT_EQ(ack->written, 6u);
    }
  }
  EXPECT_TRUE(closed_ack);
}

// 100 MB through sha256sum, sent within the window the runtime announced; the digest is that of
// the same bytes written to a file.
TEST(SessionProcess, HundredMegabytesOfStdinArriveInOrder) {
  runtime_process rt;
  auto c = connect_processes(rt);
  ASSERT_TRUE(c);
  auto m = command("sha256sum");
  m.stdin_open = true;
  const auto started = start(*c, m);
  ASSERT_GT(started.stdin_window, 0u);

  char path[] = "/tmp/agentrt-stdin-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::ofstream copy(path, std::ios::binary);
  std::mt19937_64 rng(42);
  constexpr std::uint64_t total = 100ull * 1000 * 1000;
  constexpr std::size_t chunk = 256 * 1024;
  std::uint64_t sent = 0;
  std::uint64_t acked = 0;
  std::string digest_line;
  std::string buf(chunk, '\0');
  while (sent < total) {
    while (sent - acked + chunk > started.stdin_window) {
      auto msg = c->receive(30s);
      ASSERT_TRUE(msg) << "no ack after " << acked;
      if (auto* ack = std::get_if<p::process_stdin_ack_message>(&*msg)) {
        ASSERT_FALSE(ack->closed);
        acked = ack->written;
      }
    }
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, total - sent));
    for (std::size_t i = 0; i + 8 <= n; i += 8) {
      const std::uint64_t v = rng();
      std::memcpy(&buf[i], &v, 8);
    }
    copy.write(buf.data(), static_cast<std::streamsize>(n));
    c->send(p::process_stdin_message{started.process_id, buf.substr(0, n), false});
    sent += n;
  }
  copy.close();
  c->send(p::process_stdin_message{started.process_id, "", true});
  const std::string out = read_output(*c, started.process_id, "stdout", "-\n", 120s);
  const auto expected = run_program({"/usr/bin/sha256sum", path});
  std::remove(path);
  ASSERT_GE(expected.out.size(), 64u);
  ASSERT_GE(out.size(), 64u) << out;
  EXPECT_EQ(out.substr(0, 64), expected.out.substr(0, 64));
}

TEST(SessionProcess, StdinBeyondTheWindowIsRefusedAndStdinClosesAfterThePrefix) {
  runtime_process rt;
  auto c = connect_processes(rt);
  ASSERT_TRUE(c);
  // Reads nothing until told by a file: the pipe fills, the window with it.
  char dir[] = "/tmp/agentrt-overflow-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string flag = std::string(dir) + "/go";
  auto m = command("while [ ! -e " + flag + " ]; do sleep 0.05; done; wc -c");
  m.stdin_open = true;
  const auto started = start(*c, m);
  const std::string big(started.stdin_window, 'x');
  // The pipe takes 64 KiB; the window is counted from what was accepted and not written.
  c->send(p::process_stdin_message{started.process_id, big, false});
  c->send(p::process_stdin_message{started.process_id, big, false});
  const auto e = expect_process_error(*c);
  EXPECT_EQ(e.code, "stdin_overflow");
  EXPECT_EQ(e.process_id, started.process_id);
  std::ofstream(flag).put('1');
  const std::string out = read_output(*c, started.process_id, "stdout", "\n");
  // Exactly the first chunk: the refused one is not written, nor anything after it.
  EXPECT_EQ(std::stoull(out), big.size()) << out;
  c->send(p::process_stdin_message{started.process_id, "late", false});
  const auto late = expect_process_error(*c);
  EXPECT_TRUE(late.code == "stdin_closed" || late.code == "exited") << late.code;
  std::remove(flag.c_str());
  ::rmdir(dir);
}

TEST(SessionProcess, APythonReplRunsOnATerminal) {
  runtime_process rt;
  auto c = connect_processes(rt);
  ASSERT_TRUE(c);
  auto m = command("exec /usr/bin/python3 -i -q");
  m.pty = p::terminal_size{100, 30};
  const auto started = start(*c, m);
  EXPECT_TRUE(started.pty);
  EXPECT_GT(started.stdin_window, 0u);
  EXPECT_NE(read_output(*c, started.process_id, "pty", ">>> ").find(">>> "), std::string::npos);
  c->send(p::process_stdin_message{started.process_id, "6*7\n", false});
  // The terminal echoes the line (\r\n), then the REPL prints the value.
  const std::string answer = read_output(*c, started.process_id, "pty", "42\r\n");
  EXPECT_NE(answer.find("6*7\r\n"), std::string::npos) << answer;
  EXPECT_NE(answer.find("42\r\n"), std::string::npos) << answer;
  c->send(p::process_stdin_message{
      started.process_id, "import os,sys; print(os.isatty(0), os.get_terminal_size())\n", false});
  const std::string tty = read_output(*c, started.process_id, "pty", "lines=30)");
  EXPECT_NE(tty.find("True os.terminal_size(columns=100, lines=30)"), std::string::npos) << tty;
  c->send(p::process_resize_message{{}, started.process_id, {120, 40}});
  c->send(p::process_stdin_message{started.process_id, "print(os.get_terminal_size())\n", false});
  const std::string resized = read_output(*c, started.process_id, "pty", "lines=40)");
  EXPECT_NE(resized.find("columns=120, lines=40"), std::string::npos) << resized;
  // ^D: end of file on the terminal ends the REPL.
  c->send(p::process_stdin_message{started.process_id, "", true});
  const auto exit = wait_exit(*c, started.process_id);
  EXPECT_EQ(exit.exit_code, 0);
}

TEST(SessionProcess, SignalsAreDelivered) {
  runtime_process rt;
  auto c = connect_processes(rt);
  ASSERT_TRUE(c);
  const auto plain =
      start(*c, command("trap 'echo got-usr1' USR1; echo armed; while :; do sleep 0.05; done"));
  read_output(*c, plain.process_id, "stdout", "armed");
  c->send(p::process_signal_message{{}, plain.process_id, "SIGUSR1"});
  EXPECT_NE(read_output(*c, plain.process_id, "stdout", "got-usr1").find("got-usr1"),
            std::string::npos);
  c->send(p::process_signal_message{{}, plain.process_id, "TERM"});
  const auto exit = wait_exit(*c, plain.process_id);
  EXPECT_EQ(exit.signal, "SIGTERM");
  EXPECT_EQ(exit.exit_code, 128 + 15);

  // On a terminal SIGINT goes to the foreground group, as ^C would.
  auto m = command("trap 'echo got-int' INT; echo armed; while :; do sleep 0.05; done");
  m.pty = p::terminal_size{80, 24};
  const auto tty = start(*c, m);
  read_output(*c, tty.process_id, "pty", "armed");
  c->send(p::process_signal_message{{}, tty.process_id, "SIGINT"});
  EXPECT_NE(read_output(*c, tty.process_id, "pty", "got-int").find("got-int"), std::string::npos);
  c->send(p::process_signal_message{{}, tty.process_id, "SIGKILL"});
  EXPECT_EQ(wait_exit(*c, tty.process_id).signal, "SIGKILL");
}

TEST(SessionProcess, BadIdsAndBadInputGetClearErrors) {
  runtime_process rt;
  auto c = connect_processes(rt);
  ASSERT_TRUE(c);
  c->send(p::process_signal_message{"s", "p99", "SIGTERM"});
  auto e = expect_process_error(*c);
  EXPECT_EQ(e.code, "unknown_process");
  EXPECT_EQ(e.ref, "s");
  EXPECT_NE(e.error.find("p99"), std::string::npos);

  const auto sleeper = start(*c, command("sleep 100.313"));
  c->send(p::process_signal_message{"b", sleeper.process_id, "SIGBOGUS"});
  e = expect_process_error(*c);
  EXPECT_EQ(e.code, "bad_signal");
  c->send(p::process_resize_message{"r", sleeper.process_id, {80, 24}});
  e = expect_process_error(*c);
  EXPECT_EQ(e.code, "not_a_terminal");
  c->send(p::process_stdin_message{sleeper.process_id, "x", false});
  e = expect_process_error(*c);
  EXPECT_EQ(e.code, "stdin_closed");

  auto bad_cwd = command("true");
  bad_cwd.cwd = "/proc/self/nope";
  bad_cwd.ref = "cwd";
  c->send(bad_cwd);
  e = expect_process_error(*c);
  EXPECT_EQ(e.code, "spawn_failed");
  EXPECT_EQ(e.ref, "cwd");
  EXPECT_NE(e.error.find("/proc/self/nope"), std::string::npos) << e.error;

  // A malformed process message is a frame error like any other.
  c->send_text(R"({"message_type":"process_stdin_message","process_id":"p1","data_b64":"!!"})");
  auto m = c->receive(10s);
  ASSERT_TRUE(m);
  auto* frame_error = std::get_if<p::error_message>(&*m);
  ASSERT_NE(frame_error, nullptr);
  EXPECT_NE(frame_error->error.find("data_b64"), std::string::npos);
}

TEST(SessionProcess, TheSessionLimitCountsUncollectedProcesses) {
  runtime_process rt({"--max-session-processes", "2"});
  auto c = connect_processes(rt);
  ASSERT_TRUE(c);
  start(*c, command("true"));
  start(*c, command("sleep 100.314"));
  c->send(command("true"));
  auto e = expect_process_error(*c);
  EXPECT_EQ(e.code, "too_many_processes");
  wait_exit(*c, "p1"); // collecting makes room
  EXPECT_EQ(start(*c, command("true")).process_id, "p3");
}

TEST(SessionProcess, SecretsAreRedactedFromOutputAndTheList) {
  runtime_process rt;
  auto c = connect_processes(rt);
  ASSERT_TRUE(c);
  auto m = command("echo token=hunter2-secret");
  m.secrets_to_redact = {"hunter2-secret"};
  const auto started = start(*c, m);
  // The stream redactor holds back what could still become a secret until the stream ends.
  const std::string out = read_output(*c, started.process_id, "stdout", "\n");
  EXPECT_EQ(out.find("hunter2-secret"), std::string::npos) << out;
  EXPECT_NE(out.find("token="), std::string::npos) << out;
  c->send(p::process_list_message{});
  auto list = next<p::process_list_result_message>(*c);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->processes.size(), 1u);
  EXPECT_EQ(list->processes[0].command.find("hunter2-secret"), std::string::npos);
}

// A real HTTP server: started, reported ready, used by a later request of the same session, and
// killed with its whole tree when the session ends.
TEST(SessionProcess, AServiceIsReadyUsedByARequestAndKilledAtTheEnd) {
  runtime_process rt;
  auto c = connect_processes(rt);
  ASSERT_TRUE(c);
  const int port = free_port();
  const std::string server = "/usr/bin/python3 -m http.server " + std::to_string(port);
  auto m = command("exec " + server + " --bind 127.0.0.1");
  m.ready = p::process_readiness{port, std::nullopt, 20, 0.05};
  const auto started = start(*c, m);
  auto ready = next<p::process_ready_message>(*c, 30s);
  ASSERT_TRUE(ready);
  EXPECT_TRUE(ready->ready) << ready->error.value_or("");
  EXPECT_EQ(ready->process_id, started.process_id);

  c->send(exec_request(
      {"/usr/bin/python3 -c \"import urllib.request as u; print(u.urlopen('http://127.0.0.1:" +
       std::to_string(port) + "/').status)\""}));
  auto msgs = c->receive_until_terminal();
  ASSERT_FALSE(msgs.empty());
  auto* res = std::get_if<p::command_execution_result_message>(&msgs.back());
  ASSERT_NE(res, nullptr) << p::encode(msgs.back());
  EXPECT_EQ(res->results[0].exit_code, 0);
  EXPECT_EQ(joined_output(msgs, "stdout"), "200\n");
  ASSERT_EQ(find_processes(server).size(), 1u);

  c->send(p::end_session_message{});
  auto confirm = next<p::end_session_confirm_message>(*c, 30s);
  ASSERT_TRUE(confirm);
  // Gone before the confirm.
  EXPECT_TRUE(find_processes(server).empty());
}

TEST(SessionProcess, ReadinessTimesOutAndReportsWhy) {
  runtime_process rt;
  auto c = connect_processes(rt);
  ASSERT_TRUE(c);
  const int port = free_port();
  auto m = command("sleep 100.316");
  m.ready = p::process_readiness{port, std::nullopt, 0.5, 0.05};
  start(*c, m);
  auto ready = next<p::process_ready_message>(*c, 10s);
  ASSERT_TRUE(ready);
  EXPECT_FALSE(ready->ready);
  EXPECT_NE(ready->error.value_or("").find("not ready after 0.5 s"), std::string::npos)
      << ready->error.value_or("");
  EXPECT_GE(ready->elapsed_ms, 450);

  auto probe = command("sleep 100.317");
  probe.ready =
      p::process_readiness{std::nullopt, std::string("test -e /nonexistent-x"), 0.4, 0.05};
  start(*c, probe);
  ready = next<p::process_ready_message>(*c, 10s);
  ASSERT_TRUE(ready);
  EXPECT_FALSE(ready->ready);
  EXPECT_NE(ready->error.value_or("").find("the probe exited with 1"), std::string::npos);

  auto dies = command("exit 3");
  dies.ready = p::process_readiness{port, std::nullopt, 10, 0.05};
  start(*c, dies);
  ready = next<p::process_ready_message>(*c, 10s);
  ASSERT_TRUE(ready);
  EXPECT_FALSE(ready->ready);
  EXPECT_NE(ready->error.value_or("").find("exited before it was ready (exit code 3)"),
            std::string::npos);
}

TEST(SessionProcess, ADroppedConnectionKillsTheWholeTree) {
  runtime_process rt;
  auto c = connect_processes(rt);
  ASSERT_TRUE(c);
  // The child leaves the process group: the scope still finds it.
  start(*c, command("setsid sleep 100.318 & sleep 100.319"));
  for (int i = 0; i < 100 && find_processes("sleep 100.318").empty(); ++i)
    std::this_thread::sleep_for(20ms);
  ASSERT_EQ(find_processes("sleep 100.318").size(), 1u);
  c->drop();
  EXPECT_TRUE(wait_until_gone("sleep 100.319", 15s));
  EXPECT_TRUE(wait_until_gone("sleep 100.318", 15s));
}

TEST(SessionProcess, ATimeoutKillsTheProcess) {
  runtime_process rt;
  auto c = connect_processes(rt);
  ASSERT_TRUE(c);
  auto m = command("sleep 100.320");
  m.timeout_s = 0.3;
  const auto started = start(*c, m);
  const auto exit = wait_exit(*c, started.process_id);
  EXPECT_TRUE(exit.timed_out);
  EXPECT_EQ(exit.signal, "SIGTERM");
}

// Durable sessions: a process keeps running while the session is detached, its output is
// replayed on resume with nothing lost or repeated, and the expiry of the window kills it.
TEST(SessionProcess, SurvivesADroppedDurableConnectionAndDiesWithItsWindow) {
  runtime_process rt({"--resume-window", "2"});
  auto first = ws_test_client::connect(
      rt.url(), {{"Agentrt-Session", "new"}, {"Agentrt-Extensions", "processes"}});
  ASSERT_TRUE(first.client) << first.error;
  auto info = next<p::session_info_message>(*first.client, 10s);
  ASSERT_TRUE(info);
  const auto started =
      start(*first.client, command("for i in $(seq 1 40); do echo line$i; sleep 0.02; done"));
  // Read a little, remember the last seq, and vanish.
  std::uint64_t last_seq = 0;
  std::string before;
  while (before.find("line3\n") == std::string::npos) {
    auto text = first.client->receive_frame(10s);
    ASSERT_TRUE(text);
    auto d = p::decode(*text);
    ASSERT_TRUE(d.msg) << d.error;
    if (d.seq)
      last_seq = *d.seq;
    if (auto* o = std::get_if<p::process_output_message>(&*d.msg))
      before += o->data;
  }
  first.client->drop();
  std::this_thread::sleep_for(600ms); // the process keeps printing into the journal

  auto again = ws_test_client::connect(rt.url(), {{"Agentrt-Session", info->session_id},
                                                  {"Agentrt-Resume-Token", info->resume_token},
                                                  {"Agentrt-Last-Seq", std::to_string(last_seq)},
                                                  {"Agentrt-Extensions", "processes"}});
  ASSERT_TRUE(again.client) << again.error;
  auto resumed = next<p::session_info_message>(*again.client, 10s);
  ASSERT_TRUE(resumed);
  EXPECT_TRUE(resumed->resumed);
  const std::string after = read_output(*again.client, started.process_id, "stdout", "line40\n");
  std::string expected;
  for (int i = 1; i <= 40; ++i)
    expected += "line" + std::to_string(i) + "\n";
  EXPECT_EQ(before + after, expected);
  EXPECT_EQ(wait_exit(*again.client, started.process_id).exit_code, 0);

  // Nobody resumes: the window's expiry kills what the session runs.
  start(*again.client, command("sleep 100.321"));
  for (int i = 0; i < 100 && find_processes("sleep 100.321").empty(); ++i)
    std::this_thread::sleep_for(20ms);
  ASSERT_EQ(find_processes("sleep 100.321").size(), 1u);
  again.client->drop();
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(find_processes("sleep 100.321").size(), 1u); // still inside the window
  EXPECT_TRUE(wait_until_gone("sleep 100.321", 15s));
}

} // namespace
} // namespace agentrt::test
