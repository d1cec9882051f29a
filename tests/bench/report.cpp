// Table and JSON rendering of the bench's results.
#include "report.hpp"

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <cmath>
#include <cstdio>
#include <sstream>

namespace agentrt::bench {
namespace {

const char* state_name(measurement::state s) {
  switch (s) {
  case measurement::state::ok:
    return "ok";
  case measurement::state::failed:
    return "FAILED";
  case measurement::state::skipped:
    return "skipped";
  }
  return "?";
}

std::string number(double v) {
  char buf[64];
  const double a = std::fabs(v);
  if (v == std::floor(v) && a < 1e12)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else if (a >= 100)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else if (a >= 10)
    std::snprintf(buf, sizeof buf, "%.1f", v);
  else
    std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::string with_unit(double v, const std::string& unit) {
  return unit.empty() ? number(v) : number(v) + " " + unit;
}

std::string goal_text(const figure& f) {
  if (!f.target)
    return f.goal_note;
  return std::string(f.target->type == goal::kind::at_most ? "<= " : ">= ") +
         with_unit(f.target->value, f.unit);
}

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width)
    s.append(width - s.size(), ' ');
  return s;
}

} // namespace

std::string render_table(const run_context& ctx, const std::vector<measurement>& ms) {
  std::ostringstream out;
  out << "agentrt_bench (" << ctx.mode << ") against " << ctx.target
      << (ctx.runtime_started_by_bench ? " (started by the bench)" : "") << "\n"
      << "started " << ctx.started_at << ", " << ctx.cpus << " CPUs, load before ["
      << ctx.load_before << "] after [" << ctx.load_after << "], " << number(ctx.wall_seconds)
      << " s\n\n";
  const std::size_t w_id = 18, w_label = 40, w_value = 14, w_goal = 14;
  out << pad("benchmark", w_id) << pad("figure", w_label) << pad("measured", w_value)
      << pad("goal", w_goal) << "\n"
      << std::string(w_id + w_label + w_value + w_goal + 6, '-') << "\n";
  for (const auto& m : ms) {
    if (m.figures.empty())
      out << pad(m.id, w_id) << "(" << state_name(m.status) << ")\n";
    for (std::size_t i = 0; i < m.figures.size(); ++i) {
      const auto& f = m.figures[i];
      std::string verdict;
      if (f.target)
        verdict = f.target->met_by(f.value) ? "met" : "MISSED";
      out << pad(i == 0 ? m.id : "", w_id) << pad(f.label, w_label)
          << pad(with_unit(f.value, f.unit), w_value) << pad(goal_text(f), w_goal) << verdict
          << "\n";
    }
    if (m.status != measurement::state::ok && !m.figures.empty())
      out << pad("", w_id) << "(" << state_name(m.status) << ")\n";
    for (const auto& p : m.problems)
      out << pad("", w_id) << "problem: " << p << "\n";
    for (const auto& n : m.notes)
      out << pad("", w_id) << "note: " << n << "\n";
  }
  return out.str();
}

std::string render_json(const run_context& ctx, const std::vector<measurement>& ms) {
  rapidjson::StringBuffer buf;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
  w.SetIndent(' ', 2);
  w.StartObject();
  w.Key("bench");
  w.String("agentrt_bench");
  w.Key("mode");
  w.String(ctx.mode);
  w.Key("target");
  w.String(ctx.target);
  w.Key("runtime_started_by_bench");
  w.Bool(ctx.runtime_started_by_bench);
  w.Key("machine");
  w.StartObject();
  w.Key("cpus");
  w.Int(ctx.cpus);
  w.Key("loadavg_before");
  w.String(ctx.load_before);
  w.Key("loadavg_after");
  w.String(ctx.load_after);
  w.EndObject();
  w.Key("started_at");
  w.String(ctx.started_at);
  w.Key("wall_seconds");
  w.Double(ctx.wall_seconds);
  w.Key("measurements");
  w.StartArray();
  for (const auto& m : ms) {
    w.StartObject();
    w.Key("id");
    w.String(m.id);
    w.Key("title");
    w.String(m.title);
    w.Key("status");
    w.String(m.status == measurement::state::ok       ? "ok"
             : m.status == measurement::state::failed ? "failed"
                                                      : "skipped");
    w.Key("figures");
    w.StartObject();
    for (const auto& f : m.figures) {
      w.Key(f.key);
      w.StartObject();
      w.Key("value");
      if (std::isfinite(f.value))
        w.Double(f.value);
      else
        w.Null();
      w.Key("unit");
      w.String(f.unit);
      w.Key("label");
      w.String(f.label);
      if (f.target) {
        w.Key(f.target->type == goal::kind::at_most ? "goal_at_most" : "goal_at_least");
        w.Double(f.target->value);
        w.Key("goal_met");
        w.Bool(f.target->met_by(f.value));
      } else if (!f.goal_note.empty()) {
        w.Key("goal");
        w.String(f.goal_note);
      }
      w.EndObject();
    }
    w.EndObject();
    w.Key("problems");
    w.StartArray();
    for (const auto& p : m.problems)
      w.String(p);
    w.EndArray();
    w.Key("notes");
    w.StartArray();
    for (const auto& n : m.notes)
      w.String(n);
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

} // namespace agentrt::bench
