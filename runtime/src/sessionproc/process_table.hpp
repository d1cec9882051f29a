// A session's processes (docs/processes.md): carries out the client's process messages in order,
// answering each (or refusing it with process_error_message), assigns ids, bounds how many a
// session holds, keeps exit statuses until collected, and kills them all when the session ends.
// Everything runs on the runtime's io thread; the session owns the table.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <asio/io_context.hpp>

#include "agentrt/protocol/messages.hpp"
#include "process/process_reaper.hpp"
#include "sessionproc/session_process.hpp"

namespace agentrt::runtime::sessionproc {

struct table_limits {
  std::size_t max_processes = 64;
  process_settings process;
};

class process_table : public std::enable_shared_from_this<process_table> {
public:
  using send_handler = std::function<void(protocol::message)>;

  process_table(asio::io_context& io, process::process_reaper& reaper, table_limits limits,
                send_handler send);
  ~process_table();
  process_table(const process_table&) = delete;
  process_table& operator=(const process_table&) = delete;

  void handle(protocol::process_start_message&& m);
  void handle(protocol::process_stdin_message&& m);
  void handle(protocol::process_signal_message&& m);
  void handle(protocol::process_resize_message&& m);
  void handle(protocol::process_list_message&& m);
  void handle(protocol::process_wait_message&& m);
  // The client detached: nobody reads the answers to its waits now, and an answer collects its
  // process, so the exit status would be gone before a later attach could ask. The waits are
  // forgotten instead; a later wait collects the process.
  void withdraw_waits() noexcept { waits_.clear(); }

  // end_session_message arrived: later starts are refused (session_ending); what runs goes on
  // until terminate_all().
  void stop_accepting() noexcept { accepting_ = false; }

  // The session's send bound.
  void pause_output();
  void resume_output();

  // Processes that have not exited (they keep a session busy).
  std::size_t running() const;
  // Nothing any process started is alive, and no termination is in progress.
  bool idle() const;

  // The session ends: refuses new processes, kills every process's tree (SIGTERM, SIGKILL after
  // grace) and calls on_done once all are gone (at once when none is alive). Nothing is sent
  // from here on. Repeating it with a shorter grace hurries it along.
  void terminate_all(std::chrono::milliseconds grace, std::function<void()> on_done);
  void kill_now();

private:
  void refuse(std::optional<std::string> ref, std::optional<std::string> id, std::error_code ec,
              std::string detail = {});
  session_process* find(const std::string& id, const std::optional<std::string>& ref);
  void on_exit(const std::string& id);
  void collect(const std::string& id);
  void send(protocol::message m);
  void check_terminated();

  asio::io_context& io_;
  process::process_reaper& reaper_;
  table_limits limits_;
  send_handler send_;
  std::uint64_t next_id_ = 1;
  bool paused_ = false;
  bool accepting_ = true;
  bool ending_ = false;
  std::map<std::string, std::shared_ptr<session_process>> processes_;
  // Pending process_wait_message refs per process.
  std::map<std::string, std::vector<std::optional<std::string>>> waits_;
  // Collected processes whose tree may still be dying (what they left behind is being killed).
  std::vector<std::shared_ptr<session_process>> retired_;
  std::size_t terminating_ = 0;
  std::uint64_t terminate_generation_ = 0;
  std::function<void()> on_terminated_;
};

} // namespace agentrt::runtime::sessionproc
