// agentrt-client's session-process subcommands: exec --tty driven through a pipe (no local
// terminal), spawn/ps/kill/wait round trips through the printed handle against the real
// runtime, readiness that fails, and runtimes that do not offer the extension (scripted).
#include <gtest/gtest.h>

#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <fstream>

#include <string>
#include <thread>
#include <vector>

#include "agentrt/protocol/codec.hpp"
#include "support/durable_script.hpp"
#include "support/program_run.hpp"
#include "support/runtime_process.hpp"
#include "support/scripted_peer.hpp"

namespace agentrt::test {
namespace {

using namespace std::chrono_literals;

program_result run_cli(std::vector<std::string> args) {
  args.insert(args.begin(), AGENTRT_CLIENT_BINARY);
  return run_program(args);
}

// The CLI with printf's output for `format` (shell-quoted) on its stdin: a pipe, no terminal.
program_result run_cli_fed(const std::string& format, const std::vector<std::string>& args) {
  std::string line = "printf " + format + " | '" + std::string(AGENTRT_CLIENT_BINARY) + "'";
  for (const auto& a : args)
    line += " '" + a + "'";
  return run_program({"/bin/sh", "-c", line});
}

TEST(ClientCliProcess, ExecTtyWithoutATerminalRunsTheShellAndPassesItsExitCode) {
  runtime_process rt;
  auto r = run_cli_fed("'echo hi-$((40+2)); exit 3\\n'", {"exec", "--tty", rt.url(), "--", "sh"});
  EXPECT_EQ(r.code, 3) << r.err;
  // The terminal echoes the line; the shell's output is the computed value.
  EXPECT_NE(r.out.find("hi-42\r\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "");
}

// Reads the terminal's master side until `needle` appeared in what was read (kept in `seen`).
bool read_until(int master, const std::string& needle, std::string& seen,
                std::chrono::milliseconds timeout = 20s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (seen.find(needle) == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return false;
    pollfd p{master, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0)
      continue;
    char buf[4096];
    const ssize_t n = read(master, buf, sizeof buf);
    if (n <= 0)
      return false; // the client exited (EIO)
    seen.append(buf, static_cast<std::size_t>(n));
  }
  return true;
}

bool canonical(int master) {
  termios t{};
  return tcgetattr(master, &t) == 0 && (t.c_lflag & ICANON) != 0;
}

TEST(ClientCliProcess, ExecTtyOnATerminalRawModeResizeAndRestore) {
  runtime_process rt;
  const std::string url = rt.url();
  int master = -1;
  winsize size{30, 100, 0, 0}; // rows, cols
  const pid_t pid = forkpty(&master, nullptr, nullptr, &size);
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl(AGENTRT_CLIENT_BINARY, AGENTRT_CLIENT_BINARY, "exec", "--tty", url.c_str(), "--", "sh",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  std::string seen;
  // The client's own terminal goes to raw mode while the process runs.
  bool raw = false;
  for (int i = 0; i < 200 && !raw; ++i) {
    raw = !canonical(master);
    if (!raw)
      std::this_thread::sleep_for(25ms);
  }
  EXPECT_TRUE(raw);
  ASSERT_EQ(write(master, "stty size\n", 10), 10);
  EXPECT_TRUE(read_until(master, "30 100", seen)) << seen;
  // A resize of the local terminal (SIGWINCH) reaches the remote one.
  size = {40, 120, 0, 0};
  ASSERT_EQ(ioctl(master, TIOCSWINSZ, &size), 0);
  // The signal and the resize race the next line: ask until the new size shows (the echo of
  // the line shows EN''D, only the shell's output END).
  std::string remote_size;
  for (int i = 0; i < 50 && remote_size.empty(); ++i) {
    const std::string line = "stty size; echo EN''D\n";
    ASSERT_EQ(write(master, line.data(), line.size()), static_cast<ssize_t>(line.size()));
    std::string more;
    if (read_until(master, "END", more, 2s) && more.find("40 120") != std::string::npos)
      remote_size = "40 120";
    seen += more;
  }
  EXPECT_EQ(remote_size, "40 120") << seen;
  ASSERT_EQ(write(master, "exit 7\n", 7), 7);
  int status = 0;
  bool reaped = false;
  for (int i = 0; i < 400 && !reaped; ++i) {
    std::string drain;
    // Returns at once with EIO once the client closed the terminal, which happens a moment
    // before it can be reaped: without the pause, the 400 tries ran out inside that moment on
    // a loaded machine and an exit status never read (0) was checked.
    if (!read_until(master, "never", drain, 50ms))
      std::this_thread::sleep_for(10ms);
    reaped = waitpid(pid, &status, WNOHANG) == pid;
  }
  ASSERT_TRUE(reaped) << "agentrt-client did not exit";
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 7);
  EXPECT_TRUE(canonical(master)); // the terminal's mode was restored
  close(master);
}

TEST(ClientCliProcess, ExecTtyReportsASignalAs128PlusN) {
  runtime_process rt;
  auto r = run_cli_fed("''", {"exec", "--tty", rt.url(), "--", "kill", "-TERM", "$$"});
  EXPECT_EQ(r.code, 128 + 15) << r.err << r.out;
}

TEST(ClientCliProcess, ExecTtyPassesASignalOnToTheProcess) {
  runtime_process rt;
  auto run = start_program({"/bin/sh", "-c",
                            "exec '" + std::string(AGENTRT_CLIENT_BINARY) + "' exec --tty " +
                                rt.url() + " -- sleep 30.25 </dev/null"});
  for (int i = 0; i < 200 && find_processes("sleep 30.25").empty(); ++i)
    std::this_thread::sleep_for(25ms);
  ASSERT_EQ(find_processes("sleep 30.25").size(), 1u);
  ASSERT_EQ(kill(run.pid, SIGTERM), 0);
  EXPECT_EQ(run.wait(), 128 + 15) << run.err();
  EXPECT_TRUE(find_processes("sleep 30.25").empty());
}

TEST(ClientCliProcess, SpawnPsKillWaitRoundTrip) {
  runtime_process rt;
  auto spawned = run_cli({"spawn", rt.url(), "--", "sleep", "600"});
  ASSERT_EQ(spawned.code, 0) << spawned.err;
  EXPECT_NE(spawned.out.find("AGENTRT_PROCESS='p1'"), std::string::npos) << spawned.out;
  const std::string handle = spawned.out;
  ASSERT_EQ(find_processes("sleep 600").size(), 1u);

  auto ps = run_cli({"ps", handle});
  ASSERT_EQ(ps.code, 0) << ps.err;
  EXPECT_NE(ps.out.find("p1\trunning\t-\t"), std::string::npos) << ps.out;
  EXPECT_NE(ps.out.find("sleep 600"), std::string::npos) << ps.out;

  auto killed = run_cli({"kill", handle, "p1"});
  EXPECT_EQ(killed.code, 0) << killed.err;
  auto waited = run_cli({"wait", handle}); // the id from the handle
  EXPECT_EQ(waited.code, 128 + 15) << waited.err;
  EXPECT_TRUE(find_processes("sleep 600").empty());

  // Collected: a second wait names the refusal.
  auto again = run_cli({"wait", handle, "p1"});
  EXPECT_EQ(again.code, 70) << again.err;
  EXPECT_NE(again.err.find("unknown_process"), std::string::npos) << again.err;
  auto json = run_cli({"ps", handle, "--json"});
  EXPECT_EQ(json.code, 0) << json.err;
  EXPECT_EQ(json.out, "{\"message_type\":\"process_list_result_message\",\"processes\":[]}\n");
}

TEST(ClientCliProcess, AWaitThatGaveUpLeavesTheExitStatusToTheNextWait) {
  runtime_process rt;
  const std::string marker = make_temp_dir("agentrt-cli-wait-") + "/go";
  auto spawned = run_cli(
      {"spawn", rt.url(), "--", "while [ ! -e " + marker + " ]; do sleep 0.05; done; exit 7"});
  ASSERT_EQ(spawned.code, 0) << spawned.err;
  const std::string handle = spawned.out;
  auto gave_up = run_cli({"wait", handle, "--timeout", "0.3"});
  EXPECT_EQ(gave_up.code, 124) << gave_up.err;
  std::ofstream(marker) << "go";
  // The process exits now, after the first wait detached: that wait must not collect it.
  auto listed = run_cli({"ps", handle});
  for (int i = 0; i < 100 && listed.out.find("p1\texited\t7\t") == std::string::npos; ++i) {
    std::this_thread::sleep_for(50ms);
    listed = run_cli({"ps", handle});
  }
  EXPECT_NE(listed.out.find("p1\texited\t7\t"), std::string::npos) << listed.out << listed.err;
  auto waited = run_cli({"wait", handle});
  EXPECT_EQ(waited.code, 7) << waited.err;
}

TEST(ClientCliProcess, SpawnWaitsForReadinessAndKillsWhatNeverGetsReady) {
  runtime_process rt;
  auto ready = run_cli({"spawn", rt.url(), "--json", "--ready-probe", "test -e marker", "--cwd",
                        make_temp_dir() + "/w", "--", "touch marker; sleep 602"});
  ASSERT_EQ(ready.code, 0) << ready.err;
  EXPECT_NE(ready.out.find("\"process_id\":\"p1\""), std::string::npos) << ready.out;
  auto killed = run_cli({"kill", ready.out, "-s", "KILL"});
  EXPECT_EQ(killed.code, 0) << killed.err;
  EXPECT_EQ(run_cli({"wait", ready.out}).code, 128 + 9);

  auto never = run_cli({"spawn", rt.url(), "--ready-probe", "false", "--ready-timeout", "0.5", "--",
                        "sleep", "601"});
  EXPECT_EQ(never.code, 1) << never.err;
  EXPECT_NE(never.err.find("did not become ready"), std::string::npos) << never.err;
  EXPECT_EQ(never.out, "");
  for (int i = 0; i < 100 && !find_processes("sleep 601").empty(); ++i)
    std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(find_processes("sleep 601").empty());
}

TEST(ClientCliProcess, RuntimesWithoutProcessesGetNothingAndExit69) {
  using namespace durable_script;
  scripted_peer peer(std::vector<scripted_peer::connection>{
      {{scripted_peer::expect("end_session_message"),
        scripted_peer::send(protocol::end_session_confirm_message{})},
       {},
       0},
      durable({scripted_peer::send(info(false, 0, 0)), scripted_peer::expect("end_session_message"),
               scripted_peer::send(protocol::end_session_confirm_message{}, 1)}),
  });
  auto tty = run_cli_fed("'exit 0\\n'", {"exec", "--tty", peer.url(), "--", "sh"});
  EXPECT_EQ(tty.code, 69) << tty.err;
  EXPECT_NE(tty.err.find("session processes"), std::string::npos) << tty.err;
  auto spawn = run_cli({"spawn", peer.url(), "--", "sleep", "1"});
  EXPECT_EQ(spawn.code, 69) << spawn.err;
  EXPECT_NE(spawn.err.find("session processes"), std::string::npos) << spawn.err;
  ASSERT_TRUE(peer.wait_done()) << peer.failure();
  for (const auto& frame : peer.received())
    EXPECT_EQ(frame.find("process_"), std::string::npos) << frame;
}

TEST(ClientCliProcess, UsageErrors) {
  EXPECT_EQ(run_cli({"spawn", "ws://127.0.0.1:1/"}).code, 64);
  EXPECT_EQ(run_cli({"exec", "--tty", "--detach", "ws://127.0.0.1:1/", "--", "sh"}).code, 64);
  auto no_id = run_cli({"wait", R"({"url":"ws://x/","session_id":"s","resume_token":"t"})"});
  EXPECT_EQ(no_id.code, 64);
  EXPECT_NE(no_id.err.find("process ID"), std::string::npos) << no_id.err;
}

} // namespace
} // namespace agentrt::test
