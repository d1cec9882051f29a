// The bare reader of one command's stdout (see raw_stream.hpp).
#include "raw_stream.hpp"

#include <cstring>

#include "agentrt/protocol/codec.hpp"
#include "bench_env.hpp"
#include "raw_ws_connection.hpp"

namespace agentrt::bench {
namespace {

using steady = std::chrono::steady_clock;

// As the C++ client: an ack_message every 256 numbered messages keeps the journal small.
constexpr std::uint64_t ack_every = 256;

// Feeds the JSON string that starts at `p` (just after its opening quote) to the checker,
// unescaping as it goes; false on an escape the pattern cannot contain.
bool feed_json_string(const char* p, const char* end, pattern_checker& checker) {
  const char* quote = static_cast<const char*>(std::memchr(p, '"', end - p));
  for (;;) {
    if (!quote)
      return false;
    const char* bs = static_cast<const char*>(std::memchr(p, '\\', quote - p));
    if (!bs) {
      checker.feed(p, static_cast<std::size_t>(quote - p));
      return true;
    }
    checker.feed(p, static_cast<std::size_t>(bs - p));
    if (bs + 1 >= end)
      return false;
    char c;
    switch (bs[1]) {
    case 'n':
      c = '\n';
      break;
    case 't':
      c = '\t';
      break;
    case 'r':
      c = '\r';
      break;
    case '"':
      c = '"';
      break;
    case '\\':
      c = '\\';
      break;
    case '/':
      c = '/';
      break;
    default:
      return false;
    }
    checker.feed(&c, 1);
    p = bs + 2;
    if (quote < p)
      quote = static_cast<const char*>(std::memchr(p, '"', end - p));
  }
}

// The "seq" that agentrt writes as the last member of a numbered frame (`...,"seq":N}`); a
// frame laid out otherwise is decoded.
std::optional<std::uint64_t> seq_of(const std::string& frame) {
  static const std::string key = "\"seq\":";
  if (frame.empty() || frame.back() != '}')
    return std::nullopt;
  std::size_t digits = frame.size() - 1;
  while (digits > 0 && frame[digits - 1] >= '0' && frame[digits - 1] <= '9')
    --digits;
  if (digits < key.size() || digits == frame.size() - 1 ||
      frame.compare(digits - key.size(), key.size(), key) != 0)
    return protocol::decode(frame).seq;
  return std::strtoull(frame.c_str() + digits, nullptr, 10);
}

} // namespace

std::string with_query(const std::string& url, const std::string& parameter) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + parameter;
}

raw_stream_outcome raw_stream(const std::string& url, const std::optional<std::string>& token,
                              const std::string& command, std::chrono::milliseconds timeout,
                              pattern_checker& checker, bool durable) {
  raw_stream_outcome out;
  raw_ws_connection ws;
  if (auto problem = ws.connect(durable ? with_query(url, "session=new") : url, token, timeout);
      !problem.empty()) {
    out.problem = problem;
    return out;
  }
  protocol::command_execution_message req;
  req.commands.emplace_back();
  req.commands.back().command = command;
  static const std::string fast_prefix =
      "{\"message_type\":\"command_output_message\",\"stream\":\"stdout\",\"text\":\"";
  std::string frame;
  std::uint64_t numbered = 0;
  // Acknowledges every ack_every-th numbered frame (a durable session only).
  const auto count_numbered = [&]() -> bool {
    if (!out.durable || ++numbered % ack_every != 0)
      return true;
    const auto seq = seq_of(frame);
    if (!seq)
      return true;
    protocol::ack_message ack;
    ack.seq = *seq;
    return ws.send_text(protocol::encode(ack));
  };
  const auto t0 = steady::now();
  if (!ws.send_text(protocol::encode(req))) {
    out.problem = "cannot send the request";
    return out;
  }
  while (ws.read_message(frame)) {
    if (frame.compare(0, fast_prefix.size(), fast_prefix) == 0) {
      ++out.frames;
      if (!feed_json_string(frame.data() + fast_prefix.size(), frame.data() + frame.size(),
                            checker)) {
        out.problem = "malformed command_output_message text";
        return out;
      }
      if (!count_numbered()) {
        out.problem = "cannot send an ack_message";
        return out;
      }
      continue;
    }
    auto decoded = protocol::decode(frame);
    if (!decoded.msg) {
      out.problem = "undecodable frame: " + decoded.error;
      return out;
    }
    if (std::holds_alternative<protocol::session_info_message>(*decoded.msg)) {
      out.durable = true;
      continue;
    }
    if (!count_numbered()) {
      out.problem = "cannot send an ack_message";
      return out;
    }
    if (auto* o = std::get_if<protocol::command_output_message>(&*decoded.msg)) {
      if (o->stream == "stdout") {
        ++out.frames;
        checker.feed(o->text);
      } else {
        out.stderr_bytes += o->text.size();
      }
    } else if (auto* r = std::get_if<protocol::command_execution_result_message>(&*decoded.msg)) {
      out.seconds = seconds_between(t0, steady::now());
      if (r->results.size() != 1 || r->results[0].exit_code != 0)
        out.problem = "command did not exit 0";
      return out;
    } else if (auto* e = std::get_if<protocol::error_message>(&*decoded.msg)) {
      out.problem = "error_message: " + e->error;
      return out;
    }
  }
  out.problem = "connection closed or timed out before the result";
  return out;
}

} // namespace agentrt::bench
