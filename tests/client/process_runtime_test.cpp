// Session processes through the client library against the real agentrt runtime on loopback:
// stdin and output, 100 MB through stdin in order, signals, exit statuses, refusals, a REPL on
// a terminal, resizes, a background HTTP server used by a later request and killed with the
// session, and a handle that keeps working across a durable session's reconnect.
#include <gtest/gtest.h>

#include <openssl/evp.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "agentrt/client/client.hpp"
#include "support/cutting_proxy.hpp"
#include "support/runtime_process.hpp"

namespace agentrt::client {
namespace {

using namespace std::chrono_literals;
using test::runtime_process;

// Output arriving on the I/O thread, read by the test thread.
class collected {
public:
  std::function<void(std::string_view)> sink() {
    return [this](std::string_view t) {
      std::lock_guard lock(m_);
      text_ += t;
      cv_.notify_all();
    };
  }
  bool wait_for(const std::string& needle, std::chrono::milliseconds timeout = 20s) {
    std::unique_lock lock(m_);
    return cv_.wait_for(lock, timeout, [&] { return text_.find(needle) != std::string::npos; });
  }
  std::string text() const {
    std::lock_guard lock(m_);
    return text_;
  }

private:
  mutable std::mutex m_;
  std::condition_variable cv_;
  std::string text_;
};

std::unique_ptr<session> connect_to(const std::string& url) {
  auto [s, error] = session::connect({url});
  EXPECT_FALSE(error) << error.message;
  return std::move(s);
}

process_options command(std::string text) {
  process_options o;
  o.command = std::move(text);
  return o;
}

// A durable session through proxy that reconnects quickly after a cut.
std::unique_ptr<session> connect_durable(const test::cutting_proxy& proxy) {
  connect_options co{proxy.url()};
  co.reconnect.initial_backoff = 20ms;
  auto [s, error] = session::connect(co);
  EXPECT_TRUE(s) << error.message;
  return std::move(s);
}

// text with stdin open and its stdout into out.
std::pair<process_handle, client_error> start_piped(session& s, std::string text, collected& out) {
  auto o = command(std::move(text));
  o.stdin_open = true;
  process_callbacks cb;
  cb.on_stdout = out.sink();
  return s.start_process(o, cb);
}

std::string hex(const unsigned char* data, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

// Writes total bytes to p's stdin in 256 KiB writes, then closes it; returns their SHA-256 the
// way sha256sum prints it, or "" after a failure (reported). Every chunk's bytes differ: a
// lost, repeated or reordered chunk changes the digest.
std::string write_random_stdin(const process_handle& p, std::size_t total, std::uint64_t seed) {
  constexpr std::size_t chunk = 256u << 10;
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    ADD_FAILURE() << "no SHA-256 context";
    return "";
  }
  std::string block(chunk, '\0');
  std::uint64_t x = seed;
  for (std::size_t sent = 0; sent < total; sent += chunk) {
    for (std::size_t i = 0; i < chunk; i += 8) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      std::memcpy(&block[i], &x, 8);
    }
    EVP_DigestUpdate(ctx.get(), block.data(), block.size());
    if (const auto e = p.write_stdin(block)) {
      ADD_FAILURE() << "write_stdin after " << sent << " bytes: " << e.message;
      return "";
    }
  }
  if (const auto e = p.close_stdin()) {
    ADD_FAILURE() << "close_stdin: " << e.message;
    return "";
  }
  unsigned char digest[32];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &n);
  return hex(digest, n) + "  -\n";
}

TEST(ClientProcess, StdinInOutputOutAndTheExitStatus) {
  runtime_process rt;
  auto s = connect_to(rt.url());
  ASSERT_TRUE(s->supports_processes());
  collected out;
  auto o = command("read x; echo got:$x; echo err >&2; exit 5");
  o.stdin_open = true;
  process_callbacks cb;
  cb.on_stdout = out.sink();
  collected err;
  cb.on_stderr = err.sink();
  auto [p, error] = s->start_process(o, cb);
  ASSERT_FALSE(error) << error.message;
  EXPECT_EQ(p.process_id().rfind('p', 0), 0u) << p.process_id();
  EXPECT_GT(p.pid(), 0);
  EXPECT_GT(p.stdin_window(), 0u);
  EXPECT_FALSE(p.write_stdin("hello\n"));
  auto [exit, wait_error] = p.wait();
  ASSERT_FALSE(wait_error) << wait_error.message;
  EXPECT_EQ(exit.exit_code, 5);
  EXPECT_FALSE(exit.signal);
  EXPECT_FALSE(exit.timed_out);
  EXPECT_EQ(out.text(), "got:hello\n");
  EXPECT_EQ(err.text(), "err\n");
  // Collected: the id is unknown from now on.
  auto [again, again_error] = p.wait();
  EXPECT_EQ(again_error.code, errc::process_error);
  EXPECT_EQ(process_error_code(again_error), "unknown_process") << again_error.message;
  EXPECT_FALSE(s->end());
}

