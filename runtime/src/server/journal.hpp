// The outbound journal of a durable session: every numbered runtime -> client frame, kept until
// the client acknowledges it, so that a client that reconnects gets every message it missed.
//
// Bounded: up to memory_bytes of frames stay in memory, older ones are spilled to an unnamed
// file in dir up to disk_bytes. Past both, the oldest *droppable* frames (command output,
// assistant text, agent events) are dropped and remembered as a gap: a record of which
// message types, commands and streams lost how many messages and bytes, so that a replay can
// say exactly what is missing. Frames that are not droppable (terminals, errors, artifact
// requests) are never dropped; they are few and small, and may exceed the budget.
//
// Each message also costs a record in memory wherever its frame is (its seq, offset, type,
// command and stream). That bookkeeping has its own bound, bookkeeping_limit() (as large as
// memory_bytes, at least 1 MiB): a command printing one tiny message after another would
// otherwise fill the spill file with frames whose records outgrow the memory budget many times
// over. Past it the oldest droppable messages become a gap too (a run of them is one record).
//
// The journal is also the send cursor of an attached durable connection: the session appends
// every message and then reads from the connection's next seq onwards while the socket has
// room, so a replay and the live stream are the same loop. Single-threaded (the io thread).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "util/unique_fd.hpp"

namespace agentrt::runtime::server {

struct journal_limits {
  std::size_t memory_bytes = 8u << 20;
  std::size_t disk_bytes = 256u << 20;
  std::string dir; // where the spill file goes; empty = $TMPDIR, else /tmp
};

// What the journal needs to know of a frame besides its text.
struct journal_entry_info {
  bool droppable = false;
  std::string message_type;
  std::string command;     // command_output_message's command, agent_event's event, else ""
  std::string stream;      // "stdout" / "stderr" for command output, else ""
  std::uint64_t bytes = 0; // the payload a gap notice counts (the output text's size)
};

// Messages from_seq..to_seq (inclusive) were dropped; lost says what they were.
struct journal_gap {
  struct lost_output {
    std::string message_type;
    std::string command;
    std::string stream;
    std::uint64_t messages = 0;
    std::uint64_t bytes = 0;
  };
  std::uint64_t from_seq = 0;
  std::uint64_t to_seq = 0;
  std::vector<lost_output> lost;
};

// One step of a read: a frame (first_seq == last_seq) or a gap covering first..last.
struct journal_item {
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
  std::string frame;              // empty for a gap
  std::optional<journal_gap> gap; // set for a gap
  // A spilled frame that could not be read back (errno, generic category): the item is then a
  // gap of that frame, so nothing is skipped silently.
  std::error_code read_error;
};

class journal {
public:
  explicit journal(journal_limits limits);
  journal(const journal&) = delete;
  journal& operator=(const journal&) = delete;

  // The seq the next append() gets; seqs start at 1.
  std::uint64_t next_seq() const noexcept { return next_seq_; }
  std::uint64_t last_seq() const noexcept { return next_seq_ - 1; }
  std::uint64_t acked() const noexcept { return acked_; }

  // Appends the frame of message next_seq(), then enforces the budget.
  void append(std::string frame, journal_entry_info info);
  // Everything up to seq is forgotten. Acks beyond last_seq() are clamped; old ones ignored.
  void ack(std::uint64_t seq);

  // The item that covers seq, or the first one after it (for a seq already acknowledged, the
  // oldest kept one); nullopt when seq > last_seq(). A gap acknowledged in part is returned
  // whole (first_seq < seq): its counts cannot be split. A spill file read failure is the item's
  // read_error.
  std::optional<journal_item> read(std::uint64_t seq) const;

  std::size_t memory_bytes() const noexcept { return memory_used_; }
  // Memory held by the records themselves (see above), and its bound.
  std::size_t bookkeeping_bytes() const noexcept { return bookkeeping_; }
  std::size_t bookkeeping_limit() const noexcept {
    return std::max<std::size_t>(limits_.memory_bytes, std::size_t{1} << 20);
  }
  std::size_t disk_bytes() const noexcept { return disk_used_; }
  std::size_t entries() const noexcept { return records_.size(); }
  // True while the frames in memory exceed the memory budget (frames that could not be spilled).
  // The session does not pause producers on it: a client acknowledges only every 256 messages or
  // second, so that would cap a healthy stream at the budget per second; the spill file and
  // then gaps bound an attached client that never acknowledges.
  bool over_memory() const noexcept { return memory_used_ > limits_.memory_bytes; }
  std::uint64_t dropped_messages() const noexcept { return dropped_messages_; }
  // The last spill failure (the frames concerned were kept in memory or dropped as a gap).
  std::error_code spill_error() const noexcept { return spill_error_; }

private:
  enum class where { memory, disk, dropped };
  struct record {
    std::uint64_t first_seq = 0;
    std::uint64_t last_seq = 0;
    where at = where::memory;
    std::string frame;        // where::memory
    std::uint64_t offset = 0; // where::disk
    std::size_t size = 0;     // frame size (memory or disk)
    journal_entry_info info;  // memory/disk frames
    journal_gap gap;          // where::dropped
  };

  void enforce_budget();
  bool spill(record& r);
  bool drop_oldest();
  void drop(std::size_t index);
  void erase(std::size_t index);
  void release(std::size_t index); // records_[index]'s memory or disk space
  static std::size_t bookkeeping_of(const record& r) noexcept;
  // Adds the gap of records_[from] (adjacent, dropped) to records_[into].
  void merge_into(std::size_t into, std::size_t from);

  journal_limits limits_;
  std::deque<record> records_; // ordered by seq, contiguous, adjacent gaps merged
  std::uint64_t next_seq_ = 1;
  std::uint64_t acked_ = 0;
  std::size_t memory_used_ = 0;
  std::size_t disk_used_ = 0;
  std::size_t bookkeeping_ = 0; // sum of bookkeeping_of(r) over records_
  // Records before first_memory_ are on disk, dropped, or pinned in memory after a failed
  // spill; records before drop_scan_ are dropped or not droppable. Both only move forward
  // (adjusted when a record before them is erased), so enforcing the budget is amortized O(1).
  std::size_t first_memory_ = 0;
  std::size_t drop_scan_ = 0;
  std::uint64_t dropped_messages_ = 0;
  util::unique_fd spill_fd_;
  std::uint64_t spill_end_ = 0;
  std::error_code spill_error_;
};

} // namespace agentrt::runtime::server
