#include "harness/shell_tool.hpp"
#include "util/weak_bind.hpp"

namespace agentrt::runtime::harness {

namespace {

constexpr std::size_t max_tool_output = 32 * 1024;

const char* const shell_tool_definition =
    R"({"type":"function","function":{"name":"shell","description":"Run a shell command )"
    R"((/bin/sh -c) in the working directory and return its combined stdout and stderr and its )"
    R"(exit code.","parameters":{"type":"object","properties":{"command":{"type":"string",)"
    R"("description":"the command line"}},"required":["command"]}}})";

} // namespace

const char* shell_tool_json() {
  return shell_tool_definition;
}

protocol::result<std::shared_ptr<shell_command>>
shell_command::start(asio::io_context& io, process::process_reaper& reaper,
                     process::process_scope& scope, const std::string& command,
                     const std::string& cwd, const std::map<std::string, std::string>& env,
                     done_handler on_done) {
  auto self = std::make_shared<shell_command>(std::move(on_done));
  process::spawn_options opts;
  opts.argv = {"/bin/sh", "-c", command};
  opts.cwd = cwd;
  opts.env = env;
  // Weak: self owns child_; strong captures would keep both alive in a cycle if the io_context
  // stopped before the command was reaped.
  std::weak_ptr<shell_command> weak = self;
  auto child = process::child_process::spawn(
      io, reaper, scope, opts,
      [weak](process::output_stream, std::string_view chunk) {
        if (auto s = weak.lock())
          s->on_output(chunk);
      },
      util::weak_bind(weak, &shell_command::on_exit));
  if (!child.ok())
    return child.error().code;
  self->child_ = std::move(child).value();
  return self;
}

void shell_command::terminate(std::chrono::milliseconds grace) {
  if (child_)
    child_->terminate(grace);
}

void shell_command::on_output(std::string_view chunk) {
  // Trimmed only once twice the limit is held, so a chatty command is not copied per chunk.
  tail_.append(chunk);
  if (tail_.size() > 2 * max_tool_output)
    drop_head();
}

void shell_command::drop_head() {
  dropped_ += tail_.size() - max_tool_output;
  tail_.erase(0, tail_.size() - max_tool_output);
}

void shell_command::on_exit(process::exit_status st) {
  child_.reset();
  if (tail_.size() > max_tool_output)
    drop_head();
  std::string out;
  if (dropped_ > 0)
    out = "[" + std::to_string(dropped_) + " earlier bytes omitted]\n";
  out += tail_;
  if (!out.empty() && out.back() != '\n')
    out += '\n';
  out += "[exit code " + std::to_string(st.exit_code) + "]";
  auto done = std::move(on_done_);
  on_done_ = nullptr;
  if (done)
    done(std::move(out), st.exit_code);
}

} // namespace agentrt::runtime::harness
