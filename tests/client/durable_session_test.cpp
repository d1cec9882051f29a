// Durable sessions (docs/durable-sessions.md) in the client library, against a scripted peer
// that plays the runtime's side connection by connection: opting in, reconnecting and resuming
// after a drop, exactly-once delivery with replayed duplicates, resending what the runtime never
// received (the request, a cancel, an upload answer), gap notices, acknowledgements, the
// distinct errors for an expired or refused resume and for a superseded connection, detach and
// attach, and the fallback to today's behaviour against a peer without the extension.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <mutex>
#include <thread>

#include "agentrt/client/client.hpp"
#include "agentrt/protocol/codec.hpp"
#include "support/durable_script.hpp"
#include "support/scripted_peer.hpp"

namespace agentrt::client {
namespace {

using namespace std::chrono_literals;
using test::scripted_peer;
using peer_connection = scripted_peer::connection;

using namespace test::durable_script;

// Fast reconnects for tests; records every connection event.
struct durable_client {
  connect_options options;
  std::mutex mutex;
  std::vector<connection_event> events;

  explicit durable_client(const std::string& url) {
    options.url = url;
    options.connect_timeout = 5s;
    options.reconnect.initial_backoff = 10ms;
    options.reconnect.max_backoff = 50ms;
    options.reconnect.deadline = 5s;
    options.on_connection_event = [this](const connection_event& e) {
      std::lock_guard lock(mutex);
      events.push_back(e);
    };
  }
  std::vector<connection_event> seen() {
    std::lock_guard lock(mutex);
    return events;
  }
};

struct collected {
  std::mutex mutex;
  std::vector<std::string> texts;
  std::vector<protocol::gap_message> gaps;
  void attach_to(request_callbacks& c) {
    c.on_command_output = [this](const protocol::command_output_message& m) {
      std::lock_guard lock(mutex);
      texts.push_back(m.text);
    };
    c.on_gap = [this](const protocol::gap_message& g) {
      std::lock_guard lock(mutex);
      gaps.push_back(g);
    };
  }
};

std::vector<protocol::command> one_command() {
  protocol::command c;
  c.command = "cmd";
  return {c};
}

std::size_t count_type(const std::vector<std::string>& frames, const std::string& type) {
  std::size_t n = 0;
  for (const auto& f : frames)
    n += protocol::decode(f).message_type == type ? 1 : 0;
  return n;
}

TEST(ClientDurable, NewSessionOptsInAndRunsARequestAsUsual) {
  scripted_peer peer({durable({
      scripted_peer::send(info(false, 0, 0)),
      scripted_peer::expect("command_execution_message"),
      out("a", 1),
      out("b", 2),
      exec_result(0, 3),
      scripted_peer::expect("end_session_message"),
      scripted_peer::send(protocol::end_session_confirm_message{}, 4),
  })});
  durable_client c(peer.url());
  auto [s, e] = session::connect(c.options);
  ASSERT_TRUE(s) << e.message;
  EXPECT_TRUE(s->durable());
  EXPECT_EQ(s->session_id(), session_id);
  collected got;
  execute_options o;
  got.attach_to(o);
  auto [r, error] = s->execute_commands(one_command(), o);
  ASSERT_FALSE(error) << error.message;
  EXPECT_EQ(r.results.size(), 1u);
  EXPECT_EQ(got.texts, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(s->end()) << "end";
  ASSERT_TRUE(peer.wait_done()) << peer.failure();
  EXPECT_EQ(peer.request_headers(0)["Agentrt-Session"], "new");
  EXPECT_TRUE(c.seen().empty());
}

// The heart of it: a drop mid-request, a resume, a replay overlapping what arrived before the
// drop, a duplicate on a live connection too: every message reaches its callback exactly once,
// in order, and the request is sent once.
TEST(ClientDurable, DropResumeAndReplayDeliverEachMessageExactlyOnce) {
  scripted_peer peer({
      durable({scripted_peer::send(info(false, 0, 0)),
               scripted_peer::expect("command_execution_message"), out("1", 1), out("2", 2),
               out("2", 2), // a duplicate on the live connection
               out("3", 3), scripted_peer::pause(50ms), scripted_peer::drop()}),
      durable({scripted_peer::send(info(true, 5, 1)), out("2", 2), out("3", 3), out("4", 4),
               exec_result(0, 5)}),
  });
  durable_client c(peer.url());
  auto [s, e] = session::connect(c.options);
  ASSERT_TRUE(s) << e.message;
  collected got;
  execute_options o;
  got.attach_to(o);
  const auto t0 = std::chrono::steady_clock::now();
  auto [r, error] = s->execute_commands(one_command(), o);
  ASSERT_FALSE(error) << error.message;
  EXPECT_EQ(got.texts, (std::vector<std::string>{"1", "2", "3", "4"}));
  ASSERT_TRUE(peer.wait_done()) << peer.failure();
  auto headers = peer.request_headers(1);
  EXPECT_EQ(headers["Agentrt-Session"], session_id);
  EXPECT_EQ(headers["Agentrt-Resume-Token"], resume_token);
  EXPECT_EQ(headers["Agentrt-Last-Seq"], "3");
  EXPECT_EQ(count_type(peer.received(), "command_execution_message"), 1u);
  const auto events = c.seen();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, connection_event::kind::lost);
  EXPECT_EQ(events[0].last_seq, 3u);
  EXPECT_EQ(events[1].type, connection_event::kind::resumed);
  EXPECT_EQ(events[1].attempts, 1);
  std::cout << "[ figures  ] request across a drop and a resume took "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - t0)
                   .count()
            << " ms (outage " << events[1].outage.count() << " ms)\n";
}

TEST(ClientDurable, ARequestLostInTransitIsSentAgain) {
  scripted_peer peer({
      durable({scripted_peer::send(info(false, 0, 0)),
               scripted_peer::expect("command_execution_message"), scripted_peer::drop()}),
      // The runtime never got it: requests_received is still 0.
      durable({scripted_peer::send(info(true, 0, 0)),
               scripted_peer::expect("command_execution_message"), exec_result(3, 1)}),
  });
  durable_client c(peer.url());
  auto [s, e] = session::connect(c.options);
  ASSERT_TRUE(s) << e.message;
  auto [r, error] = s->execute_commands(one_command(), {});
  ASSERT_FALSE(error) << error.message;
  EXPECT_EQ(r.failed_exit_code(), 3);
  ASSERT_TRUE(peer.wait_done()) << peer.failure();
  EXPECT_EQ(peer.received(0).at(0), peer.received(1).at(0)); // the same request, byte for byte
}

TEST(ClientDurable, AReceivedRequestIsNotSentAgain) {
  scripted_peer peer({
      durable({scripted_peer::send(info(false, 0, 0)),
               scripted_peer::expect("command_execution_message"), scripted_peer::drop()}),
      durable({scripted_peer::send(info(true, 0, 1)), out("x", 1), exec_result(0, 2)}),
  });
  durable_client c(peer.url());
  auto [s, e] = session::connect(c.options);
  ASSERT_TRUE(s) << e.message;
  auto [r, error] = s->execute_commands(one_command(), {});
  ASSERT_FALSE(error) << error.message;
  ASSERT_TRUE(peer.wait_done()) << peer.failure();
  EXPECT_EQ(count_type(peer.received(1), "command_execution_message"), 0u);
}

// A request cancelled from its first output's callback; the peer drops the connection after the
// cancel arrived and plays `resumed` on the next one.
void run_cancelled_across_a_drop(std::vector<scripted_peer::step> resumed,
                                 std::size_t cancels_after_resume) {
  scripted_peer peer({
      durable({scripted_peer::send(info(false, 0, 0)),
               scripted_peer::expect("command_execution_message"), out("1", 1),
               scripted_peer::expect("cancel_message"), scripted_peer::drop()}),
      durable(std::move(resumed)),
  });
  durable_client c(peer.url());
  auto [s, e] = session::connect(c.options);
  ASSERT_TRUE(s) << e.message;
  execute_options o;
  o.on_command_output = [&s = s](const protocol::command_output_message&) { s->abort(); };
  auto [r, error] = s->execute_commands(one_command(), o);
  EXPECT_EQ(error.code, make_error_code(errc::cancelled)) << error.message;
  ASSERT_TRUE(peer.wait_done()) << peer.failure();
  EXPECT_EQ(count_type(peer.received(1), "cancel_message"), cancels_after_resume);
}

TEST(ClientDurable, ACancelIsSentAgainUnlessTheReplayCarriesTheTerminal) {
  const protocol::error_message cancelled{"Request cancelled", {R"({"code":"cancelled"})"}};
  // The terminal has not been sent: the cancel is repeated after the replay.
  run_cancelled_across_a_drop({scripted_peer::send(info(true, 2, 1)), out("1", 1), out("2", 2),
                               scripted_peer::expect("cancel_message"),
                               scripted_peer::send(cancelled, 3)},
                              1);
  // The replay holds the terminal: nothing more is sent for the cancel.
  run_cancelled_across_a_drop({scripted_peer::send(info(true, 2, 1)),
                               scripted_peer::send(cancelled, 2), scripted_peer::pause(200ms)},
                              0);
}

TEST(ClientDurable, AGapNoticeReachesOnGapOnceInItsPlace) {
  protocol::gap_message gap{2, 9, {{"command_output_message", "cmd", "stdout", 8, 4096}}};
  scripted_peer peer({
      durable({scripted_peer::send(info(false, 0, 0)),
               scripted_peer::expect("command_execution_message"), out("1", 1),
               scripted_peer::drop()}),
      durable({scripted_peer::send(info(true, 11, 1)), scripted_peer::send(gap),
               scripted_peer::send(gap), // repeated: dropped
               out("10", 10), exec_result(0, 11)}),
  });
  durable_client c(peer.url());
  auto [s, e] = session::connect(c.options);
  ASSERT_TRUE(s) << e.message;
  collected got;
  execute_options o;
  got.attach_to(o);
  auto [r, error] = s->execute_commands(one_command(), o);
  ASSERT_FALSE(error) << error.message;
  EXPECT_EQ(got.texts, (std::vector<std::string>{"1", "10"}));
  ASSERT_EQ(got.gaps.size(), 1u);
  EXPECT_EQ(got.gaps[0].from_seq, 2u);
  EXPECT_EQ(got.gaps[0].to_seq, 9u);
  EXPECT_EQ(got.gaps[0].lost.at(0).bytes, 4096u);
}

TEST(ClientDurable, ExpiredAndRefusedResumesAreTheirOwnErrors) {
  struct refusal {
    const char* text;
    const char* code;
    errc expected;
  };
  for (const refusal& r :
       {refusal{"resume refused: session expired", "session_expired", errc::session_expired},
        refusal{"resume refused: unknown session or wrong token", "resume_refused",
                errc::resume_refused}}) {
    protocol::error_message refused{r.text, {std::string(R"({"code":")") + r.code + "\"}"}};
    scripted_peer peer({
        durable({scripted_peer::send(info(false, 0, 0)),
                 scripted_peer::expect("command_execution_message"), scripted_peer::drop()}),
        durable({scripted_peer::send(refused), scripted_peer::close(1008, "resume refused")}),
    });
    durable_client c(peer.url());
    auto [s, e] = session::connect(c.options);
    ASSERT_TRUE(s) << e.message;
    auto [res, error] = s->execute_commands(one_command(), {});
    EXPECT_EQ(error.code, make_error_code(r.expected)) << error.message;
    EXPECT_STREQ(errc_name(error.code), r.code);
    EXPECT_EQ(error.message, r.text);
    EXPECT_NE(error.metadata_json.find(r.code), std::string::npos) << error.metadata_json;
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(peer.connection_attempts(), 2u); // no further attempt after a refusal
    EXPECT_EQ(s->execute_commands(one_command(), {}).second.code, make_error_code(errc::closed));
  }
}

TEST(ClientDurable, ASupersededConnectionDoesNotComeBack) {
  scripted_peer peer({durable({scripted_peer::send(info(false, 0, 0)),
                               scripted_peer::expect("command_execution_message"),
                               scripted_peer::close(4001, "superseded by another connection")})});
  durable_client c(peer.url());
  auto [s, e] = session::connect(c.options);
  ASSERT_TRUE(s) << e.message;
  auto [res, error] = s->execute_commands(one_command(), {});
  EXPECT_EQ(error.code, make_error_code(errc::superseded)) << error.message;
  EXPECT_NE(error.message.find("4001"), std::string::npos) << error.message;
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(peer.connection_attempts(), 1u);
}

TEST(ClientDurable, ReconnectingGivesUpAfterItsAttempts) {
  scripted_peer peer({
      durable({scripted_peer::send(info(false, 0, 0)),
               scripted_peer::expect("command_execution_message"), scripted_peer::drop()}),
      peer_connection{{}, {}, 503},
      peer_connection{{}, {}, 503},
      peer_connection{{}, {}, 503},
  });
  durable_client c(peer.url());
  c.options.reconnect.max_attempts = 3;
  auto [s, e] = session::connect(c.options);
  ASSERT_TRUE(s) << e.message;
  auto [res, error] = s->execute_commands(one_command(), {});
  EXPECT_EQ(error.code, make_error_code(errc::closed)) << error.message;
  EXPECT_NE(error.message.find("3 attempt(s)"), std::string::npos) << error.message;
  EXPECT_NE(error.message.find("503"), std::string::npos) << error.message;
  EXPECT_NE(error.metadata_json.find(R"("reconnect_attempts":3)"), std::string::npos)
      << error.metadata_json;
  EXPECT_EQ(peer.connection_attempts(), 4u);
}

TEST(ClientDurable, ARequestBegunWhileReconnectingWaitsForTheResume) {
  scripted_peer peer({
      durable({scripted_peer::send(info(false, 0, 0)), scripted_peer::drop()}),
      peer_connection{{}, {}, 503},
      durable({scripted_peer::send(info(true, 0, 0)),
               scripted_peer::expect("command_execution_message"), exec_result(0, 1)}),
  });
  durable_client c(peer.url());
  c.options.reconnect.initial_backoff = 200ms; // the request comes while it waits
  c.options.reconnect.max_backoff = 200ms;
  auto [s, e] = session::connect(c.options);
  ASSERT_TRUE(s) << e.message;
  for (int i = 0; i < 100 && c.seen().empty(); ++i)
    std::this_thread::sleep_for(10ms);
  ASSERT_FALSE(c.seen().empty());
  auto [res, error] = s->execute_commands(one_command(), {});
  ASSERT_FALSE(error) << error.message;
  ASSERT_TRUE(peer.wait_done()) << peer.failure();
  EXPECT_EQ(count_type(peer.received(), "command_execution_message"), 1u);
}

// Runs one command request against a durable peer playing steps (which must end it); returns
// the seqs of the acks the client sent, in order.
std::vector<std::uint64_t> acks_sent(std::vector<scripted_peer::step> steps) {
  scripted_peer peer({durable(std::move(steps))});
  durable_client c(peer.url());
  auto [s, e] = session::connect(c.options);
  if (!s) {
    ADD_FAILURE() << e.message;
    return {};
  }
  auto [res, error] = s->execute_commands(one_command(), {});
  EXPECT_FALSE(error) << error.message;
  EXPECT_TRUE(peer.wait_done(5s)) << peer.failure();
  std::vector<std::uint64_t> acks;
  for (const auto& f : peer.received())
    if (auto d = protocol::decode(f);
        d.msg && std::holds_alternative<protocol::ack_message>(*d.msg))
      acks.push_back(std::get<protocol::ack_message>(*d.msg).seq);
  return acks;
}

TEST(ClientDurable, AcknowledgesEvery256MessagesAndAfterASecond) {
  std::vector<scripted_peer::step> steps{scripted_peer::send(info(false, 0, 0)),
                                         scripted_peer::expect("command_execution_message")};
  for (std::uint64_t seq = 1; seq <= 300; ++seq)
    steps.push_back(out(".", seq));
  steps.push_back(scripted_peer::expect("ack_message"));
  steps.push_back(exec_result(0, 301));
  steps.push_back(scripted_peer::expect("ack_message"));
  const std::vector<std::uint64_t> acks = acks_sent(std::move(steps));
  EXPECT_EQ(acks, (std::vector<std::uint64_t>{256, 301}));
}

// Large messages: 256 of them would be far past the runtime's journal memory budget, so the
// client also acknowledges every 2 MiB (the 7th 300 KB message crosses it).
TEST(ClientDurable, AcknowledgesEvery2MibOfMessages) {
  const std::string big(300 * 1024, 'x');
  std::vector<scripted_peer::step> steps{scripted_peer::send(info(false, 0, 0)),
                                         scripted_peer::expect("command_execution_message")};
  for (std::uint64_t seq = 1; seq <= 20; ++seq)
    steps.push_back(out(big, seq));
  steps.push_back(scripted_peer::expect("ack_message"));
  steps.push_back(exec_result(0, 21));
  const std::vector<std::uint64_t> acks = acks_sent(std::move(steps));
  ASSERT_FALSE(acks.empty());
  EXPECT_EQ(acks.front(), 7u);
}

TEST(ClientDurable, UploadAnswersLostInADropAreGivenAgainWithoutASecondCallback) {
  protocol::artifact_upload_request_message announce{"a.txt", "/out/a.txt"};
  scripted_peer peer({
      durable({scripted_peer::send(info(false, 0, 0)),
               scripted_peer::expect("command_execution_message"), scripted_peer::send(announce, 1),
               scripted_peer::expect("artifact_upload_response_message"), scripted_peer::drop()}),
      // The answer did not arrive: the runtime announces the file again.
      durable({scripted_peer::send(info(true, 2, 1)), scripted_peer::send(announce, 2),
               scripted_peer::expect("artifact_upload_response_message"), exec_result(0, 3)}),
  });
  durable_client c(peer.url());
  auto [s, e] = session::connect(c.options);
  ASSERT_TRUE(s) << e.message;
  std::atomic<int> callbacks{0};
  execute_options o;
  o.artifacts_dirs = {"/out"};
  o.on_artifact_upload_request = [&](const protocol::artifact_upload_request_message&,
                                     upload_reply reply) {
    ++callbacks;
    reply(
        upload_target{"http://127.0.0.1:9/put/" + std::to_string(callbacks.load()), "text/plain"});
  };
  auto [res, error] = s->execute_commands(one_command(), o);
  ASSERT_FALSE(error) << error.message;
  ASSERT_TRUE(peer.wait_done()) << peer.failure();
  EXPECT_EQ(callbacks.load(), 1);
  const auto first = peer.received(0), second = peer.received(1);
  ASSERT_EQ(count_type(second, "artifact_upload_response_message"), 1u);
  EXPECT_EQ(first.back(), second.back());
}

TEST(ClientDurable, DetachHandsOutAHandleAndAttachCollectsTheRequest) {
  scripted_peer peer({
      durable({scripted_peer::send(info(false, 0, 0)),
               scripted_peer::expect("command_execution_message"), out("1", 1),
               scripted_peer::expect("detach_message"),
               scripted_peer::send(protocol::detach_confirm_message{session_id, 3600}, 2),
               scripted_peer::close(1000, "detached")}),
      // Attached from elsewhere with last_seq 0: the whole journal, the detach's confirm
      // included (ignored there), then the live rest.
      durable({scripted_peer::send(info(true, 2, 1, true)), out("1", 1),
               scripted_peer::send(protocol::detach_confirm_message{session_id, 3600}, 2),
               out("3", 3), exec_result(5, 4), scripted_peer::expect("end_session_message"),
               scripted_peer::send(protocol::end_session_confirm_message{}, 5)}),
  });
  durable_client c(peer.url());
  session_handle handle;
  {
    io_loop loop;
    auto [s, e] = async_session::connect(loop, c.options).get();
    ASSERT_TRUE(s) << e.message;
    std::promise<void> first_output;
    execute_options o;
    o.on_command_output = [&](const protocol::command_output_message&) {
      first_output.set_value();
    };
    auto request = s->execute_commands(one_command(), o);
    first_output.get_future().wait();
    auto [h, detach_error] = s->detach().get();
    ASSERT_FALSE(detach_error) << detach_error.message;
    handle = h;
    EXPECT_EQ(request.get().second.code, make_error_code(errc::detached));
  }
  EXPECT_EQ(handle.url, peer.url());
  EXPECT_EQ(handle.session_id, session_id);
  EXPECT_EQ(handle.resume_token, resume_token);
  EXPECT_EQ(handle.last_seq, 2u);
  EXPECT_EQ(handle.expires_in_s, 3600);

  handle.last_seq = 0; // another process that saw nothing
  collected got;
  attach_options callbacks;
  got.attach_to(callbacks);
  auto [s, e] = session::attach({}, handle, callbacks);
  ASSERT_TRUE(s) << e.message;
  EXPECT_TRUE(s->durable());
  auto [result, error] = s->collect();
  ASSERT_FALSE(error) << error.message;
  EXPECT_EQ(result.type, attach_result::kind::execute);
  EXPECT_EQ(result.execute.failed_exit_code(), 5);
  EXPECT_EQ(got.texts, (std::vector<std::string>{"1", "3"}));
  EXPECT_FALSE(s->end()) << "end";
  ASSERT_TRUE(peer.wait_done()) << peer.failure();
  EXPECT_EQ(peer.request_headers(1)["Agentrt-Last-Seq"], "0");
  EXPECT_EQ(count_type(peer.received(1), "command_execution_message"), 0u);
}

TEST(ClientDurable, AttachWithNothingInFlightCollectsNothing) {
  scripted_peer peer({durable({scripted_peer::send(info(true, 0, 1, false))})});
  session_handle handle{peer.url(), session_id, resume_token, 0, 0};
  auto [s, e] = session::attach({}, handle);
  ASSERT_TRUE(s) << e.message;
  auto [result, error] = s->collect();
  ASSERT_FALSE(error) << error.message;
  EXPECT_EQ(result.type, attach_result::kind::none);
}

TEST(ClientDurable, AttachToAnExpiredSessionFailsBothHandlers) {
  protocol::error_message refused{"resume refused: session expired",
                                  {R"({"code":"session_expired"})"}};
  scripted_peer peer({durable({scripted_peer::send(refused), scripted_peer::close(1008, "")})});
  io_loop loop;
  std::promise<client_error> attached, done;
  async_session::attach(
      loop, {}, session_handle{peer.url(), session_id, resume_token, 0, 0}, {},
      [&](std::shared_ptr<async_session> s, client_error e) {
        EXPECT_FALSE(s);
        attached.set_value(e);
      },
      [&](attach_result, client_error e) { done.set_value(e); });
  EXPECT_EQ(attached.get_future().get().code, make_error_code(errc::session_expired));
  EXPECT_EQ(done.get_future().get().code, make_error_code(errc::session_expired));
}

// Against a peer without the extension (runtimeuse, an older agentrt) the client asks and then
// behaves exactly as before: no session, a drop is the end of the request.
TEST(ClientDurable, WithoutTheExtensionADropEndsTheRequestAsToday) {
  scripted_peer peer({scripted_peer::expect("command_execution_message"), scripted_peer::drop()});
  durable_client c(peer.url());
  auto [s, e] = session::connect(c.options);
  ASSERT_TRUE(s) << e.message;
  EXPECT_FALSE(s->durable());
  EXPECT_EQ(s->session_id(), "");
  auto [res, error] = s->execute_commands(one_command(), {});
  EXPECT_EQ(error.code, make_error_code(errc::closed)) << error.message;
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(peer.connection_attempts(), 1u);
  EXPECT_TRUE(c.seen().empty());
  EXPECT_EQ(peer.request_headers(0)["Agentrt-Session"], "new");
  EXPECT_EQ(s->detach().second.code, make_error_code(errc::not_durable));
}

TEST(ClientDurable, TheHeaderWithoutSessionInfoFirstIsNotDurableEither) {
  {
    scripted_peer peer(
        {durable({scripted_peer::send(protocol::heartbeat_message{}),
                  scripted_peer::expect("command_execution_message"), exec_result(0, 1)})});
    durable_client c(peer.url());
    auto [s, e] = session::connect(c.options);
    ASSERT_TRUE(s) << e.message;
    EXPECT_FALSE(s->durable());
    auto [res, error] = s->execute_commands(one_command(), {});
    ASSERT_FALSE(error) << error.message;
  }
  {
    // Silence after the header: the connect waits for session_info_message, within its timeout.
    scripted_peer peer({durable({scripted_peer::pause(2s)})});
    durable_client c(peer.url());
    c.options.connect_timeout = 300ms;
    auto [s, e] = session::connect(c.options);
    EXPECT_FALSE(s);
    EXPECT_EQ(e.code, make_error_code(errc::connection_failed)) << e.message;
  }
}

TEST(ClientDurable, DurableFalseSendsNoOptIn) {
  scripted_peer peer(
      {durable({scripted_peer::expect("command_execution_message"), exec_result(0, 1)})});
  connect_options o{peer.url()};
  o.durable = false;
  auto [s, e] = session::connect(o);
  ASSERT_TRUE(s) << e.message;
  EXPECT_FALSE(s->durable());
  auto [res, error] = s->execute_commands(one_command(), {});
  ASSERT_FALSE(error) << error.message;
  EXPECT_EQ(peer.request_headers(0).count("Agentrt-Session"), 0u);
  EXPECT_EQ(s->detach().second.code, make_error_code(errc::not_durable));
}

} // namespace
} // namespace agentrt::client
