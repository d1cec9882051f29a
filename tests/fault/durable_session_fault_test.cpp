// Durable sessions (docs/durable-sessions.md) against the real runtime over real sockets: the
// opt-in and numbering, resume after a drop with nothing lost or repeated, many cuts through the
// cutting proxy with the real C++ client (a 256 MiB stream through 20 cuts, a custom handler's
// invocation), expiry killing the request's process tree (and a late resume told "session
// expired"), refusals, two resumers racing (the newest wins, the other gets 4001), detach and
// attach from a new client, journal overflow reported as a gap with exact accounting, and a
// client that did not opt in still cancelling on disconnect.
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "agentrt/client/client.hpp"
#include "agentrt/protocol/codec.hpp"
#include "support/cutting_proxy.hpp"
#include "support/http_test_server.hpp"
#include "support/protocol_helpers.hpp"
#include "support/runtime_fault_fixture.hpp"

namespace agentrt::test {
namespace {

using namespace std::chrono_literals;
namespace p = agentrt::protocol;

// One frame as the client saw it: its seq (numbered messages) and the message.
struct frame {
  std::optional<std::uint64_t> seq;
  p::message msg;
};

std::optional<frame> next_frame(ws_test_client& ws, std::chrono::milliseconds timeout = 30s) {
  auto text = ws.receive_frame(timeout);
  if (!text)
    return std::nullopt;
  p::decode_result d = p::decode(*text);
  if (!d.msg) {
    ADD_FAILURE() << "undecodable frame: " << text->substr(0, 200);
    return std::nullopt;
  }
  return frame{d.seq, std::move(*d.msg)};
}

bool is_terminal(const p::message& m) {
  return std::holds_alternative<p::command_execution_result_message>(m) ||
         std::holds_alternative<p::error_message>(m) ||
         std::holds_alternative<p::result_message>(m);
}

// Frames up to and including the request's terminal (or until the connection ends).
std::vector<frame> frames_until_terminal(ws_test_client& ws,
                                         std::chrono::milliseconds timeout = 60s) {
  std::vector<frame> out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto f = next_frame(ws, std::chrono::duration_cast<std::chrono::milliseconds>(
                                deadline - std::chrono::steady_clock::now()));
    if (!f)
      break;
    const bool terminal = is_terminal(f->msg);
    out.push_back(std::move(*f));
    if (terminal)
      break;
  }
  return out;
}

std::string stdout_of(const std::vector<frame>& frames) {
  std::string s;
  for (const auto& f : frames)
    if (auto* o = as<p::command_output_message>(f.msg); o && o->stream == "stdout")
      s += o->text;
  return s;
}

struct durable_link {
  std::unique_ptr<ws_test_client> ws;
  p::session_info_message info;
};

std::map<std::string, std::string> resume_headers(const p::session_info_message& info,
                                                  std::uint64_t last_seq) {
  return {{"Agentrt-Session", info.session_id},
          {"Agentrt-Resume-Token", info.resume_token},
          {"Agentrt-Last-Seq", std::to_string(last_seq)}};
}

// Opens a connection with headers and reads its first frame, which must be session_info_message.
std::optional<durable_link> open_durable(const std::string& url,
                                         const std::map<std::string, std::string>& headers) {
  auto r = ws_test_client::connect(url, headers);
  if (!r.client) {
    ADD_FAILURE() << "connect failed: " << r.error;
    return std::nullopt;
  }
  auto f = next_frame(*r.client, 10s);
  if (!f) {
    ADD_FAILURE() << "no first frame";
    return std::nullopt;
  }
  auto* info = as<p::session_info_message>(f->msg);
  if (!info) {
    ADD_FAILURE() << "first frame is " << p::message_type_name(f->msg);
    return std::nullopt;
  }
  EXPECT_FALSE(f->seq.has_value()) << "session_info_message is not numbered";
  return durable_link{std::move(r.client), *info};
}

// Seqs of the numbered frames are exactly from, from+1, ... (gap notices cover their range).
void expect_contiguous(const std::vector<frame>& frames, std::uint64_t from) {
  std::uint64_t next = from;
  for (const auto& f : frames) {
    if (auto* g = as<p::gap_message>(f.msg)) {
      EXPECT_EQ(g->from_seq, next);
      next = g->to_seq + 1;
      continue;
    }
    ASSERT_TRUE(f.seq.has_value()) << p::message_type_name(f.msg) << " is not numbered";
    EXPECT_EQ(*f.seq, next) << p::message_type_name(f.msg);
    next = *f.seq + 1;
  }
}

// n lines "%0<w-1>d\n": deterministic output whose every byte is checked.
std::string numbered_lines(std::size_t n, int width) {
  std::string s;
  s.reserve(n * static_cast<std::size_t>(width));
  char buf[128];
  for (std::size_t i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "%0*zu\n", width - 1, i);
    s += buf;
  }
  return s;
}