TEST(ClientProcess, AHundredMegabytesThroughStdinArriveInOrder) {
  runtime_process rt;
  auto s = connect_to(rt.url());
  collected out;
  auto [p, error] = start_piped(*s, "sha256sum", out);
  ASSERT_FALSE(error) << error.message;

  const auto started = std::chrono::steady_clock::now();
  const std::string want = write_random_stdin(p, 100u << 20, 0x9e3779b97f4a7c15ull);
  auto [exit, wait_error] = p.wait();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_FALSE(wait_error) << wait_error.message;
  EXPECT_EQ(exit.exit_code, 0);
  EXPECT_EQ(out.text(), want);
  std::printf("[ figures  ] 100 MiB through stdin: %.2f s, %.0f MiB/s\n", seconds, 100 / seconds);
  EXPECT_FALSE(s->end());
}

TEST(ClientProcess, SignalsReachTheProcess) {
  runtime_process rt;
  auto s = connect_to(rt.url());
  collected out;
  process_callbacks cb;
  cb.on_stdout = out.sink();
  auto [p, error] = s->start_process(
      command("trap 'echo usr1; exit 9' USR1; echo armed; while :; do sleep 0.05; done"), cb);
  ASSERT_FALSE(error) << error.message;
  ASSERT_TRUE(out.wait_for("armed\n"));
  EXPECT_FALSE(p.signal("SIGUSR1"));
  auto [exit, wait_error] = p.wait();
  ASSERT_FALSE(wait_error) << wait_error.message;
  EXPECT_EQ(exit.exit_code, 9);
  EXPECT_EQ(out.text(), "armed\nusr1\n");

  // kill(): the whole tree, reported as a signal.
  auto [q, q_error] = s->start_process(command("sleep 600"));
  ASSERT_FALSE(q_error) << q_error.message;
  EXPECT_FALSE(q.kill());
  auto [killed, killed_error] = q.wait();
  ASSERT_FALSE(killed_error) << killed_error.message;
  EXPECT_EQ(killed.exit_code, 128 + 9);
  EXPECT_EQ(killed.signal, "SIGKILL");

  auto bad = p.signal("SIGUSR1"); // p was collected
  EXPECT_EQ(process_error_code(bad), "unknown_process") << bad.message;
  auto [r, other] = s->start_process(command("sleep 600"));
  ASSERT_FALSE(other) << other.message;
  EXPECT_EQ(process_error_code(r.signal("SIGNOPE")), "bad_signal");
  EXPECT_EQ(process_error_code(r.resize(10, 10)), "not_a_terminal");
  EXPECT_EQ(process_error_code(r.write_stdin("x")), "stdin_closed");
  EXPECT_FALSE(s->end()); // kills r
}

TEST(ClientProcess, UnknownIdsAreRefusedWithTheirCode) {
  runtime_process rt;
  auto s = connect_to(rt.url());
  auto p = s->process("p999");
  auto [exit, error] = p.wait();
  EXPECT_EQ(error.code, errc::process_error);
  EXPECT_EQ(process_error_code(error), "unknown_process") << error.message;
  EXPECT_EQ(process_error_code(p.kill()), "unknown_process");
  EXPECT_FALSE(s->end());
}

TEST(ClientProcess, APythonReplOnATerminal) {
  runtime_process rt;
  auto s = connect_to(rt.url());
  collected tty;
  auto o = command("python3 -i -q");
  o.pty = protocol::terminal_size{80, 24};
  process_callbacks cb;
  cb.on_pty = tty.sink();
  auto [p, error] = s->start_process(o, cb);
  ASSERT_FALSE(error) << error.message;
  EXPECT_TRUE(p.pty());
  ASSERT_TRUE(tty.wait_for(">>> ")) << tty.text();
  EXPECT_FALSE(p.write_stdin("1+2\n"));
  // The terminal echoes the line, then python prints the value on its own line.
  ASSERT_TRUE(tty.wait_for("\r\n3\r\n")) << tty.text();
  EXPECT_FALSE(p.resize(132, 43));
  EXPECT_FALSE(p.write_stdin("import os; print(os.get_terminal_size())\n"));
  // The next prompt: the REPL reads again (a ^D typed while readline switches the terminal's
  // mode may be flushed with the pending input).
  ASSERT_TRUE(tty.wait_for("columns=132, lines=43)\r\n>>> ")) << tty.text();
  EXPECT_FALSE(p.close_stdin()); // ^D ends the REPL
  std::promise<std::pair<process_exit, client_error>> exited;
  p.async_wait([&](process_exit e, client_error error) { exited.set_value({e, error}); });
  auto f = exited.get_future();
  ASSERT_EQ(f.wait_for(20s), std::future_status::ready) << "^D did not end the REPL";
  auto [exit, wait_error] = f.get();
  ASSERT_FALSE(wait_error) << wait_error.message;
  EXPECT_EQ(exit.exit_code, 0);
  EXPECT_FALSE(s->end());
}

