// Redaction benchmark: one command's stdout streamed through the request's redactor with
// 10,000 secrets (the most a request may carry), against the same command without secrets.
// Every line carries one of the secrets, so every line is rewritten.
#include <random>

#include "measurements.hpp"
#include "proc_probe.hpp"

namespace agentrt::bench {
namespace {

using steady = std::chrono::steady_clock;

constexpr std::size_t secret_count = 10000;

std::vector<std::string> make_secrets() {
  std::mt19937_64 rng(20240601);
  const std::string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::vector<std::string> secrets;
  for (std::size_t i = 0; i < secret_count; ++i) {
    std::string s = "sk-";
    for (int k = 0; k < 29; ++k)
      s += alphabet[pick(rng)];
    secrets.push_back(std::move(s));
  }
  return secrets;
}

// The command's output is `line` repeated and cut at `bytes`; what the client must receive
// with the secret redacted follows from that, byte by byte.
class redacted_checker {
public:
  redacted_checker(std::string prefix, std::string secret, std::uint64_t bytes)
      : prefix_(std::move(prefix)), secret_(std::move(secret)) {
    const std::uint64_t raw_line = prefix_.size() + secret_.size() + 1;
    const std::uint64_t full = bytes / raw_line;
    const std::uint64_t tail = bytes % raw_line;
    const std::string redacted_line = prefix_ + "[REDACTED]\n";
    // A cut line keeps what it has of the secret unless all of it is there.
    const std::string raw = prefix_ + secret_;
    tail_ = tail >= raw.size() ? prefix_ + "[REDACTED]" : raw.substr(0, tail);
    line_ = redacted_line;
    expected_ = full * line_.size() + tail_.size();
    full_bytes_ = full * line_.size();
  }
  void feed(const std::string& text) {
    for (const char c : text) {
      const char want =
          received_ < full_bytes_
              ? line_[received_ % line_.size()]
              : (received_ - full_bytes_ < tail_.size() ? tail_[received_ - full_bytes_] : '\0');
      if (c != want && mismatch_ < 0)
        mismatch_ = static_cast<long long>(received_);
      ++received_;
    }
  }
  bool ok() const { return mismatch_ < 0 && received_ == expected_; }
  std::string problem() const {
    if (received_ != expected_)
      return "received " + std::to_string(received_) + " bytes, expected " +
             std::to_string(expected_);
    return "output differs from the redacted text at byte " + std::to_string(mismatch_);
  }

private:
  std::string prefix_, secret_, line_, tail_;
  std::uint64_t expected_ = 0, full_bytes_ = 0, received_ = 0;
  long long mismatch_ = -1;
};

} // namespace

measurement measure_redaction(bench_env& env) {
  const std::uint64_t bytes = std::max<std::uint64_t>(env.options().output_bytes / 4, 1 << 20);
  measurement m{"redaction", "stdout of one command printing " + std::to_string(bytes >> 20) +
                                 " MiB, every line with a secret, 10,000 secrets to redact"};
  auto [target, why] = env.connect("redaction");
  if (!target.session) {
    m.fail(why);
    return m;
  }
  const auto& rt = target.runtime;
  const auto& s = target.session;
  const std::vector<std::string> secrets = make_secrets();
  const std::string prefix = "2024-06-01 12:00:00 INFO request served with key ";
  const std::string secret = secrets[secret_count / 3];
  protocol::command cmd;
  cmd.command = "yes " + shell_quote(prefix + secret) + " | head -c " + std::to_string(bytes);

  auto run = [&](bool with_secrets, double& seconds, double& cpu) -> std::string {
    redacted_checker checker(prefix, with_secrets ? secret : std::string(), bytes);
    std::string plain_problem;
    std::uint64_t plain_bytes = 0;
    client::execute_options opts;
    opts.timeout = env.request_timeout();
    if (with_secrets)
      opts.secrets_to_redact = secrets;
    opts.on_command_output = [&](const protocol::command_output_message& msg) {
      if (msg.stream != "stdout")
        return;
      if (with_secrets)
        checker.feed(msg.text);
      else
        plain_bytes += msg.text.size();
    };
    const double cpu0 = cpu_seconds(rt->pid());
    const auto t0 = steady::now();
    auto [r, e] = s->execute_commands({cmd}, opts);
    seconds = seconds_between(t0, steady::now());
    cpu = cpu_seconds(rt->pid()) - cpu0;
    if (e)
      return "request: " + e.message;
    if (r.results.size() != 1 || r.results[0].exit_code != 0)
      return "command did not exit 0";
    if (with_secrets && !checker.ok())
      return checker.problem();
    if (!with_secrets && plain_bytes != bytes)
      return "received " + std::to_string(plain_bytes) + " bytes without secrets, expected " +
             std::to_string(bytes);
    return {};
  };
  double plain_s = 0, plain_cpu = 0, redacted_s = 0, redacted_cpu = 0;
  if (auto problem = run(false, plain_s, plain_cpu); !problem.empty())
    m.fail("without secrets: " + problem);
  if (auto problem = run(true, redacted_s, redacted_cpu); !problem.empty())
    m.fail("with 10,000 secrets: " + problem);
  if (const auto e = s->end())
    m.fail("end session: " + e.message);
  m.add("mb_per_s", "stdout with 10,000 secrets redacted", bytes / 1e6 / redacted_s, "MB/s");
  m.add("plain_mb_per_s", "the same stdout without secrets", bytes / 1e6 / plain_s, "MB/s");
  if (rt->pid() > 0) {
    m.add("runtime_cpu_s_per_gib", "runtime CPU per GiB, with secrets",
          redacted_cpu * (1 << 30) / bytes, "s");
    m.add("plain_runtime_cpu_s_per_gib", "runtime CPU per GiB, without secrets",
          plain_cpu * (1 << 30) / bytes, "s");
  }
  m.notes.push_back("command: yes '<" + std::to_string(prefix.size()) +
                    "-byte prefix><32-byte secret>' | head -c " + std::to_string(bytes) +
                    "; every byte checked; the 100,000-secret figure (beyond a request's limit) "
                    "is printed by the redactor_automaton protocol test");
  return m;
}

} // namespace agentrt::bench