// Checks a stream against numbered_lines(n, width) as it arrives, without holding either: the
// large-stream test would otherwise keep two copies of a quarter gigabyte.
class numbered_lines_checker {
public:
  explicit numbered_lines_checker(int width) : line_(static_cast<std::size_t>(width) - 1, '0') {
    line_ += '\n';
  }
  void feed(std::string_view s) {
    while (!s.empty()) {
      const std::size_t n = std::min(s.size(), line_.size() - col_);
      if (ok_ && std::memcmp(s.data(), line_.data() + col_, n) != 0) {
        ok_ = false;
        first_mismatch_ = bytes_;
      }
      s.remove_prefix(n);
      col_ += n;
      bytes_ += n;
      if (col_ == line_.size()) {
        col_ = 0;
        // The next number, in place: an odometer over the zero-padded digits.
        for (std::size_t i = line_.size() - 1; i-- > 0;) {
          if (line_[i] != '9') {
            ++line_[i];
            break;
          }
          line_[i] = '0';
        }
      }
    }
  }
  std::uint64_t bytes() const noexcept { return bytes_; }
  bool ok() const noexcept { return ok_; }
  std::uint64_t first_mismatch() const noexcept { return first_mismatch_; }

private:
  std::string line_; // the line expected next
  std::size_t col_ = 0;
  std::uint64_t bytes_ = 0;
  std::uint64_t first_mismatch_ = 0;
  bool ok_ = true;
};

std::string numbered_lines_command(std::size_t n, int width) {
  return "awk 'BEGIN{for(i=0;i<" + std::to_string(n) + ";i++) printf \"%0" +
         std::to_string(width - 1) + "d\\n\", i}'";
}

std::string health(int port) {
  return http_get(port, "/health").second;
}

// A resume with these credentials is refused: error_message with text and code, then 1008.
void expect_resume_refused(const std::string& url, const p::session_info_message& info,
                           const std::string& text, const std::string& code) {
  auto r = ws_test_client::connect(url, resume_headers(info, 0));
  ASSERT_TRUE(r.client) << r.error;
  auto f = next_frame(*r.client, 5s);
  ASSERT_TRUE(f);
  auto* e = as<p::error_message>(f->msg);
  ASSERT_TRUE(e) << p::message_type_name(f->msg);
  EXPECT_EQ(e->error, text);
  EXPECT_NE(e->metadata.json.find("\"" + code + "\""), std::string::npos) << e->metadata.json;
  EXPECT_TRUE(r.client->wait_closed(5s));
  EXPECT_EQ(r.client->close_code(), 1008);
}

class DurableSessions : public runtime_fault_fixture {};

