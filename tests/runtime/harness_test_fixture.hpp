// Shared fixture for harness tests (header-only: it needs the runtime's headers, which the
// support library does not see): an io_context with a reaper and a scope, a helper that runs
// one harness invocation to its end and records everything it reported, and script files;
// for the parser tests, recorded streams fed to an adapter's event_parser.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "agentrt/protocol/errc.hpp"
#include "harness/harness.hpp"
#include "harness/harness_errc.hpp"
#include "harness/process_run.hpp"
#include "harness/schema_validator.hpp"
#include "process/process_reaper.hpp"
#include "process/process_scope.hpp"

namespace agentrt::test {

struct harness_record {
  std::vector<std::vector<std::string>> assistants;
  std::vector<std::pair<std::string, std::string>> events; // (event, data_json)
  std::vector<std::string> logs;
  std::optional<runtime::harness::harness_outcome> outcome;
  int done_calls = 0;
  std::string logs_text() const;
};

// Callbacks that record into rec; a parser fed by hand needs no io_context.
runtime::harness::harness_callbacks recording_callbacks(harness_record& rec);
// The kinds of the agent events rec holds, in order.
std::vector<std::string> event_kinds(const harness_record& rec);
// The lines of a recorded stream (tests/runtime/data/<harness>/<file>).
std::vector<std::string> recorded_lines(const std::filesystem::path& file);
// The schema of an output_format text; null for a null text. A text that does not parse fails
// the test.
std::shared_ptr<const runtime::harness::output_schema> parse_schema(const char* output_format);
// Feeds lines to a parser as the run would (each must be an event) and asks for the outcome.
runtime::harness::harness_outcome feed(runtime::harness::event_parser& parser,
                                       const std::vector<std::string>& lines,
                                       const runtime::harness::process_end& end = {});
// feed() with a clean exit or the given exit code.
runtime::harness::process_end exited(int exit_code);

class harness_env {
public:
  harness_env();
  ~harness_env();

  asio::io_context io;
  runtime::process::process_reaper reaper{io};
  std::shared_ptr<runtime::process::process_scope> scope;
  std::filesystem::path dir; // a fresh temporary directory, removed at the end

  // Runs inv to its end (or until limit), returning what was reported.
  harness_record run(runtime::harness::harness& h, const runtime::harness::invocation& inv,
                     std::chrono::milliseconds limit = std::chrono::seconds(60));
  // Starts inv, waits until stop(rec) is true (or limit), cancels the run and terminates the
  // scope like the session does. Returns the record; scope_empty: nothing of it survived.
  harness_record run_and_cancel(runtime::harness::harness& h,
                                const runtime::harness::invocation& inv,
                                const std::function<bool(const harness_record&)>& stop,
                                bool& scope_empty,
                                std::chrono::milliseconds limit = std::chrono::seconds(60));
  // Runs io until pred() or limit; true when pred() held.
  bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds limit);

  // Writes an executable file under dir.
  std::string write_script(const std::string& name, const std::string& text);
};

namespace hs = runtime::harness;

inline std::string harness_record::logs_text() const {
  std::string out;
  for (const auto& l : logs)
    out += l + "\n";
  return out;
}

inline harness_env::harness_env() : scope(std::make_shared<runtime::process::process_scope>(io)) {
  std::string templ = (std::filesystem::temp_directory_path() / "agentrt-harness-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr)
    throw std::runtime_error("mkdtemp failed");
  dir = templ;
}

inline harness_env::~harness_env() {
  bool done = false;
  scope->terminate(std::chrono::milliseconds(500), [&done] { done = true; });
  run_until([&done] { return done; }, std::chrono::seconds(10));
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

inline hs::harness_callbacks recording_callbacks(harness_record& rec) {
  hs::harness_callbacks cb;
  cb.on_assistant = [&rec](std::vector<std::string> blocks) {
    rec.assistants.push_back(std::move(blocks));
  };
  cb.on_agent_event = [&rec](std::string e, std::string d) {
    rec.events.emplace_back(std::move(e), std::move(d));
  };
  cb.on_log = [&rec](std::string line) { rec.logs.push_back(std::move(line)); };
  return cb;
}

inline std::vector<std::string> event_kinds(const harness_record& rec) {
  std::vector<std::string> kinds;
  for (const auto& e : rec.events)
    kinds.push_back(e.first);
  return kinds;
}

inline std::vector<std::string> recorded_lines(const std::filesystem::path& file) {
  std::ifstream in(file);
  EXPECT_TRUE(in) << file;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

inline std::shared_ptr<const hs::output_schema> parse_schema(const char* output_format) {
  if (output_format == nullptr)
    return nullptr;
  auto parsed = hs::output_schema::parse(output_format);
  EXPECT_TRUE(parsed.ok()) << parsed.error().text;
  return parsed.ok() ? std::shared_ptr<const hs::output_schema>(std::move(parsed).value())
                     : nullptr;
}

inline hs::harness_outcome feed(hs::event_parser& parser, const std::vector<std::string>& lines,
                                const hs::process_end& end) {
  for (const auto& line : lines)
    EXPECT_TRUE(parser.on_line(line)) << line;
  return parser.finish(end);
}

inline hs::process_end exited(int exit_code) {
  hs::process_end end;
  end.status.exit_code = exit_code;
  return end;
}

inline bool harness_env::run_until(const std::function<bool()>& pred,
                                   std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  io.restart();
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    // run_for returns early once idle; a short poll keeps the loop responsive either way.
    io.run_for(std::chrono::milliseconds(20));
    io.restart();
  }
  return true;
}

inline harness_record harness_env::run(hs::harness& h, const hs::invocation& inv,
                                       std::chrono::milliseconds limit) {
  harness_record rec;
  auto run =
      h.start(io, reaper, *scope, inv, recording_callbacks(rec), [&rec](hs::harness_outcome o) {
        ++rec.done_calls;
        rec.outcome = std::move(o);
      });
  if (!run_until([&rec] { return rec.done_calls > 0; }, limit)) {
    run->cancel();
    rec.logs.push_back("test: run did not finish within the limit");
  }
  // Anything late (a second on_done) would show up here.
  run_until([] { return false; }, std::chrono::milliseconds(50));
  return rec;
}

inline harness_record
harness_env::run_and_cancel(hs::harness& h, const hs::invocation& inv,
                            const std::function<bool(const harness_record&)>& stop,
                            bool& scope_empty, std::chrono::milliseconds limit) {
  harness_record rec;
  auto run =
      h.start(io, reaper, *scope, inv, recording_callbacks(rec), [&rec](hs::harness_outcome o) {
        ++rec.done_calls;
        rec.outcome = std::move(o);
      });
  run_until([&] { return stop(rec) || rec.done_calls > 0; }, limit);
  run->cancel();
  // As the session does on cancel_message: the run kills its own process group, the scope
  // catches what the agent started elsewhere (CLIs run tools in groups of their own).
  bool terminated = false;
  scope->terminate(std::chrono::milliseconds(1000), [&terminated] { terminated = true; });
  run_until([&terminated] { return terminated; }, limit);
  scope_empty = scope->empty() && scope->survivors() == 0;
  run_until([] { return false; }, std::chrono::milliseconds(100));
  return rec;
}

inline std::string harness_env::write_script(const std::string& name, const std::string& text) {
  const auto path = dir / name;
  {
    std::ofstream out(path);
    out << text;
  }
  ::chmod(path.c_str(), 0755);
  return path.string();
}

} // namespace agentrt::test
