// Session processes in the client against a scripted peer playing the runtime: the opt-in (a
// runtime that does not answer "processes" gets nothing sent), answers matched by ref, stdin
// within the runtime's window, output and stdin while a request is in flight, signals
// confirmed by a barrier, refusals with their code, and a durable session's resume.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agentrt/client/client.hpp"
#include "agentrt/protocol/codec.hpp"
#include "support/durable_script.hpp"
#include "support/scripted_peer.hpp"

namespace agentrt::client {
namespace {

using namespace std::chrono_literals;
using test::scripted_peer;

scripted_peer::connection with_processes(std::vector<scripted_peer::step> steps,
                                         const std::string& extensions = "processes") {
  return {std::move(steps), {{"Agentrt-Extensions", extensions}}, 0};
}

protocol::message started(const std::string& ref, const std::string& id, std::uint64_t window) {
  protocol::process_started_message m;
  m.ref = ref;
  m.process_id = id;
  m.pid = 4242;
  m.stdin_window = window;
  return m;
}

protocol::message output(const std::string& id, const std::string& stream, std::string data) {
  protocol::process_output_message m;
  m.process_id = id;
  m.stream = stream;
  m.data = std::move(data);
  return m;
}

protocol::message ack(const std::string& id, std::uint64_t written, bool closed = false) {
  protocol::process_stdin_ack_message m;
  m.process_id = id;
  m.written = written;
  m.closed = closed;
  return m;
}

protocol::message exited(const std::string& ref, const std::string& id, int code) {
  protocol::process_exit_message m;
  m.ref = ref;
  m.process_id = id;
  m.exit_code = code;
  return m;
}

protocol::message refused(const std::string& ref, const std::string& id, const std::string& code) {
  protocol::process_error_message m;
  if (!ref.empty())
    m.ref = ref;
  m.process_id = id;
  m.code = code;
  m.error = "refused: " + code;
  return m;
}

protocol::message list_result(const std::string& ref) {
  protocol::process_list_result_message m;
  m.ref = ref;
  return m;
}

process_options command_for_test() {
  process_options o;
  o.command = "server";
  return o;
}

// The frames the peer received of one message type, decoded.
template <typename T> std::vector<T> received_of(const scripted_peer& peer) {
  std::vector<T> out;
  for (const auto& frame : peer.received()) {
    auto d = protocol::decode(frame);
    if (d.msg)
      if (auto* m = std::get_if<T>(&*d.msg))
        out.push_back(*m);
  }
  return out;
}

TEST(ClientProcessScripted, ARuntimeWithoutTheExtensionGetsNothingAndAClearError) {
  scripted_peer peer({with_processes({scripted_peer::pause(300ms)}, "upload-decline")});
  auto [s, e] = session::connect({peer.url()});
  ASSERT_TRUE(s) << e.message;
  EXPECT_FALSE(s->supports_processes());
  process_options o;
  o.command = "sleep 1";
  auto [p, error] = s->start_process(o);
  EXPECT_FALSE(p.valid());
  EXPECT_EQ(error.code, errc::not_supported) << error.message;
  EXPECT_NE(error.message.find("processes"), std::string::npos) << error.message;
  auto [list, list_error] = s->list_processes();
  EXPECT_EQ(list_error.code, errc::not_supported);
  EXPECT_TRUE(peer.wait_done()) << peer.failure();
  EXPECT_TRUE(peer.received().empty()) << peer.received().front();
  // The client asked for the extension on the upgrade.
  EXPECT_EQ(peer.request_headers(0).at("Agentrt-Extensions"), "upload-decline, processes");
}

TEST(ClientProcessScripted, StdinStaysInsideTheWindowAndOutputReachesCallbacks) {
  scripted_peer peer({with_processes({
      scripted_peer::expect("process_start_message"),
      scripted_peer::send(started("c1", "p1", 8)),
      scripted_peer::send(output("p1", "stdout", "out-1 ")),
      scripted_peer::send(output("p1", "stderr", "err-1")),
      scripted_peer::expect("process_stdin_message"),
      scripted_peer::pause(400ms), // the client must not send more before the ack
      scripted_peer::send(ack("p1", 8)),
      scripted_peer::expect("process_stdin_message"),
      scripted_peer::send(ack("p1", 16)),
      scripted_peer::expect("process_stdin_message"),
      scripted_peer::send(ack("p1", 20)),
      scripted_peer::expect("process_stdin_message"), // eof
      scripted_peer::send(ack("p1", 20, true)),
      scripted_peer::send(output("p1", "stdout", "out-2")),
      scripted_peer::expect("process_wait_message"),
      scripted_peer::send(exited("c2", "p1", 3)),
  })});
  auto [s, e] = session::connect({peer.url()});
  ASSERT_TRUE(s) << e.message;
  ASSERT_TRUE(s->supports_processes());
  std::mutex m;
  std::string out, err;
  process_callbacks cb;
  cb.on_stdout = [&](std::string_view t) {
    std::lock_guard lock(m);
    out += t;
  };
  cb.on_stderr = [&](std::string_view t) {
    std::lock_guard lock(m);
    err += t;
  };
  process_options o;
  o.command = "cat";
  o.stdin_open = true;
  o.env = protocol::string_map{{"A", "1"}};
  auto [p, error] = s->start_process(o, cb);
  ASSERT_FALSE(error) << error.message;
  EXPECT_EQ(p.process_id(), "p1");
  EXPECT_EQ(p.pid(), 4242);
  EXPECT_EQ(p.stdin_window(), 8u);

  std::thread checker([&] {
    std::this_thread::sleep_for(200ms);
    // Inside the peer's pause: one window's worth sent, nothing more.
    EXPECT_EQ(received_of<protocol::process_stdin_message>(peer).size(), 1u);
  });
  EXPECT_FALSE(p.write_stdin("0123456789abcdefghij"));
  checker.join();
  EXPECT_FALSE(p.close_stdin());
  auto [exit, wait_error] = p.wait();
  ASSERT_FALSE(wait_error) << wait_error.message;
  EXPECT_EQ(exit.exit_code, 3);
  ASSERT_TRUE(peer.wait_done()) << peer.failure();
  {
    std::lock_guard lock(m);
    EXPECT_EQ(out, "out-1 out-2");
    EXPECT_EQ(err, "err-1");
  }
  const auto stdin = received_of<protocol::process_stdin_message>(peer);
  ASSERT_EQ(stdin.size(), 4u);
  EXPECT_EQ(stdin[0].data, "01234567");
  EXPECT_EQ(stdin[1].data, "89abcdef");
  EXPECT_EQ(stdin[2].data, "ghij");
  EXPECT_TRUE(stdin[3].eof);
  const auto start = received_of<protocol::process_start_message>(peer).at(0);
  EXPECT_EQ(start.command, "cat");
  EXPECT_TRUE(start.stdin_open);
  EXPECT_EQ(start.ref, "c1");
}

TEST(ClientProcessScripted, RefusalsCarryTheRuntimeCode) {
  scripted_peer peer({with_processes({
      scripted_peer::expect("process_wait_message"),
      scripted_peer::send(refused("c1", "p7", "unknown_process")),
      scripted_peer::expect("process_signal_message"),
      scripted_peer::expect("process_list_message"),
      scripted_peer::send(refused("c2", "p7", "bad_signal")),
      scripted_peer::send(list_result("c3")),
      scripted_peer::expect("process_signal_message"),
      scripted_peer::expect("process_list_message"),
      scripted_peer::send(list_result("c5")),
      scripted_peer::expect("process_stdin_message"),
      scripted_peer::send(refused("", "p7", "stdin_closed")),
  })});
  auto [s, e] = session::connect({peer.url()});
  ASSERT_TRUE(s) << e.message;
  auto p = s->process("p7");
  auto [exit, error] = p.wait();
  EXPECT_EQ(error.code, errc::process_error) << error.message;
  EXPECT_EQ(process_error_code(error), "unknown_process");
  auto bad = p.signal("SIGNOPE");
  EXPECT_EQ(process_error_code(bad), "bad_signal") << bad.message;
  EXPECT_FALSE(p.signal("TERM"));
  // Without a ref, a refusal is about stdin: this write completed when it was sent; once the
  // refusal arrived, later writes fail at once.
  EXPECT_FALSE(p.write_stdin("x"));
  ASSERT_TRUE(peer.wait_done()) << peer.failure();
  for (int i = 0; i < 100; ++i) {
    auto again = p.write_stdin("y");
    if (again) {
      EXPECT_EQ(process_error_code(again), "stdin_closed") << again.message;
      return;
    }
    std::this_thread::sleep_for(20ms);
  }
  ADD_FAILURE() << "stdin was not closed by the refusal";
}

protocol::message ready(const std::string& id, bool ok) {
  protocol::process_ready_message m;
  m.process_id = id;
  m.ready = ok;
  m.elapsed_ms = 12;
  if (!ok)
    m.error = "not ready after 1 s";
  return m;
}

TEST(ClientProcessScripted, ProcessesRunBesideARequestWithoutBlockingEachOther) {
  protocol::command_execution_result_message result;
  protocol::command_result done;
  done.command = "true";
  result.results.push_back(done);
  scripted_peer peer({with_processes({
      scripted_peer::expect("process_start_message"),
      scripted_peer::send(started("c1", "p1", 1024)),
      scripted_peer::expect("command_execution_message"),
      scripted_peer::send(output("p1", "pty", std::string("\x1b[1m\xff\x00", 5))),
      scripted_peer::send(ready("p1", true)),
      // stdin written from another thread while execute_commands waits
      scripted_peer::expect("process_stdin_message"),
      scripted_peer::send(ack("p1", 3)),
      scripted_peer::send(result),
  })});
  auto [s, e] = session::connect({peer.url()});
  ASSERT_TRUE(s) << e.message;
  std::mutex m;
  std::string pty;
  process_callbacks cb;
  cb.on_pty = [&](std::string_view b) {
    std::lock_guard lock(m);
    pty += b;
  };
  process_options o;
  o.command = "python3 -i -q";
  o.pty = protocol::terminal_size{100, 30};
  o.ready = protocol::process_readiness{};
  o.ready->probe = "true";
  auto [p, error] = s->start_process(o, cb);
  ASSERT_FALSE(error) << error.message;
  std::thread request([&] {
    protocol::command c;
    c.command = "true";
    auto [r, request_error] = s->execute_commands({c});
    EXPECT_FALSE(request_error) << request_error.message;
  });
  auto [r, ready_error] = p.wait_ready();
  EXPECT_FALSE(ready_error) << ready_error.message;
  EXPECT_TRUE(r.ready);
  EXPECT_EQ(r.elapsed.count(), 12);
  EXPECT_FALSE(p.write_stdin("1\n\x04"));
  request.join();
  ASSERT_TRUE(peer.wait_done()) << peer.failure();
  std::lock_guard lock(m);
  EXPECT_EQ(pty, std::string("\x1b[1m\xff\x00", 5));
}

TEST(ClientProcessScripted, ADurableSessionResumesItsProcesses) {
  using namespace test::durable_script;
  const std::string both = "durable-sessions, processes";
  scripted_peer peer(std::vector<scripted_peer::connection>{
      with_processes({scripted_peer::send(info(false, 0, 0)),
                      scripted_peer::expect("process_start_message"),
                      scripted_peer::send(started("c1", "p1", 0), 1),
                      scripted_peer::send(output("p1", "stdout", "a"), 2),
                      scripted_peer::expect("process_wait_message"), scripted_peer::drop()},
                     both),
      // The wait was lost in the drop: the client sends a barrier after the replay, then the
      // wait again.
      with_processes({scripted_peer::send(info(true, 2, 0)),
                      scripted_peer::send(output("p1", "stdout", "a"), 2), // replayed
                      scripted_peer::send(output("p1", "stdout", "b"), 3),
                      scripted_peer::expect("process_list_message"),
                      scripted_peer::send(list_result("c3"), 4),
                      scripted_peer::expect("process_wait_message"),
                      scripted_peer::send(exited("c2", "p1", 0), 5)},
                     both),
  });
  connect_options co{peer.url()};
  co.reconnect.initial_backoff = 10ms;
  auto [s, e] = session::connect(co);
  ASSERT_TRUE(s) << e.message;
  ASSERT_TRUE(s->durable());
  std::mutex m;
  std::string out;
  process_callbacks cb;
  cb.on_stdout = [&](std::string_view t) {
    std::lock_guard lock(m);
    out += t;
  };
  process_options o;
  o.command = "server";
  auto [p, error] = s->start_process(o, cb);
  ASSERT_FALSE(error) << error.message;
  auto [exit, wait_error] = p.wait();
  EXPECT_FALSE(wait_error) << wait_error.message;
  EXPECT_EQ(exit.exit_code, 0);
  ASSERT_TRUE(peer.wait_done()) << peer.failure();
  std::lock_guard lock(m);
  EXPECT_EQ(out, "ab");
}

TEST(ClientProcessScripted, StdinTheRuntimeDidNotReceiveIsSentAgainWithItsEndOfInput) {
  using namespace test::durable_script;
  const std::string both = "durable-sessions, processes";
  // The runtime received 3 of the 6 bytes and not the end of input before the drop; it says
  // so in the answer to the resume's barrier.
  protocol::process_list_result_message listed;
  listed.ref = "c2";
  protocol::process_info p1;
  p1.process_id = "p1";
  p1.command = "server";
  p1.state = "running";
  p1.stdin_received = 3;
  p1.stdin_closed = false;
  listed.processes.push_back(p1);
  scripted_peer peer(std::vector<scripted_peer::connection>{
      with_processes({scripted_peer::send(info(false, 0, 0)),
                      scripted_peer::expect("process_start_message"),
                      scripted_peer::send(started("c1", "p1", 1000), 1),
                      scripted_peer::expect("process_stdin_message"),
                      scripted_peer::expect("process_stdin_message"), scripted_peer::drop()},
                     both),
      with_processes({scripted_peer::send(info(true, 1, 0)),
                      scripted_peer::expect("process_list_message"), scripted_peer::send(listed, 2),
                      scripted_peer::expect("process_stdin_message"),
                      scripted_peer::send(ack("p1", 6, true), 3)},
                     both),
  });
  connect_options co{peer.url()};
  co.reconnect.initial_backoff = 10ms;
  auto [s, e] = session::connect(co);
  ASSERT_TRUE(s) << e.message;
  auto o = command_for_test();
  o.stdin_open = true;
  auto [p, error] = s->start_process(o, {});
  ASSERT_FALSE(error) << error.message;
  ASSERT_FALSE(p.write_stdin("hello "));
  // Completes with the acknowledgement that says closed, on the second connection.
  EXPECT_FALSE(p.close_stdin());
  ASSERT_TRUE(peer.wait_done()) << peer.failure();
  const auto stdin_frames = received_of<protocol::process_stdin_message>(peer);
  ASSERT_EQ(stdin_frames.size(), 3u);
  EXPECT_EQ(stdin_frames[0].data, "hello ");
  EXPECT_FALSE(stdin_frames[0].eof);
  EXPECT_TRUE(stdin_frames[1].eof); // lost with the connection
  EXPECT_EQ(stdin_frames[2].data, "lo ");
  EXPECT_TRUE(stdin_frames[2].eof);
}

TEST(ClientProcessScripted, QuestionsAskedWhileReconnectingGoOutInOrderOnTheResume) {
  using namespace test::durable_script;
  const std::string both = "durable-sessions, processes";
  constexpr int signals = 6; // refs c2..c13: past c9, where text order and creation order differ
  std::vector<scripted_peer::step> resumed = {scripted_peer::pause(300ms),
                                              scripted_peer::send(info(true, 1, 0))};
  for (int i = 0; i < signals; ++i) {
    resumed.push_back(scripted_peer::expect("process_signal_message"));
    resumed.push_back(scripted_peer::expect("process_list_message"));
  }
  for (int i = 0; i < signals; ++i)
    resumed.push_back(scripted_peer::send(list_result("c" + std::to_string(3 + 2 * i)), 2 + i));
  scripted_peer peer(std::vector<scripted_peer::connection>{
      with_processes({scripted_peer::send(info(false, 0, 0)),
                      scripted_peer::expect("process_start_message"),
                      scripted_peer::send(started("c1", "p1", 0), 1), scripted_peer::pause(100ms),
                      scripted_peer::drop()},
                     both),
      with_processes(resumed, both),
  });
  std::promise<void> lost;
  connect_options co{peer.url()};
  co.reconnect.initial_backoff = 10ms;
  co.on_connection_event = [&](const connection_event& e) {
    if (e.type == connection_event::kind::lost)
      lost.set_value();
  };
  auto [s, e] = session::connect(co);
  ASSERT_TRUE(s) << e.message;
  auto [p, error] = s->start_process(command_for_test());
  ASSERT_FALSE(error) << error.message;
  ASSERT_EQ(lost.get_future().wait_for(5s), std::future_status::ready);
  std::vector<std::future<client_error>> confirmed;
  for (int i = 0; i < signals; ++i) {
    auto done = std::make_shared<std::promise<client_error>>();
    confirmed.push_back(done->get_future());
    p.async_signal("SIGUSR1", [done](client_error e) { done->set_value(std::move(e)); });
  }
  for (auto& f : confirmed) {
    ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
    EXPECT_FALSE(f.get());
  }
  ASSERT_TRUE(peer.wait_done()) << peer.failure();
  // Each signal before its barrier, in the order they were asked.
  std::vector<std::string> refs;
  for (const auto& frame : peer.received(1)) {
    auto d = protocol::decode(frame);
    if (!d.msg)
      continue;
    if (auto* m = std::get_if<protocol::process_signal_message>(&*d.msg))
      refs.push_back(m->ref.value_or("?"));
    if (auto* m = std::get_if<protocol::process_list_message>(&*d.msg))
      refs.push_back(m->ref.value_or("?"));
  }
  std::vector<std::string> expected;
  for (int i = 0; i < 2 * signals; ++i)
    expected.push_back("c" + std::to_string(2 + i));
  EXPECT_EQ(refs, expected);
}

} // namespace
} // namespace agentrt::client