TEST_F(DurableSessions, OptInGetsSessionInfoAndEveryMessageNumbered) {
  start_runtime();
  auto link = open_durable(rt().url(), {{"Agentrt-Session", "new"}});
  ASSERT_TRUE(link);
  EXPECT_FALSE(link->info.resumed);
  EXPECT_EQ(link->info.last_seq, 0u);
  EXPECT_EQ(link->info.requests_received, 0u);
  EXPECT_EQ(link->info.resume_token.size(), 32u);
  EXPECT_EQ(link->info.resume_window_s, 120.0);
  EXPECT_EQ(link->info.detached_window_s, 3600.0);
  link->ws->send(exec_request({"echo one; echo two 1>&2"}));
  auto frames = frames_until_terminal(*link->ws);
  ASSERT_FALSE(frames.empty());
  ASSERT_TRUE(as<p::command_execution_result_message>(frames.back().msg));
  expect_contiguous(frames, 1);
  link->ws->send(p::end_session_message{});
  auto confirm = next_frame(*link->ws);
  ASSERT_TRUE(confirm);
  EXPECT_TRUE(as<p::end_session_confirm_message>(confirm->msg));
  EXPECT_EQ(confirm->seq, frames.back().seq.value_or(0) + 1);
  EXPECT_TRUE(link->ws->wait_closed(5s));
  EXPECT_EQ(link->ws->close_code(), 1000);
  // Ended: a later resume is told the session expired.
  expect_resume_refused(rt().url(), link->info, "resume refused: session expired",
                        "session_expired");
}

TEST_F(DurableSessions, QueryParametersOptInToo) {
  start_runtime();
  auto link = open_durable(rt().url() + "?session=new", {});
  ASSERT_TRUE(link);
  link->ws->drop();
  auto again = open_durable(rt().url() + "?session=" + link->info.session_id +
                                "&resume_token=" + link->info.resume_token + "&last_seq=0",
                            {});
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->info.resumed);
  EXPECT_EQ(again->info.session_id, link->info.session_id);
}

TEST_F(DurableSessions, ResumeAfterDropMidOutputLosesAndRepeatsNothing) {
  start_runtime();
  auto link = open_durable(rt().url(), {{"Agentrt-Session", "new"}});
  ASSERT_TRUE(link);
  link->ws->send(exec_request({"for i in $(seq 1 300); do echo line$i; sleep 0.003; done"}));
  std::vector<frame> before;
  while (before.size() < 20) {
    auto f = next_frame(*link->ws);
    ASSERT_TRUE(f);
    before.push_back(std::move(*f));
  }
  const std::uint64_t last = *before.back().seq;
  link->ws->drop();
  std::this_thread::sleep_for(200ms); // output goes on into the journal
  auto resumed = open_durable(rt().url(), resume_headers(link->info, last));
  ASSERT_TRUE(resumed);
  EXPECT_TRUE(resumed->info.resumed);
  EXPECT_EQ(resumed->info.requests_received, 1u);
  EXPECT_GE(resumed->info.last_seq, last);
  auto after = frames_until_terminal(*resumed->ws);
  ASSERT_FALSE(after.empty());
  ASSERT_TRUE(as<p::command_execution_result_message>(after.back().msg));
  expect_contiguous(before, 1);
  expect_contiguous(after, last + 1);
  std::string expected;
  for (int i = 1; i <= 300; ++i)
    expected += "line" + std::to_string(i) + "\n";
  EXPECT_EQ(stdout_of(before) + stdout_of(after), expected);
}

// The 256 MiB through 20 forced cuts: about 3 s in a release build, 7 s under
// ASan+UBSan, so the sanitizer pass runs the full size too.
constexpr std::size_t large_stream_lines = 8u << 20; // 32-byte lines: 256 MiB
constexpr int large_stream_cuts = 20;
constexpr std::uint64_t large_stream_cut_min = 4u << 20, large_stream_cut_max = 12u << 20;
// Every cut must come before the stream ends: at most cuts * max bytes to the client.
static_assert(large_stream_cuts * large_stream_cut_max < large_stream_lines * 32);

