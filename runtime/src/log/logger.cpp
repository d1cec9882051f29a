// Formats and writes log lines to stderr.
#include "log/logger.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace agentrt::runtime::log {
namespace {

std::atomic<int> current_level{static_cast<int>(level::info)};

const char* level_name(level l) {
  switch (l) {
    case level::debug: return "DEBUG";
    case level::info: return "INFO";
    case level::warn: return "WARN";
    case level::error: return "ERROR";
  }
  return "?";
}

}  // namespace

std::optional<level> parse_level(std::string_view name) {
  if (name == "debug") return level::debug;
  if (name == "info") return level::info;
  if (name == "warn" || name == "warning") return level::warn;
  if (name == "error") return level::error;
  return std::nullopt;
}

void set_level(level l) noexcept { current_level.store(static_cast<int>(l)); }

bool enabled(level l) noexcept { return static_cast<int>(l) >= current_level.load(); }

void write(level l, std::string_view source_id, std::string_view text) {
  const auto now = std::chrono::system_clock::now();
  const std::time_t secs = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[32];
  const std::size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);

  std::string line;
  line.reserve(n + text.size() + source_id.size() + 24);
  line.append(stamp, n);
  char millis[8];
  std::snprintf(millis, sizeof millis, ".%03dZ ", static_cast<int>(ms.count()));
  line += millis;
  line += level_name(l);
  line += ' ';
  if (!source_id.empty()) {
    line += '[';
    line += source_id;
    line += "] ";
  }
  line += text;
  line += '\n';

  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    const ssize_t w = ::write(STDERR_FILENO, p, left);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;  // stderr gone: nothing sensible to do, never crash over a log line
    }
    p += w;
    left -= static_cast<std::size_t>(w);
  }
}

}  // namespace agentrt::runtime::log
