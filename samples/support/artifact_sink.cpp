// artifact_sink: put_server behind the client's upload callbacks.
#include "artifact_sink.hpp"

#include <algorithm>
#include <filesystem>

#include "put_server.hpp"

namespace agentrt::samples {
namespace {

// Artifacts land flat in the local directory under the last component of the announced name;
// a name that has none ("", ".", "..") is declined, so nothing is written outside the directory.
std::optional<std::string> local_name(const std::string& announced) {
  std::string name = std::filesystem::path(announced).filename().string();
  if (name.empty() || name == "." || name == "..")
    return std::nullopt;
  return name;
}

} // namespace

artifact_sink::artifact_sink(std::string local_dir, std::string& error,
                             const std::string& bind_host)
    : dir_(std::move(local_dir)) {
  receiver_ = std::make_unique<put_server>(dir_, bind_host, error);
}

artifact_sink::~artifact_sink() = default;

void artifact_sink::attach(client::request_options& options) {
  options.on_artifact_upload_request = [this](const protocol::artifact_upload_request_message& m,
                                              client::upload_reply reply) {
    const auto name = local_name(m.filename);
    if (!name)
      return reply(std::nullopt);
    reply(client::upload_target{receiver_->url_for(*name), "application/octet-stream"});
  };
  // agentrt runtimes report each upload's outcome (the "upload_results" capability).
  options.on_artifact_upload_result = [this](const protocol::artifact_upload_result_message& m) {
    if (m.ok)
      return;
    std::lock_guard lock(mutex_);
    failed_.push_back(m.filepath + (m.error ? ": " + *m.error : std::string()));
  };
}

bool artifact_sink::wait(int timeout_ms) {
  return receiver_->wait_idle(timeout_ms);
}

std::vector<std::string> artifact_sink::received() const {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec))
    if (entry.is_regular_file(ec))
      names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> artifact_sink::failed() const {
  std::lock_guard lock(mutex_);
  return failed_;
}

} // namespace agentrt::samples