TEST_F(DurableSessions, ALargeStreamThroughManyCutsArrivesByteExact) {
  start_runtime();
  cutting_proxy proxy(rt().port());
  std::vector<std::uint64_t> cut_at;
  for (int i = 0; i < large_stream_cuts; ++i) {
    cut_at.push_back(proxy.cut_after_random(
        static_cast<std::size_t>(i), cutting_proxy::direction::to_client, large_stream_cut_min,
        large_stream_cut_max, 1234u + static_cast<std::uint32_t>(i)));
  }
  std::printf("[ figures  ] cut points (bytes to the client per connection):");
  for (auto c : cut_at)
    std::printf(" %llu", static_cast<unsigned long long>(c));
  std::printf("\n");

  client::connect_options o;
  o.url = proxy.url();
  o.durable = true;
  o.reconnect.initial_backoff = 10ms;
  o.reconnect.max_backoff = 100ms;
  o.reconnect.max_attempts = 50;
  o.reconnect.deadline = 60s;
  std::mutex m;
  int resumes = 0;
  o.on_connection_event = [&](const client::connection_event& e) {
    std::lock_guard lock(m);
    resumes += e.type == client::connection_event::kind::resumed ? 1 : 0;
  };
  auto [s, err] = client::session::connect(o);
  ASSERT_TRUE(s) << err.message;
  ASSERT_TRUE(s->durable());
  numbered_lines_checker checker(32);
  std::size_t gaps = 0;
  client::execute_options eo;
  eo.on_command_output = [&](const p::command_output_message& out) {
    if (out.stream == "stdout")
      checker.feed(out.text);
  };
  eo.on_gap = [&](const p::gap_message&) { ++gaps; };
  protocol::command c;
  c.command = numbered_lines_command(large_stream_lines, 32);
  const auto t0 = std::chrono::steady_clock::now();
  auto [result, exec_err] = s->execute_commands({c}, eo);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_FALSE(exec_err) << exec_err.message;
  ASSERT_EQ(result.results.size(), 1u);
  EXPECT_EQ(result.results[0].exit_code, 0);
  EXPECT_EQ(gaps, 0u);
  EXPECT_EQ(checker.bytes(), large_stream_lines * 32);
  EXPECT_TRUE(checker.ok()) << "the stream differs from what the command printed at byte "
                            << checker.first_mismatch();
  EXPECT_GE(resumes, large_stream_cuts);
  std::printf("[ figures  ] %llu MiB through %d cuts (%d resumes) in %.2f s (%.1f MiB/s), "
              "byte-exact: %s\n",
              static_cast<unsigned long long>(checker.bytes() >> 20), large_stream_cuts, resumes,
              secs, static_cast<double>(checker.bytes() >> 20) / secs, checker.ok() ? "yes" : "no");
  EXPECT_FALSE(s->end());
}

TEST_F(DurableSessions, ExpiryKillsTheTreeAndALateResumeIsTold) {
  start_runtime({"--resume-window", "1", "--kill-grace", "1"});
  auto link = open_durable(rt().url(), {{"Agentrt-Session", "new"}});
  ASSERT_TRUE(link);
  const std::vector<std::string> tree = {"sleep 100.5511", "sleep 100.5512", "sleep 100.5513"};
  link->ws->send(exec_request({"sleep 100.5511 & setsid sleep 100.5512 & sh -c 'trap \"\" TERM; "
                               "exec sleep 100.5513' & echo started; wait"}));
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& t : tree)
          if (find_processes(t).empty())
            return false;
        return true;
      },
      10s));
  link->ws->drop();
  // Detached: the tree lives on within the window.
  ASSERT_TRUE(wait_until(
      [&] { return health(rt().port()).find("\"detached_sessions\":1") != std::string::npos; }, 5s))
      << health(rt().port());
  for (const auto& t : tree)
    EXPECT_FALSE(find_processes(t).empty()) << t << " died with the connection";
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(wait_processes_gone(tree, 10s));
  std::printf("[ figures  ] tree gone %.2f s after the drop was noticed (window 1 s, grace 1 s)\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() + 0.0);
  EXPECT_TRUE(wait_until(
      [&] { return health(rt().port()).find("\"detached_sessions\":0") != std::string::npos; },
      5s));
  expect_resume_refused(rt().url(), link->info, "resume refused: session expired",
                        "session_expired");
}

