// A loopback TCP proxy for fault tests: it listens on 127.0.0.1, forwards every connection to a
// target port on 127.0.0.1 byte for byte, and cuts connections when told — all of them or one,
// at once or after exactly N bytes in one direction (so a cut can fall in the middle of a
// WebSocket frame), with a FIN or a RST on both sides. It can also refuse new connections for a
// while, like a runtime that is briefly unreachable. Everything runs on the proxy's own thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace agentrt::test {

class cutting_proxy {
public:
  enum class direction {
    to_target, // bytes the client sends
    to_client, // bytes the target sends
    either,    // both, counted together
  };
  enum class cut_style {
    close, // both sockets shut down and closed (the peers read end of file)
    reset, // both sockets closed with SO_LINGER 0 (the peers see a connection reset)
  };

  // Starts listening at once; throws std::runtime_error when it cannot (test setup only).
  explicit cutting_proxy(int target_port);
  ~cutting_proxy(); // closes every connection and joins the thread
  cutting_proxy(const cutting_proxy&) = delete;
  cutting_proxy& operator=(const cutting_proxy&) = delete;

  int port() const noexcept;
  std::string url(const std::string& path = "/") const; // "ws://127.0.0.1:PORT" + path

  // Cuts every open connection; returns how many were open.
  std::size_t cut_all(cut_style style = cut_style::close);
  // Cuts connection `index` (0-based, in accept order); false when it is not open.
  bool cut(std::size_t index, cut_style style = cut_style::close);
  // Connection `index` (open or still to come) is cut once exactly `bytes` have passed in
  // direction d: the chunk that crosses the limit is forwarded only up to it.
  void cut_after(std::size_t index, direction d, std::uint64_t bytes,
                 cut_style style = cut_style::close);
  // cut_after with a count drawn uniformly from [low, high] by a generator seeded with seed;
  // returns the count (print it, so that a failure can be replayed).
  std::uint64_t cut_after_random(std::size_t index, direction d, std::uint64_t low,
                                 std::uint64_t high, std::uint32_t seed,
                                 cut_style style = cut_style::close);
  // While on, new connections are accepted and closed at once (nothing is forwarded).
  void refuse(bool on);

  std::size_t accepted() const;         // connections accepted so far (refused ones included)
  std::size_t open_connections() const; // forwarding now
  std::uint64_t forwarded(std::size_t index, direction d) const; // bytes passed so far
  // Waits until at least n connections were accepted; false on timeout.
  bool wait_accepted(std::size_t n, std::chrono::milliseconds timeout);

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

} // namespace agentrt::test
