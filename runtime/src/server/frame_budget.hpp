// One budget, shared by every connection, for the memory of frames that are partly received:
// websocketpp reserves a data message's whole declared payload when it reads the frame's
// header and fills it as bytes arrive, so 300 clients each half-way through a 16 MiB frame
// held 2.4 GB. Each connection's inbound_frames charges the capacity of its message in
// progress to the budget between two socket reads; a frame whose reservation takes the total
// past the limit is refused (the connection is closed with 1013, try again later) before any
// more of it is read. Frames of at most exempt_frame_bytes are charged but never refused, so
// that ordinary requests keep working while big frames are refused.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace agentrt::runtime::server {

class frame_budget {
public:
  // Frames this small are never refused (they are still counted): a connection reads at most
  // 64 KiB at a time, so their memory is bounded per connection anyway.
  static constexpr std::size_t exempt_frame_bytes = 64 * 1024;

  explicit frame_budget(std::size_t limit) : limit_(limit) {}
  std::size_t limit() const noexcept { return limit_; }
  std::size_t used() const noexcept { return used_; }
  void charge(std::size_t n) noexcept { used_ += n; }
  void refund(std::size_t n) noexcept { used_ -= n < used_ ? n : used_; }

private:
  std::size_t limit_;
  std::size_t used_ = 0;
};

// The data message one connection is receiving, as charged to the budget. Everything runs on
// the io_context thread.
class inbound_frames {
public:
  enum class verdict { ok, refused };

  inbound_frames() = default;
  ~inbound_frames() { release(); }
  inbound_frames(const inbound_frames&) = delete;
  inbound_frames& operator=(const inbound_frames&) = delete;

  void attach(std::shared_ptr<frame_budget> budget) { budget_ = std::move(budget); }

  // Brings the charge up to date with the message in progress (its payload's capacity: the
  // declared size of its frames). Refused when that grew past exempt_frame_bytes and the
  // budget is now over its limit; the charge is then given back (no more of the frame will
  // be read) and nothing is charged for this connection any more.
  verdict update();
  // Bytes the refused (or current) message had reserved, for the log line.
  std::size_t message_bytes() const noexcept { return last_capacity_; }
  bool refused() const noexcept { return refused_; }

  // While a connection's read handler runs, the message manager reports the data messages it
  // creates to that connection's tracker (websocketpp gives the manager no other way to know
  // which connection it serves).
  class reading_scope {
  public:
    explicit reading_scope(inbound_frames& f) : previous_(current_) { current_ = &f; }
    ~reading_scope() { current_ = previous_; }
    reading_scope(const reading_scope&) = delete;
    reading_scope& operator=(const reading_scope&) = delete;

  private:
    inbound_frames* previous_;
  };
  // Called by the message manager for every data message it creates.
  static void note_message(const std::shared_ptr<const std::string>& payload) {
    if (current_ != nullptr)
      current_->payload_ = payload;
  }

private:
  void release();

  static thread_local inbound_frames* current_;
  std::shared_ptr<frame_budget> budget_;
  std::weak_ptr<const std::string> payload_;
  std::size_t charged_ = 0;
  std::size_t last_capacity_ = 0;
  bool refused_ = false;
};

} // namespace agentrt::runtime::server