TEST_F(DurableSessions, WrongTokenAndUnknownIdAreRefusedAlike) {
  start_runtime();
  auto link = open_durable(rt().url(), {{"Agentrt-Session", "new"}});
  ASSERT_TRUE(link);
  p::session_info_message wrong = link->info;
  wrong.resume_token[0] = wrong.resume_token[0] == 'a' ? 'b' : 'a';
  p::session_info_message unknown = link->info;
  unknown.session_id = "0000000000000000";
  for (const auto* info : {&wrong, &unknown}) {
    expect_resume_refused(rt().url(), *info, "resume refused: unknown session or wrong token",
                          "resume_refused");
  }
  // The session itself is untouched.
  expect_usable(*link->ws);
}

TEST_F(DurableSessions, TwoResumersRaceTheNewestWinsTheOtherGets4001) {
  start_runtime();
  auto link = open_durable(rt().url(), {{"Agentrt-Session", "new"}});
  ASSERT_TRUE(link);
  link->ws->send(exec_request({"for i in $(seq 1 40); do echo n$i; sleep 0.02; done"}));
  auto first = next_frame(*link->ws);
  ASSERT_TRUE(first && first->seq);
  link->ws->drop();
  auto a = open_durable(rt().url(), resume_headers(link->info, *first->seq));
  ASSERT_TRUE(a);
  auto b = open_durable(rt().url(), resume_headers(link->info, *first->seq));
  ASSERT_TRUE(b);
  // a may have read some frames before b took over; it is then closed with 4001.
  EXPECT_TRUE(a->ws->wait_closed(10s));
  EXPECT_EQ(a->ws->close_code(), 4001);
  auto rest = frames_until_terminal(*b->ws);
  ASSERT_FALSE(rest.empty());
  ASSERT_TRUE(as<p::command_execution_result_message>(rest.back().msg));
  expect_contiguous(rest, *first->seq + 1);
  std::string expected;
  for (int i = 1; i <= 40; ++i)
    expected += "n" + std::to_string(i) + "\n";
  std::vector<frame> all{*first};
  EXPECT_EQ(stdout_of(all) + stdout_of(rest), expected);
}

TEST_F(DurableSessions, DetachThenAttachFromANewClientGetsEverything) {
  start_runtime();
  client::connect_options o;
  o.url = rt().url();
  o.durable = true;
  auto [s, err] = client::session::connect(o);
  ASSERT_TRUE(s) << err.message;
  ASSERT_TRUE(s->durable());
  std::mutex m;
  std::string before;
  client::execute_options eo;
  eo.on_command_output = [&](const p::command_output_message& out) {
    std::lock_guard lock(m);
    before += out.text;
  };
  protocol::command c;
  c.command = "for i in $(seq 1 60); do echo d$i; sleep 0.02; done";
  auto running = std::async(std::launch::async, [&] { return s->execute_commands({c}, eo); });
  ASSERT_TRUE(wait_until(
      [&] {
        std::lock_guard lock(m);
        return before.size() > 20;
      },
      10s));
  auto [handle, detach_err] = s->detach();
  ASSERT_FALSE(detach_err) << detach_err.message;
  auto [r1, e1] = running.get();
  EXPECT_EQ(e1.code, client::errc::detached);
  EXPECT_EQ(handle.expires_in_s, 3600.0);
  std::string seen;
  {
    std::lock_guard lock(m);
    seen = before;
  }
  std::this_thread::sleep_for(1500ms); // the request ends while nobody is attached
  std::string after;
  client::attach_options ao;
  ao.on_command_output = [&](const p::command_output_message& out) { after += out.text; };
  auto [s2, attach_err] = client::session::attach(o, handle, ao);
  ASSERT_TRUE(s2) << attach_err.message;
  auto [outcome, collect_err] = s2->collect();
  ASSERT_FALSE(collect_err) << collect_err.message;
  ASSERT_EQ(outcome.type, client::attach_result::kind::execute);
  ASSERT_EQ(outcome.execute.results.size(), 1u);
  EXPECT_EQ(outcome.execute.results[0].exit_code, 0);
  std::string expected;
  for (int i = 1; i <= 60; ++i)
    expected += "d" + std::to_string(i) + "\n";
  EXPECT_EQ(seen + after, expected);
  EXPECT_FALSE(s2->end());
}

