// The artifacts of a run: answers the runtime's upload requests (--upload-to through the PUT
// receiver, or --presign-cmd) and keeps every announced file's outcome, so that a file announced
// but not delivered is reported (a line naming it and the reason) and fails the run (exit 74)
// instead of vanishing.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agentrt/client/options.hpp"
#include "options.hpp"
#include "put_receiver.hpp"

namespace agentrt::cli {

struct artifact_outcome {
  enum class state { answered, declined, delivered, failed };
  std::string filepath; // on the runtime
  std::string target;   // the local path (--upload-to) or ""
  state status = state::answered;
  std::string reason; // declined/failed: why
};

class artifacts {
public:
  // With --upload-to, opens the receiver; fails (put_receiver::open's error) when it cannot.
  static protocol::result<artifacts> open(const cli_options& o);

  // Sets the upload callbacks on a request's options (nothing when the run has no way to
  // answer uploads).
  void attach(client::request_callbacks& callbacks);

  // While the end-session handshake runs: true once waiting longer is pointless, because the
  // runtime only waits for uploads this client declined (it would drain for its 30 s) — at once
  // when every answered upload has an outcome, else after `patience`.
  bool only_declined_left(std::chrono::steady_clock::duration waited,
                          std::chrono::steady_clock::duration patience) const;
  // After the session ended: waits (bounded) for the receiver's last PUTs, then settles every
  // file still open: a receiver URL never used is a failure; a presigned URL without a result
  // (a runtime that reports none) counts as delivered.
  void settle(int receiver_wait_ms);
  std::vector<artifact_outcome> outcomes() const;
  // Reports each failed or declined file (stderr line, or a client_error JSON line); returns
  // how many.
  int report_failures(bool json) const;

private:
  artifacts(const cli_options& o, std::unique_ptr<put_receiver> receiver);

  // Shared with the presign threads and the receiver's callbacks, which may outlive a run
  // that gave up on them.
  struct state {
    std::mutex mutex;
    std::vector<artifact_outcome> outcomes;
    std::vector<std::string> written; // local paths this run wrote (it may replace them)
    bool results_seen = false;        // the runtime reports upload outcomes (agentrt)
    void set(const std::string& filepath, artifact_outcome::state s, const std::string& reason);
  };

  void on_request(const protocol::artifact_upload_request_message& m, client::upload_reply reply);
  void on_result(const protocol::artifact_upload_result_message& m);
  std::string local_path_for(const std::string& filepath, const std::string& filename) const;

  const cli_options& o_;
  std::shared_ptr<state> state_ = std::make_shared<state>();
  std::unique_ptr<put_receiver> receiver_;
};

} // namespace agentrt::cli