TEST(ClientProcess, SttySizeFollowsResize) {
  runtime_process rt;
  auto s = connect_to(rt.url());
  collected tty;
  auto o = command("sh");
  o.pty = protocol::terminal_size{100, 30};
  process_callbacks cb;
  cb.on_pty = tty.sink();
  auto [p, error] = s->start_process(o, cb);
  ASSERT_FALSE(error) << error.message;
  EXPECT_FALSE(p.write_stdin("stty size\n"));
  ASSERT_TRUE(tty.wait_for("30 100")) << tty.text();
  EXPECT_FALSE(p.resize(90, 20));
  EXPECT_FALSE(p.write_stdin("stty size; exit 4\n"));
  auto [exit, wait_error] = p.wait();
  ASSERT_FALSE(wait_error) << wait_error.message;
  EXPECT_EQ(exit.exit_code, 4);
  EXPECT_NE(tty.text().find("20 90"), std::string::npos) << tty.text();
  EXPECT_FALSE(s->end());
}

TEST(ClientProcess, AReadyServerServesALaterRequestAndDiesWithTheSession) {
  runtime_process rt;
  auto s = connect_to(rt.url());
  const int port = test::free_port();
  // python3 may be a shim (pyenv) that runs another path: run the interpreter itself, so that
  // its command line is known here.
  std::string python;
  if (std::FILE* f = popen("python3 -c 'import sys; print(sys.executable)'", "r")) {
    char buf[512];
    while (std::fgets(buf, sizeof buf, f))
      python += buf;
    pclose(f);
  }
  while (!python.empty() && python.back() == '\n')
    python.pop_back();
  ASSERT_FALSE(python.empty());
  const std::string server = python + " -m http.server " + std::to_string(port);
  auto o = command("exec " + server + " --bind 127.0.0.1");
  o.ready = protocol::process_readiness{};
  o.ready->tcp_port = port;
  o.ready->timeout_s = 20;
  o.ready->interval_s = 0.05;
  auto [p, error] = s->start_process(o);
  ASSERT_FALSE(error) << error.message;
  auto [ready, ready_error] = p.wait_ready();
  ASSERT_FALSE(ready_error) << ready_error.message;
  ASSERT_TRUE(ready.ready) << ready.error;
  std::printf("[ figures  ] http.server ready after %lld ms\n",
              static_cast<long long>(ready.elapsed.count()));

  // A request on the same session uses it.
  protocol::command curl;
  curl.command =
      "curl -sf -o /dev/null -w '%{http_code}' http://127.0.0.1:" + std::to_string(port) + "/";
  std::string out;
  execute_options eo;
  eo.on_command_output = [&](const protocol::command_output_message& m) { out += m.text; };
  auto [result, request_error] = s->execute_commands({curl}, eo);
  ASSERT_FALSE(request_error) << request_error.message;
  EXPECT_EQ(result.failed_exit_code(), 0);
  EXPECT_EQ(out, "200");

  auto [list, list_error] = s->list_processes();
  ASSERT_FALSE(list_error) << list_error.message;
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].process_id, p.process_id());
  EXPECT_EQ(list[0].state, "running");
  EXPECT_EQ(list[0].ready, true);

  EXPECT_EQ(test::find_processes(server).size(), 1u) << server;
  EXPECT_FALSE(s->end());
  // Nothing survives the session.
  std::vector<pid_t> left;
  for (int i = 0; i < 100; ++i) {
    left = test::find_processes(server);
    if (left.empty())
      break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(left.empty()) << left.size() << " survivor(s)";
  EXPECT_NE(test::connect_loopback(port) >= 0 ? 1 : 0, 1) << "the port still accepts";
}