TEST_F(DurableSessions, JournalOverflowIsAGapWithExactAccounting) {
  // A small result (its stdout tail is not droppable), so that the budget keeps some output.
  start_runtime({"--journal-memory-bytes", "65536", "--journal-disk-bytes", "262144",
                 "--stdout-cap-bytes", "1024"});
  auto link = open_durable(rt().url(), {{"Agentrt-Session", "new"}});
  ASSERT_TRUE(link);
  constexpr std::size_t lines = 65536; // 64-byte lines: 4 MiB, far past the 320 KiB budget
  const std::string expected = numbered_lines(lines, 64);
  link->ws->send(exec_request({numbered_lines_command(lines, 64)}));
  // The request has arrived once its first message does; then nobody reads.
  auto first = next_frame(*link->ws);
  ASSERT_TRUE(first && first->seq);
  link->ws->drop();
  ASSERT_TRUE(wait_until(
      [&] { return health(rt().port()).find("\"requests_in_flight\":0") != std::string::npos; },
      30s));
  auto resumed = open_durable(rt().url(), resume_headers(link->info, 0));
  ASSERT_TRUE(resumed);
  EXPECT_EQ(resumed->info.requests_received, 1u);
  auto frames = frames_until_terminal(*resumed->ws);
  ASSERT_FALSE(frames.empty());
  ASSERT_TRUE(as<p::command_execution_result_message>(frames.back().msg));
  expect_contiguous(frames, 1);
  std::uint64_t gap_bytes = 0, gap_messages = 0, kept_messages = 0;
  std::size_t gap_notices = 0;
  for (const auto& f : frames) {
    if (auto* g = as<p::gap_message>(f.msg)) {
      ++gap_notices;
      std::uint64_t in_gap = 0;
      for (const auto& l : g->lost) {
        EXPECT_EQ(l.message_type, "command_output_message");
        EXPECT_EQ(l.stream, "stdout");
        gap_bytes += l.bytes;
        in_gap += l.messages;
      }
      EXPECT_EQ(in_gap, g->to_seq - g->from_seq + 1);
      gap_messages += in_gap;
    } else if (as<p::command_output_message>(f.msg)) {
      ++kept_messages;
    }
  }
  const std::string kept = stdout_of(frames);
  EXPECT_GE(gap_notices, 1u);
  EXPECT_GT(kept_messages, 0u);
  EXPECT_EQ(gap_bytes + kept.size(), expected.size());
  // The oldest output went first: what is left is the end of the stream.
  ASSERT_LE(kept.size(), expected.size());
  EXPECT_TRUE(kept == expected.substr(expected.size() - kept.size()));
  std::printf("[ figures  ] 4 MiB of output into a 64 KiB + 256 KiB journal: %zu gap notice(s) "
              "for %llu messages / %llu bytes, %llu messages / %zu bytes kept\n",
              gap_notices, static_cast<unsigned long long>(gap_messages),
              static_cast<unsigned long long>(gap_bytes),
              static_cast<unsigned long long>(kept_messages), kept.size());
}

