// The bench's results: one `measurement` per benchmark with its figures (each optionally
// beside its goal) and its correctness problems, rendered as a human table and as JSON.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace agentrt::bench {

struct goal {
  enum class kind { at_most, at_least };
  kind type = kind::at_most;
  double value = 0;
  bool met_by(double v) const { return type == kind::at_most ? v <= value : v >= value; }
};
inline goal at_most(double v) {
  return {goal::kind::at_most, v};
}
inline goal at_least(double v) {
  return {goal::kind::at_least, v};
}

struct figure {
  std::string key;   // JSON key, e.g. "p50_ms"
  std::string label; // table text, e.g. "exec -> listening p50"
  double value = 0;
  std::string unit; // "ms", "MB/s", "MiB", "" for counts
  std::optional<goal> target{};
  std::string goal_note{}; // a goal without a number ("flat"), shown when target is empty
};

struct measurement {
  enum class state { ok, failed, skipped };
  measurement(std::string id_, std::string title_) : id(std::move(id_)), title(std::move(title_)) {}

  std::string id;    // "startup", "roundtrip", ...
  std::string title; // one line saying what was measured
  state status = state::ok;
  std::vector<figure> figures;
  std::vector<std::string> problems; // failed correctness checks or errors
  std::vector<std::string> notes;    // context: sizes, iterations, what a figure includes

  void add(std::string key, std::string label, double value, std::string unit,
           std::optional<goal> target = std::nullopt, std::string goal_note = {}) {
    figures.push_back(
        {std::move(key), std::move(label), value, std::move(unit), target, std::move(goal_note)});
  }
  void fail(std::string problem) {
    status = state::failed;
    problems.push_back(std::move(problem));
  }
  void skip(std::string why) {
    status = state::skipped;
    notes.push_back(std::move(why));
  }
};

struct run_context {
  std::string mode;   // "quick" or "full"
  std::string target; // runtime URL or binary
  bool runtime_started_by_bench = false;
  int cpus = 0;
  std::string load_before, load_after;
  std::string started_at; // UTC, ISO 8601
  double wall_seconds = 0;
};

std::string render_table(const run_context& ctx, const std::vector<measurement>& ms);
std::string render_json(const run_context& ctx, const std::vector<measurement>& ms);

} // namespace agentrt::bench