TEST(ClientProcess, AProcessThatNeverGetsReadyIsReported) {
  runtime_process rt;
  auto s = connect_to(rt.url());
  auto o = command("sleep 600");
  o.ready = protocol::process_readiness{};
  o.ready->probe = "false";
  o.ready->timeout_s = 0.5;
  o.ready->interval_s = 0.05;
  auto [p, error] = s->start_process(o);
  ASSERT_FALSE(error) << error.message;
  auto [ready, ready_error] = p.wait_ready();
  ASSERT_FALSE(ready_error) << ready_error.message;
  EXPECT_FALSE(ready.ready);
  EXPECT_FALSE(ready.error.empty());
  // Asked again: the same outcome, at once.
  EXPECT_FALSE(p.wait_ready().first.ready);
  // Without readiness asked for, there is nothing to wait for.
  auto [q, q_error] = s->start_process(command("true"));
  ASSERT_FALSE(q_error) << q_error.message;
  EXPECT_EQ(q.wait_ready().second.code, errc::invalid_options);
  EXPECT_FALSE(p.kill());
  EXPECT_EQ(p.wait().first.exit_code, 128 + 9);
  EXPECT_FALSE(s->end());
}

TEST(ClientProcess, OutputAndStdinFlowWhileARequestRuns) {
  runtime_process rt;
  auto s = connect_to(rt.url());
  collected out;
  auto [p, error] = start_piped(*s, "while read line; do echo \"echo:$line\"; done", out);
  ASSERT_FALSE(error) << error.message;
  // The request waits for a file the process's input makes appear: it can only finish when
  // stdin written from another thread goes through while execute_commands() waits.
  const auto dir = test::make_temp_dir();
  std::thread request([&] {
    protocol::command c;
    c.command = "while [ ! -e " + dir + "/go ]; do sleep 0.02; done; echo request-done";
    auto [r, e] = s->execute_commands({c});
    EXPECT_FALSE(e) << e.message;
    EXPECT_EQ(r.failed_exit_code(), 0);
  });
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(p.write_stdin("one\n"));
  ASSERT_TRUE(out.wait_for("echo:one\n")) << out.text();
  std::FILE* f = std::fopen((dir + "/go").c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  request.join();
  EXPECT_FALSE(p.close_stdin());
  EXPECT_EQ(p.wait().first.exit_code, 0);
  EXPECT_EQ(out.text(), "echo:one\n");
  EXPECT_FALSE(s->end());
}

TEST(ClientProcess, AHandleKeepsWorkingAcrossAReconnect) {
  runtime_process rt;
  test::cutting_proxy proxy(rt.port());
  const auto s = connect_durable(proxy);
  ASSERT_TRUE(s && s->durable());
  collected out;
  auto [p, error] = start_piped(*s, "while read line; do echo \"got:$line\"; done", out);
  ASSERT_FALSE(error) << error.message;
  EXPECT_FALSE(p.write_stdin("before\n"));
  ASSERT_TRUE(out.wait_for("got:before\n"));
  ASSERT_EQ(proxy.cut_all(), 1u);
  ASSERT_TRUE(proxy.wait_accepted(2, 10s));
  EXPECT_FALSE(p.write_stdin("after\n"));
  ASSERT_TRUE(out.wait_for("got:after\n")) << out.text();
  EXPECT_FALSE(p.close_stdin());
  auto [exit, wait_error] = p.wait();
  ASSERT_FALSE(wait_error) << wait_error.message;
  EXPECT_EQ(exit.exit_code, 0);
  EXPECT_EQ(out.text(), "got:before\ngot:after\n"); // each line once
  EXPECT_FALSE(s->end());
}

TEST(ClientProcess, StdinInFlightWhenTheConnectionDropsArrivesOnceAndInOrder) {
  runtime_process rt;
  test::cutting_proxy proxy(rt.port());
  // Four connections cut while stdin streams through them, each at a random byte (often in
  // the middle of a frame): what was in flight on each is either in the runtime already or
  // lost with the connection.
  for (std::size_t i = 0; i < 4; ++i) {
    const auto at = proxy.cut_after_random(i, test::cutting_proxy::direction::to_target, 2u << 20,
                                           6u << 20, 1234 + static_cast<unsigned>(i));
    std::printf("[ figures  ] connection %zu cut after %llu bytes to the runtime\n", i,
                static_cast<unsigned long long>(at));
  }
  const auto s = connect_durable(proxy);
  ASSERT_TRUE(s && s->durable());
  collected out;
  auto [p, error] = start_piped(*s, "sha256sum", out);
  ASSERT_FALSE(error) << error.message;

  const std::string want = write_random_stdin(p, 32u << 20, 0x2545f4914f6cdd1dull);
  auto [exit, wait_error] = p.wait();
  ASSERT_FALSE(wait_error) << wait_error.message;
  EXPECT_EQ(exit.exit_code, 0);
  EXPECT_GE(proxy.accepted(), 5u) << "every planned cut happened";
  EXPECT_EQ(out.text(), want);
  EXPECT_FALSE(s->end());
}

} // namespace
} // namespace agentrt::client