TEST_F(DurableSessions, AnUnansweredUploadRequestIsAnnouncedAgainOnResume) {
  start_runtime();
  http_test_server http;
  http.route("/put", http_response::with_status(200));
  const std::string dir = make_temp_dir("agentrt-durable-artifacts-");
  auto link = open_durable(rt().url(), {{"Agentrt-Session", "new"}});
  ASSERT_TRUE(link);
  auto req = exec_request({"echo payload > " + dir + "/a.txt; sleep 0.5"});
  req.artifacts_dirs = {dir};
  link->ws->send(req);
  std::optional<frame> announced;
  while (!announced) {
    auto f = next_frame(*link->ws, 10s);
    ASSERT_TRUE(f) << "no artifact_upload_request_message";
    if (as<p::artifact_upload_request_message>(f->msg))
      announced = std::move(f);
  }
  ASSERT_TRUE(announced->seq);
  const std::string path = as<p::artifact_upload_request_message>(announced->msg)->filepath;
  // The client saw the announcement; its answer is lost with the connection.
  link->ws->drop();
  auto resumed = open_durable(rt().url(), resume_headers(link->info, *announced->seq));
  ASSERT_TRUE(resumed);
  std::size_t again = 0;
  while (true) {
    auto f = next_frame(*resumed->ws, 10s);
    ASSERT_TRUE(f) << "no terminal";
    if (auto* up = as<p::artifact_upload_request_message>(f->msg)) {
      ++again;
      EXPECT_EQ(up->filepath, path);
      ASSERT_TRUE(f->seq);
      EXPECT_GT(*f->seq, *announced->seq);
      p::artifact_upload_response_message answer;
      answer.filename = up->filename;
      answer.filepath = up->filepath;
      answer.presigned_url = http.url("/put");
      answer.content_type = "text/plain";
      resumed->ws->send(answer);
    }
    if (is_terminal(f->msg))
      break;
  }
  EXPECT_EQ(again, 1u);
  ASSERT_TRUE(wait_until(
      [&] {
        auto puts = http.puts();
        return !puts.empty() && puts[0].complete;
      },
      10s));
  EXPECT_EQ(http.puts()[0].body_head, "payload\n");
}

TEST_F(DurableSessions, HarnessOutputSurvivesADropInOrderExactlyOnce) {
  const std::string dir = make_temp_dir("agentrt-durable-handler-");
  const std::string handler = dir + "/handler.sh";
  {
    // 60 assistant messages, then the result.
    std::ofstream h(handler);
    h << "#!/bin/sh\n"
         "read line\n"
         "i=1\n"
         "while [ $i -le 60 ]; do\n"
         "  printf '{\"type\":\"assistant\",\"text_blocks\":[\"a%d\"]}\\n' $i\n"
         "  i=$((i+1)); sleep 0.01\n"
         "done\n"
         "printf '%s\\n' '{\"type\":\"result\",\"data\":{\"type\":\"text\",\"text\":\"done\"}}'\n";
  }
  ASSERT_EQ(::chmod(handler.c_str(), 0755), 0);
  start_runtime({"--handler", handler});
  auto link = open_durable(rt().url(), {{"Agentrt-Session", "new"}});
  ASSERT_TRUE(link);
  link->ws->send(invocation_request("go"));
  std::vector<frame> before;
  while (before.size() < 10) {
    auto f = next_frame(*link->ws);
    ASSERT_TRUE(f);
    before.push_back(std::move(*f));
  }
  link->ws->drop();
  auto resumed = open_durable(rt().url(), resume_headers(link->info, *before.back().seq));
  ASSERT_TRUE(resumed);
  auto after = frames_until_terminal(*resumed->ws);
  ASSERT_FALSE(after.empty());
  ASSERT_TRUE(as<p::result_message>(after.back().msg)) << p::message_type_name(after.back().msg);
  expect_contiguous(before, 1);
  expect_contiguous(after, *before.back().seq + 1);
  std::string got, expected;
  for (const auto* part : {&before, &after})
    for (const auto& f : *part)
      if (auto* a = as<p::assistant_message>(f.msg))
        for (const auto& b : a->text_blocks)
          got += b + " ";
  for (int i = 1; i <= 60; ++i)
    expected += "a" + std::to_string(i) + " ";
  EXPECT_EQ(got, expected);
}

