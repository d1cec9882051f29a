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

const char* level_name(level l) {
  switch (l) {
  case level::debug:
    return "DEBUG";
  case level::info:
    return "INFO";
  case level::warn:
    return "WARN";
  case level::error:
    return "ERROR";
  }
  return "?";
}

// "2024-06-01T12:00:00.123Z "
std::string time_stamp() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t secs = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[40];
  const std::size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(stamp + n, sizeof stamp - n, ".%03dZ ", static_cast<int>(ms.count()));
  return stamp;
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

class logger {
public:
  logger()
      : writer_(
            STDERR_FILENO, buffer_bytes,
            [](std::uint64_t n) {
              return time_stamp() + "WARN " + std::to_string(n) +
                     " log line(s) dropped: stderr was not keeping up\n";
            },
            [this] { tick(); }) {}

  void write(level l, std::string_view source_id, std::string_view text) {
    std::string body;
    body.reserve(text.size() + source_id.size() + 16);
    body += level_name(l);
    body += ' ';
    if (!source_id.empty()) {
      body += '[';
      append_text(body, source_id);
      body += "] ";
    }
    append_text(body, text);

    std::string stamp = time_stamp();
    std::lock_guard<std::mutex> lock(mutex_);
    due_.clear();
    const bool admitted = filter_.admit(body, std::chrono::steady_clock::now(), due_);
    push_summaries(stamp);
    if (admitted) {
      stamp += body;
      stamp += '\n';
      writer_.push(stamp);
    }
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
      writer_.push(stamp + s.key + " (repeated " + std::to_string(s.repeats) + " more times in " +
                   std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " s)\n");
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
