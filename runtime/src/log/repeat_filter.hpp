// Rate limit for identical log lines. A client that sends two million copies of one bad frame
// used to produce two million identical warnings (138 MB); now the first copy is written, the
// rest of its window only counted, and one summary line reports the count when the window
// ends. Several distinct lines are tracked at once, so two connections taking turns at the
// same flood are limited too. Pure bookkeeping: the caller supplies the time and writes.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace agentrt::runtime::log {

class repeat_filter {
public:
  using clock = std::chrono::steady_clock;

  struct summary {
    std::string key;          // the line as it was admitted (without its time stamp)
    std::uint64_t repeats;    // copies suppressed after it, > 0
    clock::duration interval; // from the admitted line to the report
  };

  // window: how long copies of an admitted line are only counted. slots: how many distinct
  // lines are tracked; the least recently admitted one is reported and forgotten first.
  explicit repeat_filter(clock::duration window = std::chrono::seconds(5), std::size_t slots = 16);

  // true: write the line now. false: a copy within its window, counted. Summaries that are
  // due (windows that ended, a tracked line evicted) are appended to due first: write them
  // before this line.
  bool admit(std::string_view key, clock::time_point now, std::vector<summary>& due);

  // Appends the summaries of windows that ended by now and forgets those lines; lines
  // without copies are forgotten silently.
  void expire(clock::time_point now, std::vector<summary>& due);

  // Reports every pending count at once (at exit).
  void flush(clock::time_point now, std::vector<summary>& due);

  std::size_t tracked() const noexcept { return entries_.size(); }

private:
  struct entry {
    std::string key;
    clock::time_point admitted;
    std::uint64_t repeats = 0;
  };
  void report(entry& e, clock::time_point now, std::vector<summary>& due);

  clock::duration window_;
  std::size_t slots_;
  std::vector<entry> entries_; // admission order: the front is the oldest
};

} // namespace agentrt::runtime::log
