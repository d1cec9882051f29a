// Formats log lines, escapes what clients supplied, rate-limits repeats and hands the lines
// to the writer thread (see logger.hpp).
#include "log/logger.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <vector>

#include "log/async_writer.hpp"
#include "log/log_escape.hpp"
#include "log/repeat_filter.hpp"

namespace agentrt::runtime::log {
namespace {

std::atomic<int> current_level{static_cast<int>(level::info)};
std::atomic<bool> json_lines{false};

// By level's value: the text format's names, then the JSON format's.
constexpr const char* text_level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
constexpr const char* json_level_names[] = {"debug", "info", "warn", "error"};

const char* level_name(level l) {
  return text_level_names[static_cast<int>(l)];
}

const char* json_level_name(level l) {
  return json_level_names[static_cast<int>(l)];
}

// "2024-06-01T12:00:00.123Z"
std::string time_stamp() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t secs = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[40];
  const std::size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(stamp + n, sizeof stamp - n, ".%03dZ", static_cast<int>(ms.count()));
  return stamp;
}

// Escaped text (append_escaped: valid UTF-8, no control characters) as the inside of a JSON
// string: only the quote and the backslash are left to escape.
void append_json_inner(std::string& out, std::string_view escaped) {
  for (const char c : escaped) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
}

// The start of a line in either format, up to where the body (the repeat filter's key) begins.
std::string line_start(const std::string& stamp) {
  return json_lines.load(std::memory_order_relaxed) ? "{\"time\":\"" + stamp + "\"," : stamp + " ";
}

// Appends at most max_text_bytes of text, escaped, and says how much was left out.
void append_text(std::string& body, std::string_view text) {
  if (text.size() <= max_text_bytes) {
    append_escaped(body, text);
    return;
  }
  append_escaped(body, text.substr(0, max_text_bytes));
  body += " [... ";
  body += std::to_string(text.size() - max_text_bytes);
  body += " more bytes]";
}

// What follows the time stamp: "LEVEL [source_id] text", or in JSON the fields after "time"
// without the closing brace, so that a repeat summary can add its own.
std::string line_body(level l, std::string_view source_id, std::string_view text) {
  std::string body;
  body.reserve(text.size() + source_id.size() + 48);
  if (!json_lines.load(std::memory_order_relaxed)) {
    body += level_name(l);
    body += ' ';
    if (!source_id.empty()) {
      body += '[';
      append_text(body, source_id);
      body += "] ";
    }
    append_text(body, text);
    return body;
  }
  std::string escaped;
  body += "\"level\":\"";
  body += json_level_name(l);
  body += '"';
  if (!source_id.empty()) {
    append_text(escaped, source_id);
    body += ",\"source_id\":\"";
    append_json_inner(body, escaped);
    body += '"';
    escaped.clear();
  }
  append_text(escaped, text);
  body += ",\"message\":\"";
  append_json_inner(body, escaped);
  body += '"';
  return body;
}

std::string line_end() {
  return json_lines.load(std::memory_order_relaxed) ? "}\n" : "\n";
}

class logger {
public:
  logger()
      : writer_(
            STDERR_FILENO, buffer_bytes,
            [](std::uint64_t n) {
              return line_start(time_stamp()) +
                     line_body(level::warn, {},
                               std::to_string(n) +
                                   " log line(s) dropped: stderr was not keeping up") +
                     line_end();
            },
            [this] { tick(); }) {}

  void write(level l, std::string_view source_id, std::string_view text) {
    const std::string body = line_body(l, source_id, text);
    std::string stamp = time_stamp();
    std::lock_guard<std::mutex> lock(mutex_);
    due_.clear();
    const bool admitted = filter_.admit(body, std::chrono::steady_clock::now(), due_);
    push_summaries(stamp);
    if (admitted)
      writer_.push(line_start(stamp) + body + line_end());
  }

  bool flush(std::chrono::milliseconds timeout) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      due_.clear();
      filter_.flush(std::chrono::steady_clock::now(), due_);
      push_summaries(time_stamp());
    }
    return writer_.flush(timeout);
  }

  std::uint64_t dropped() const { return writer_.dropped_total(); }

private:
  // From the writer thread: counts of lines whose window ended without a new copy.
  void tick() {
    std::lock_guard<std::mutex> lock(mutex_);
    due_.clear();
    filter_.expire(std::chrono::steady_clock::now(), due_);
    if (!due_.empty())
      push_summaries(time_stamp());
  }

  // Under mutex_, so that a summary precedes the line that triggered it.
  void push_summaries(const std::string& stamp) {
    for (const auto& s : due_) {
      const auto tenths =
          std::chrono::duration_cast<std::chrono::milliseconds>(s.interval).count() / 100;
      const std::string seconds = std::to_string(tenths / 10) + "." + std::to_string(tenths % 10);
      if (json_lines.load(std::memory_order_relaxed)) {
        writer_.push(line_start(stamp) + s.key + ",\"repeated\":" + std::to_string(s.repeats) +
                     ",\"repeated_within_s\":" + seconds + "}\n");
      } else {
        writer_.push(line_start(stamp) + s.key + " (repeated " + std::to_string(s.repeats) +
                     " more times in " + seconds + " s)\n");
      }
    }
  }

  std::mutex mutex_;
  repeat_filter filter_;
  std::vector<repeat_filter::summary> due_;
  async_writer writer_; // last: its thread calls tick(), which uses the members above
};

// Never destroyed: the writer thread may be blocked on stderr at exit, and destroying what it
// uses under it would be worse than leaving it (the process is ending anyway).
logger& instance() {
  static logger* const l = new logger();
  return *l;
}

} // namespace

std::optional<level> parse_level(std::string_view name) {
  if (name == "debug")
    return level::debug;
  if (name == "info")
    return level::info;
  if (name == "warn" || name == "warning")
    return level::warn;
  if (name == "error")
    return level::error;
  return std::nullopt;
}

void set_format(format f) noexcept {
  json_lines.store(f == format::json);
}

void set_level(level l) noexcept {
  current_level.store(static_cast<int>(l));
}

bool enabled(level l) noexcept {
  return static_cast<int>(l) >= current_level.load();
}

void write(level l, std::string_view source_id, std::string_view text) {
  instance().write(l, source_id, text);
}

bool flush(std::chrono::milliseconds timeout) {
  return instance().flush(timeout);
}

std::uint64_t dropped_lines() {
  return instance().dropped();
}

} // namespace agentrt::runtime::log