// A custom handler's invocation through the C++ client and the cutting proxy: the connection
// is cut mid-frame several times while the handler streams; query() resumes each time and its
// callbacks see every assistant message once, in order, and then the result.
TEST_F(DurableSessions, AHandlerInvocationResumedMidStreamThroughTheClient) {
  const std::string dir = make_temp_dir("agentrt-durable-handler-cuts-");
  const std::string handler = dir + "/handler.sh";
  constexpr int messages = 3000; // ~100-byte assistant messages: ~350 KB to the client
  {
    std::ofstream h(handler);
    h << "#!/bin/sh\n"
         "read line\n"
         "pad=$(printf '%080d' 0)\n"
         "i=1\n"
         "while [ $i -le "
      << messages
      << " ]; do\n"
         "  printf '{\"type\":\"assistant\",\"text_blocks\":[\"a%d %s\"]}\\n' $i $pad\n"
         "  i=$((i+1))\n"
         // Pauses, so that the cuts fall while the handler is still writing.
         "  if [ $((i % 100)) -eq 0 ]; then sleep 0.01; fi\n"
         "done\n"
         "printf '%s\\n' '{\"type\":\"result\",\"data\":{\"type\":\"text\",\"text\":\"done\"}}'\n";
  }
  ASSERT_EQ(::chmod(handler.c_str(), 0755), 0);
  start_runtime({"--handler", handler});
  cutting_proxy proxy(rt().port());
  constexpr int cuts = 4;
  std::vector<std::uint64_t> cut_at;
  for (int i = 0; i < cuts; ++i)
    cut_at.push_back(proxy.cut_after_random(static_cast<std::size_t>(i),
                                            cutting_proxy::direction::to_client, 20000, 80000,
                                            4321u + static_cast<std::uint32_t>(i)));
  std::printf("[ figures  ] cut points (bytes to the client per connection):");
  for (auto c : cut_at)
    std::printf(" %llu", static_cast<unsigned long long>(c));
  std::printf("\n");

  client::connect_options o;
  o.url = proxy.url();
  o.reconnect.initial_backoff = 10ms;
  o.reconnect.max_backoff = 100ms;
  o.reconnect.deadline = 30s;
  std::mutex m;
  int resumes = 0;
  o.on_connection_event = [&](const client::connection_event& e) {
    std::lock_guard lock(m);
    resumes += e.type == client::connection_event::kind::resumed ? 1 : 0;
  };
  auto [s, err] = client::session::connect(o);
  ASSERT_TRUE(s) << err.message;
  ASSERT_TRUE(s->durable());
  int next = 1, out_of_order = 0;
  client::query_options q;
  q.on_assistant_message = [&](const p::assistant_message& a) {
    for (const auto& b : a.text_blocks) {
      if (b.rfind("a" + std::to_string(next) + " ", 0) == 0)
        ++next;
      else
        ++out_of_order;
    }
  };
  std::size_t gaps = 0;
  q.on_gap = [&](const p::gap_message&) { ++gaps; };
  auto [result, qerr] = s->query("go", q);
  ASSERT_FALSE(qerr) << qerr.message;
  EXPECT_EQ(result.text, "done");
  EXPECT_EQ(next, messages + 1) << "assistant messages missing";
  EXPECT_EQ(out_of_order, 0) << "assistant messages repeated or out of order";
  EXPECT_EQ(gaps, 0u);
  EXPECT_GE(resumes, cuts);
  std::printf(
      "[ figures  ] %d assistant messages through %d cuts (%d resumes), in order once: %s\n",
      next - 1, cuts, resumes, out_of_order == 0 && next == messages + 1 ? "yes" : "no");
  EXPECT_FALSE(s->end());
}

TEST_F(DurableSessions, AClientThatDidNotOptInStillCancelsOnDisconnect) {
  start_runtime({"--kill-grace", "1"});
  auto ws = connect();
  ASSERT_TRUE(ws);
  ws->send(exec_request({"echo hi; sleep 100.5521"}));
  auto f = next_frame(*ws);
  ASSERT_TRUE(f);
  EXPECT_FALSE(f->seq.has_value());
  EXPECT_TRUE(as<p::command_output_message>(f->msg));
  ASSERT_TRUE(wait_until([] { return !find_processes("sleep 100.5521").empty(); }, 10s));
  ws->drop();
  EXPECT_TRUE(wait_processes_gone({"sleep 100.5521"}, 5s));
  EXPECT_NE(health(rt().port()).find("\"detached_sessions\":0"), std::string::npos);
}

} // namespace
} // namespace agentrt::test
