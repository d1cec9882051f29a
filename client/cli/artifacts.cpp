#include "artifacts.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <map>
#include <thread>

#include "output.hpp"
#include "session_handle_text.hpp"

namespace agentrt::cli {
namespace {

std::string without_trailing_slash(std::string s) {
  while (s.size() > 1 && s.back() == '/')
    s.pop_back();
  return s;
}

// One path component from the runtime made safe to use locally.
std::string safe_component(std::string c) {
  if (c.empty() || c == "." || c == "..")
    return "_" + c;
  return c;
}

std::string safe_relative(const std::string& rel) {
  std::string out;
  std::size_t start = 0;
  while (start <= rel.size()) {
    auto slash = rel.find('/', start);
    if (slash == std::string::npos)
      slash = rel.size();
    const std::string part = rel.substr(start, slash - start);
    if (!part.empty()) // "a//b" is "a/b"
      out += (out.empty() ? "" : "/") + safe_component(part);
    start = slash + 1;
  }
  return out.empty() ? "_" : out;
}

} // namespace

artifacts::artifacts(const cli_options& o, std::unique_ptr<put_receiver> receiver)
    : o_(o), receiver_(std::move(receiver)) {}

protocol::result<artifacts> artifacts::open(const cli_options& o) {
  if (!o.upload_to)
    return artifacts(o, nullptr);
  auto receiver = put_receiver::open(*o.upload_to, o.upload_bind,
                                     o.upload_host.empty() ? o.upload_bind : o.upload_host);
  if (!receiver.ok())
    return std::move(receiver).error();
  return artifacts(o, std::move(receiver).value());
}

std::string artifacts::local_path_for(const std::string& filepath,
                                      const std::string& filename) const {
  // The longest --artifacts directory the file is under; its name prefixes the path when there
  // are several (two directories with one name get -2, -3, ... in the order given).
  std::string best;
  std::size_t best_index = 0;
  for (std::size_t i = 0; i < o_.artifacts.size(); ++i) {
    const std::string d = without_trailing_slash(o_.artifacts[i]);
    if (filepath.size() > d.size() + 1 && filepath.compare(0, d.size(), d) == 0 &&
        (filepath[d.size()] == '/' || d == "/") && d.size() > best.size()) {
      best = d;
      best_index = i;
    }
  }
  if (best.empty())
    return safe_relative(filename);
  std::string rel = safe_relative(filepath.substr(best == "/" ? 1 : best.size() + 1));
  if (o_.artifacts.size() < 2)
    return rel;
  std::map<std::string, int> seen;
  std::string label;
  for (std::size_t i = 0; i <= best_index; ++i) {
    std::string base = std::filesystem::path(without_trailing_slash(o_.artifacts[i])).filename();
    base = safe_component(base == "/" ? "root" : base);
    const int n = ++seen[base];
    label = n == 1 ? base : base + "-" + std::to_string(n);
  }
  return label + "/" + rel;
}

void artifacts::state::set(const std::string& filepath, artifact_outcome::state s,
                           const std::string& reason) {
  std::lock_guard lock(mutex);
  for (auto& a : outcomes)
    if (a.filepath == filepath) {
      // A delivery or failure reported twice (receiver and runtime) keeps the first failure.
      if (a.status == artifact_outcome::state::failed && s == artifact_outcome::state::delivered)
        return;
      a.status = s;
      a.reason = reason;
      return;
    }
  outcomes.push_back({filepath, "", s, reason});
}

void artifacts::on_request(const protocol::artifact_upload_request_message& m,
                           client::upload_reply reply) {
  if (o_.json)
    emit(m);
  if (receiver_) {
    const std::string rel = local_path_for(m.filepath, m.filename);
    const std::string local = without_trailing_slash(*o_.upload_to) + "/" + rel;
    {
      auto& s = *state_;
      std::lock_guard lock(s.mutex);
      const bool ours = std::find(s.written.begin(), s.written.end(), local) != s.written.end();
      std::error_code ec;
      if (!ours && !o_.overwrite && std::filesystem::exists(local, ec)) {
        s.outcomes.push_back({m.filepath, local, artifact_outcome::state::declined,
                              local + " already exists (--overwrite replaces it)"});
        return reply(std::nullopt);
      }
      if (!ours)
        s.written.push_back(local);
      auto it = std::find_if(s.outcomes.begin(), s.outcomes.end(),
                             [&](const artifact_outcome& a) { return a.filepath == m.filepath; });
      if (it == s.outcomes.end())
        s.outcomes.push_back({m.filepath, local, artifact_outcome::state::answered, ""});
      else
        *it = {m.filepath, local, artifact_outcome::state::answered, ""};
    }
    const std::string url = receiver_->url_for(
        rel, [s = state_, filepath = m.filepath](const protocol::result<void>& stored) {
          if (stored.ok())
            s->set(filepath, artifact_outcome::state::delivered, "");
          else
            s->set(filepath, artifact_outcome::state::failed, stored.error().message());
        });
    return reply(client::upload_target{url, "application/octet-stream"});
  }
  state_->set(m.filepath, artifact_outcome::state::answered, "");
  // The presign command may be slow: never on the I/O thread. It gets the file name as its
  // argument (as runtimeuse clients do) and the runtime's path in AGENTRT_ARTIFACT_PATH.
  const std::string cmd = "export AGENTRT_ARTIFACT_PATH=" + shell_quote(m.filepath) + "; " +
                          *o_.presign_cmd + " " + shell_quote(m.filename);
  std::thread([s = state_, cmd, filepath = m.filepath, reply] {
    std::string url;
    int status = -1;
    if (std::FILE* p = ::popen(cmd.c_str(), "r")) {
      char buf[4096];
      std::size_t n;
      while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
        url.append(buf, n);
      status = ::pclose(p);
    }
    while (!url.empty() && std::isspace(static_cast<unsigned char>(url.back())))
      url.pop_back();
    if (status != 0 || url.empty()) {
      const std::string why =
          status != 0 ? "--presign-cmd failed (" +
                            (WIFEXITED(status) ? "exit code " + std::to_string(WEXITSTATUS(status))
                                               : std::string("status ") + std::to_string(status)) +
                            ")"
                      : "--presign-cmd printed no URL";
      s->set(filepath, artifact_outcome::state::declined, why);
      return reply(std::nullopt);
    }
    reply(client::upload_target{url, "application/octet-stream"});
  }).detach();
}

void artifacts::on_result(const protocol::artifact_upload_result_message& m) {
  if (o_.json)
    emit(m);
  {
    std::lock_guard lock(state_->mutex);
    state_->results_seen = true;
  }
  if (m.ok)
    return state_->set(m.filepath, artifact_outcome::state::delivered, "");
  std::string why = "the upload failed";
  if (m.http_status)
    why += " (HTTP " + std::to_string(*m.http_status) + ")";
  if (m.error)
    why += ": " + *m.error;
  state_->set(m.filepath, artifact_outcome::state::failed, why);
}

void artifacts::attach(client::request_callbacks& callbacks) {
  if (!receiver_ && !o_.presign_cmd)
    return;
  callbacks.on_artifact_upload_request = [this](const protocol::artifact_upload_request_message& m,
                                                client::upload_reply reply) {
    on_request(m, std::move(reply));
  };
  // Declares the upload_results capability: an agentrt runtime then reports every outcome.
  callbacks.on_artifact_upload_result = [this](const protocol::artifact_upload_result_message& m) {
    on_result(m);
  };
}

bool artifacts::only_declined_left(std::chrono::steady_clock::duration waited,
                                   std::chrono::steady_clock::duration patience) const {
  std::lock_guard lock(state_->mutex);
  bool declined = false, open = false;
  for (const auto& a : state_->outcomes) {
    declined |= a.status == artifact_outcome::state::declined;
    // A presigned URL's outcome is only known from a runtime that reports results.
    open |= a.status == artifact_outcome::state::answered && (receiver_ || state_->results_seen);
  }
  return declined && (!open || waited >= patience);
}

void artifacts::settle(int receiver_wait_ms) {
  if (receiver_)
    receiver_->wait_idle(receiver_wait_ms);
  std::lock_guard lock(state_->mutex);
  for (auto& a : state_->outcomes) {
    if (a.status != artifact_outcome::state::answered)
      continue;
    if (receiver_) {
      a.status = artifact_outcome::state::failed;
      a.reason = "the runtime never uploaded it to " + a.target;
    } else {
      a.status = artifact_outcome::state::delivered;
    }
  }
}

std::vector<artifact_outcome> artifacts::outcomes() const {
  std::lock_guard lock(state_->mutex);
  return state_->outcomes;
}

int artifacts::report_failures(bool json) const {
  int failures = 0;
  for (const auto& a : outcomes()) {
    if (a.status != artifact_outcome::state::failed &&
        a.status != artifact_outcome::state::declined)
      continue;
    ++failures;
    report(cli_error{"artifact_not_delivered",
                     "artifact " + a.filepath + " was not delivered: " + a.reason,
                     R"({"filepath":)" + json_string(a.filepath) + R"(,"reason":)" +
                         json_string(a.reason) + "}",
                     exit_artifact_failed},
           json);
  }
  return failures;
}

} // namespace agentrt::cli
