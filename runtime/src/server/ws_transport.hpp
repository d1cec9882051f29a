// websocketpp's Asio transport with three additions the runtime needs for bounded memory:
//
// - a read gate: pause_reads() makes the connection's next socket read wait (it is kept and
//   issued by resume_reads()). websocketpp's own pause_reading() is posted and only stops the
//   read after the one already issued, so a resume_reading() before that read completes issues
//   a second read into the same buffer; the gate never has two reads outstanding.
// - a write-done hook: called after each completed socket write, so that a session can feed
//   its queued frames to websocketpp a window at a time and resume its producers without
//   polling (websocketpp has no "written" callback).
// - inbound frame accounting (frame_budget.hpp): before each read the connection's message
//   in progress is charged to the shared budget; a frame that takes it over is refused.
//
// websocketpp's connection calls transport_con_type::async_read_at_least / async_write by
// name, and transport_con_type is the endpoint's typedef, so hiding those two members in a
// derived connection (and naming it in a derived endpoint) is all it takes.
#pragma once

#include "agentrt/protocol/websocket_utf8.hpp" // first: see there
#include <cstddef>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include <websocketpp/frame.hpp>
#include <websocketpp/transport/asio/endpoint.hpp>

#include "server/frame_budget.hpp"

namespace agentrt::runtime::server {

template <typename config>
class flow_connection : public websocketpp::transport::asio::connection<config> {
  using base = websocketpp::transport::asio::connection<config>;

public:
  using type = flow_connection<config>;
  using ptr = std::shared_ptr<type>;
  using read_handler = websocketpp::transport::read_handler;
  using write_handler = websocketpp::transport::write_handler;

  flow_connection(bool is_server, const std::shared_ptr<typename base::alog_type>& alog,
                  const std::shared_ptr<typename base::elog_type>& elog)
      : base(is_server, alog, elog) {}

  // Takes effect at the next read websocketpp asks for; the one under way (if any) completes.
  void pause_reads() { reads_paused_ = true; }
  void resume_reads() {
    reads_paused_ = false;
    if (!stashed_.handler || inbound_.refused())
      return;
    stashed_read r = std::move(stashed_);
    stashed_ = {};
    issue_read(r.num_bytes, r.buf, r.len, std::move(r.handler));
  }
  bool reads_paused() const noexcept { return reads_paused_; }

  void set_write_done_handler(std::function<void()> h) { write_done_ = std::move(h); }

  // on_refused runs (posted by the caller's choice: it is called from inside websocketpp's
  // read path) when a frame is refused; reading stops for good then.
  void set_inbound_budget(std::shared_ptr<frame_budget> budget,
                          std::function<void(std::size_t frame_bytes)> on_refused) {
    inbound_.attach(std::move(budget));
    on_refused_ = std::move(on_refused);
  }

  void async_read_at_least(std::size_t num_bytes, char* buf, std::size_t len,
                           read_handler handler) {
    // Here websocketpp has consumed everything read so far: the message in progress has its
    // reservation for the frame whose header came last, and none of that frame beyond this
    // read buffer has been received yet.
    if (inbound_.update() == inbound_frames::verdict::refused) {
      reads_paused_ = true;
      if (on_refused_)
        on_refused_(inbound_.message_bytes());
    }
    if (reads_paused_) {
      stashed_ = {num_bytes, buf, len, std::move(handler)};
      return;
    }
    issue_read(num_bytes, buf, len, std::move(handler));
  }

  void async_write(const std::vector<websocketpp::transport::buffer>& bufs, write_handler handler) {
    // The base binds the connection's shared pointer around this handler: `this` outlives it.
    base::async_write(bufs, [this, handler = std::move(handler)](const std::error_code& ec) {
      handler(ec);
      // A copy: the hook may replace itself (a session that closes clears it).
      if (write_done_) {
        const std::function<void()> hook = write_done_;
        hook();
      }
    });
  }
  // The single-buffer overload (HTTP responses) is the base's.
  using base::async_write;

private:
  struct stashed_read {
    std::size_t num_bytes = 0;
    char* buf = nullptr;
    std::size_t len = 0;
    read_handler handler;
  };

  void issue_read(std::size_t num_bytes, char* buf, std::size_t len, read_handler handler) {
    base::async_read_at_least(
        num_bytes, buf, len,
        [this, handler = std::move(handler)](const std::error_code& ec, std::size_t n) {
          inbound_frames::reading_scope scope(inbound_);
          handler(ec, n);
        });
  }

  bool reads_paused_ = false;
  stashed_read stashed_;
  std::function<void()> write_done_;
  inbound_frames inbound_;
  std::function<void(std::size_t)> on_refused_;
};

template <typename config>
class flow_endpoint : public websocketpp::transport::asio::endpoint<config> {
public:
  using type = flow_endpoint<config>;
  using transport_con_type = flow_connection<config>;
  using transport_con_ptr = typename transport_con_type::ptr;
};

// websocketpp's per-connection message manager (message_buffer::alloc::con_msg_manager) that
// also tells the connection reading a frame which data message it created for it.
template <typename message>
class tracked_msg_manager : public std::enable_shared_from_this<tracked_msg_manager<message>> {
public:
  using type = tracked_msg_manager<message>;
  using ptr = std::shared_ptr<type>;
  using weak_ptr = std::weak_ptr<type>;
  using message_ptr = typename message::ptr;

  message_ptr get_message() { return std::make_shared<message>(this->shared_from_this()); }
  message_ptr get_message(websocketpp::frame::opcode::value op, std::size_t size) {
    auto msg = std::make_shared<message>(this->shared_from_this(), op, size);
    if (!websocketpp::frame::opcode::is_control(op)) {
      // Aliasing: the tracker watches the payload without keeping the message alive.
      inbound_frames::note_message(
          std::shared_ptr<const std::string>(msg, &msg->get_raw_payload()));
    }
    return msg;
  }
  bool recycle(message*) { return false; }
};

} // namespace agentrt::runtime::server
