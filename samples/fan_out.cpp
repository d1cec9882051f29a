// Sample: the same commands on N runtimes at once, from one I/O thread (async_session on an
// io_loop), then a summary table: one row per runtime with its outcome, exit code, duration and
// the last line the commands printed.
//
//   fan_out [--token T] [--timeout S] URL... -- COMMAND...
//
// Exit status: 0 when the commands succeeded everywhere, 1 otherwise, 2 for usage errors.
#include <chrono>
#include <cstdio>
#include <future>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "agentrt/client/client.hpp"
#include "support/sample_util.hpp"

namespace {

namespace client = agentrt::client;
namespace proto = agentrt::protocol;
using steady = std::chrono::steady_clock;

struct outcome {
  std::string url, status = "pending", last_line;
  int exit_code = -1;
  double seconds = 0;
};

std::string last_line_of(const std::string& text) {
  auto end = text.find_last_not_of('\n');
  if (end == std::string::npos)
    return "";
  const auto start = text.rfind('\n', end);
  std::string line = text.substr(start == std::string::npos ? 0 : start + 1,
                                 end - (start == std::string::npos ? 0 : start + 1) + 1);
  return line.size() > 40 ? line.substr(0, 37) + "..." : line;
}

// One runtime: connect, run the commands, end the session; each step starts from the previous
// step's completion handler on the loop's thread, so N runtimes proceed at the same time.
class fan_out_run : public std::enable_shared_from_this<fan_out_run> {
public:
  fan_out_run(client::io_loop& loop, client::connect_options connect,
              std::vector<proto::command> commands, client::execute_options options)
      : loop_(loop), connect_(std::move(connect)), commands_(std::move(commands)),
        options_(std::move(options)) {
    result_.url = connect_.url;
  }

  std::future<outcome> start() {
    started_ = steady::now();
    auto self = shared_from_this();
    client::async_session::connect(loop_, connect_, [self](auto session, client::client_error e) {
      if (!session)
        return self->finish("connect failed: " + e.code.message());
      self->session_ = std::move(session);
      self->session_->execute_commands(
          self->commands_, self->options_,
          [self](client::execute_result r, client::client_error e) {
            if (e)
              return self->finish("error: " + e.message);
            self->result_.exit_code = r.failed_exit_code();
            if (!r.results.empty())
              self->result_.last_line = last_line_of(r.results.back().stdout_text.value_or(""));
            self->result_.status = r.failed_exit_code() == 0 ? "ok" : "failed";
            self->session_->end([self](client::client_error) { self->finish({}); });
          });
    });
    return done_.get_future();
  }

private:
  void finish(const std::string& status) {
    if (!status.empty())
      result_.status = status;
    result_.seconds = std::chrono::duration<double>(steady::now() - started_).count();
    done_.set_value(result_);
  }

  client::io_loop& loop_;
  client::connect_options connect_;
  std::vector<proto::command> commands_;
  client::execute_options options_;
  std::shared_ptr<client::async_session> session_;
  outcome result_;
  steady::time_point started_;
  std::promise<outcome> done_;
};

int usage(const char* argv0, std::ostream& out = std::cerr, int code = 2) {
  out << "usage: " << argv0 << " [--token T] [--timeout S] URL... -- COMMAND...\n"
      << "(the token also from AGENTRT_TOKEN)\n";
  return code;
}

} // namespace

int main(int argc, char** argv) {
  if (agentrt::samples::print_version_if_asked(argc, argv, "fan_out"))
    return 0;
  if (agentrt::samples::help_asked(argc, argv))
    return usage(argv[0], std::cout, 0);
  std::vector<std::string> urls;
  std::vector<proto::command> commands;
  std::optional<std::string> token = agentrt::samples::env_token();
  double timeout_s = 300;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") {
      for (++i; i < argc; ++i)
        commands.push_back({argv[i], std::nullopt, std::nullopt, std::nullopt, std::nullopt});
    } else if (arg == "--token" && i + 1 < argc) {
      token = argv[++i];
    } else if (arg == "--timeout" && i + 1 < argc) {
      timeout_s = std::stod(argv[++i]);
    } else if (arg.rfind("-", 0) != 0) {
      urls.push_back(arg);
    } else {
      return usage(argv[0]);
    }
  }
  if (urls.empty() || commands.empty())
    return usage(argv[0]);

  client::execute_options options;
  options.timeout = std::chrono::milliseconds(static_cast<long long>(timeout_s * 1000));
  std::vector<outcome> outcomes;
  const auto t0 = steady::now();
  {
    client::io_loop loop; // one thread for every runtime
    std::vector<std::shared_ptr<fan_out_run>> runs;
    std::vector<std::future<outcome>> pending;
    for (const auto& url : urls) {
      client::connect_options connect{url, token};
      connect.connect_timeout = std::chrono::seconds(5);
      runs.push_back(std::make_shared<fan_out_run>(loop, connect, commands, options));
      pending.push_back(runs.back()->start());
    }
    for (auto& f : pending)
      outcomes.push_back(f.get());
    runs.clear(); // sessions go before their loop
  }
  const double wall = std::chrono::duration<double>(steady::now() - t0).count();

  std::size_t width = 7;
  for (const auto& o : outcomes)
    width = std::max(width, o.url.size());
  std::printf("%-*s  %-24s  %4s  %8s  %s\n", static_cast<int>(width), "runtime", "status", "exit",
              "seconds", "last line");
  int failures = 0;
  for (const auto& o : outcomes) {
    std::printf("%-*s  %-24s  %4d  %8.3f  %s\n", static_cast<int>(width), o.url.c_str(),
                o.status.substr(0, 24).c_str(), o.exit_code, o.seconds, o.last_line.c_str());
    failures += o.status != "ok";
  }
  std::printf("%zu runtime(s), %d failed, %.3f s wall clock\n", outcomes.size(), failures, wall);
  return failures == 0 ? 0 : 1;
}
