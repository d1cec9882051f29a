// One-shot secret redaction, and redact_message which applies it to every string a message
// carries (including string values inside JSON-text fields).
#include "agentrt/protocol/redactor.hpp"

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "json_util.hpp"
#include "secret_automaton.hpp"

namespace agentrt::protocol {
namespace {

// Positions decided per backward scan in redact_prefix: bounds the per-call buffer (4 bytes
// per position) while keeping the re-scanned context (max_secret_length() - 1 bytes per
// block) a small fraction of the work.
constexpr std::size_t block_positions = 64 * 1024;

} // namespace

redactor::redactor(std::vector<std::string> secrets) : secrets_(std::move(secrets)) {
  secrets_.erase(std::remove_if(secrets_.begin(), secrets_.end(),
                                [](const std::string& s) { return s.empty(); }),
                 secrets_.end());
  // Longest first; ties in byte order only to make the order deterministic.
  std::sort(secrets_.begin(), secrets_.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() > b.size() : a < b;
  });
  secrets_.erase(std::unique(secrets_.begin(), secrets_.end()), secrets_.end());
  max_len_ = secrets_.empty() ? 0 : secrets_.front().size();
  if (!secrets_.empty())
    automaton_ = std::make_shared<const detail::secret_automaton>(secrets_);
}

std::size_t redactor::match_at(std::string_view text, std::size_t pos) const noexcept {
  if (!automaton_ || pos >= text.size())
    return 0;
  return automaton_->longest_at(text, pos, pos + std::min(max_len_, text.size() - pos));
}

std::size_t redactor::redact_prefix(std::string_view text, std::size_t limit,
                                    std::string& out) const {
  std::size_t pos = 0;
  std::size_t copied = 0; // text[copied, pos) is pending, appended in one go
  if (!automaton_ || limit == 0) {
    out.append(text.data(), limit);
    return limit;
  }
  // The longest secret starting at each position of a block, from one backward scan that
  // starts far enough past the block for any secret to fit.
  const std::size_t block = std::max(block_positions, max_len_);
  std::vector<std::uint32_t> longest(std::min(block, limit));
  while (pos < limit) {
    const std::size_t from = pos;
    const std::size_t block_end = std::min(limit, from + block);
    const std::size_t scan_end = std::min(text.size(), block_end + max_len_ - 1);
    automaton_->longest_starting(text, from, block_end, scan_end, longest.data());
    while (pos < block_end) {
      const std::size_t len = longest[pos - from];
      if (len == 0) {
        ++pos;
        continue;
      }
      out.append(text.data() + copied, pos - copied);
      out.append(redaction_marker);
      pos += len;
      copied = pos;
    }
  }
  // pos > limit only right after a match, and then copied == pos.
  out.append(text.data() + copied, pos - copied);
  return pos;
}

std::string redactor::redact(std::string_view text) const {
  if (secrets_.empty())
    return std::string(text);
  std::string out;
  out.reserve(text.size());
  redact_prefix(text, text.size(), out);
  return out;
}

// ---- redact_message ---------------------------------------------------------------------------

namespace {

void redact_string(std::string& s, const redactor& r) {
  if (s.empty())
    return;
  std::string redacted = r.redact(s);
  if (redacted != s)
    s = std::move(redacted);
}

void redact_string(std::optional<std::string>& s, const redactor& r) {
  if (s)
    redact_string(*s, r);
}

void redact_strings(std::vector<std::string>& v, const redactor& r) {
  for (auto& s : v)
    redact_string(s, r);
}

void redact_map(std::optional<string_map>& m, const redactor& r) {
  if (!m)
    return;
  for (auto& [key, value] : *m)
    redact_string(value, r);
}

// Rewrites string values (not keys: they are schema, e.g. "usage", and rewriting them could
// make two keys collide) anywhere in the document. Returns whether anything changed.
bool redact_json_value(rapidjson::Value& v, rapidjson::Document::AllocatorType& alloc,
                       const redactor& r) {
  bool changed = false;
  if (v.IsString()) {
    std::string_view text(v.GetString(), v.GetStringLength());
    std::string redacted = r.redact(text);
    if (redacted != text) {
      v.SetString(redacted.data(), static_cast<rapidjson::SizeType>(redacted.size()), alloc);
      changed = true;
    }
  } else if (v.IsArray()) {
    for (auto& item : v.GetArray())
      changed |= redact_json_value(item, alloc, r);
  } else if (v.IsObject()) {
    for (auto& member : v.GetObject())
      changed |= redact_json_value(member.value, alloc, r);
  }
  return changed;
}

void redact_json(json_text& j, const redactor& r) {
  rapidjson::Document doc;
  if (!detail::parse_json(j.json, doc)) {
    // Not JSON (encode would send "{}" for it anyway); redact it as text so that it cannot
    // leak through a log line either.
    redact_string(j.json, r);
    return;
  }
  // Secrets may appear escaped in JSON text ("\u0041", "\""), so a plain text search of the
  // serialized form would miss them: compare decoded strings instead.
  if (redact_json_value(doc, doc.GetAllocator(), r))
    j.json = detail::to_json(doc);
}

void redact_command(command& c, const redactor& r) {
  redact_string(c.command, r);
  redact_string(c.cwd, r);
  redact_map(c.env, r);
  redact_string(c.stdin_data, r);
}

void redact_downloadable(downloadable& d, const redactor& r) {
  redact_string(d.download_url, r);
  redact_string(d.working_dir, r);
}

template <class T>
void redact_each(std::vector<T>& items, const redactor& r, void (*fn)(T&, const redactor&)) {
  for (auto& item : items)
    fn(item, r);
}

// Protocol vocabulary (command_output_message::stream, heartbeat_message::phase,
// agent_event_message::event) is left alone: it never carries caller data, and rewriting it
// would turn a valid message into one the peer rejects.
struct visitor {
  const redactor& r;

  void operator()(invocation_message& m) const {
    redact_string(m.source_id, r);
    redact_string(m.system_prompt, r);
    redact_string(m.user_prompt, r);
    redact_string(m.model, r);
    redact_string(m.output_format_json_schema_str, r);
    redact_map(m.agent_env, r);
    redact_strings(m.secrets_to_redact, r);
    redact_strings(m.artifacts_dirs, r);
    redact_string(m.artifacts_ignore_content, r);
    redact_each(m.pre_agent_downloadables, r, redact_downloadable);
    redact_each(m.pre_agent_invocation_commands, r, redact_command);
    redact_each(m.post_agent_invocation_commands, r, redact_command);
    redact_strings(m.client_capabilities, r);
    redact_string(m.resume_session_id, r);
  }
  void operator()(command_execution_message& m) const {
    redact_string(m.source_id, r);
    redact_strings(m.secrets_to_redact, r);
    redact_strings(m.artifacts_dirs, r);
    redact_string(m.artifacts_ignore_content, r);
    redact_each(m.commands, r, redact_command);
    redact_each(m.pre_execution_downloadables, r, redact_downloadable);
    redact_strings(m.client_capabilities, r);
  }
  void operator()(cancel_message&) const {}
  void operator()(artifact_upload_declined_message& m) const {
    redact_string(m.filename, r);
    redact_string(m.filepath, r);
    if (m.reason)
      redact_string(*m.reason, r);
  }
  void operator()(artifact_upload_response_message& m) const {
    redact_string(m.filename, r);
    redact_string(m.filepath, r);
    redact_string(m.presigned_url, r);
    redact_string(m.content_type, r);
  }
  void operator()(end_session_message&) const {}
  void operator()(result_message& m) const {
    redact_string(m.data.text, r);
    redact_json(m.data.structured_output, r);
    redact_json(m.metadata, r);
  }
  void operator()(command_execution_result_message& m) const {
    // stdout_text is produced through stream_redactor at the source (see the header).
    for (auto& result : m.results)
      redact_string(result.command, r);
  }
  void operator()(error_message& m) const {
    redact_string(m.error, r);
    redact_json(m.metadata, r);
  }
  void operator()(assistant_message& m) const { redact_strings(m.text_blocks, r); }
  void operator()(command_output_message& m) const {
    // text is produced through stream_redactor at the source (see the header).
    redact_string(m.command, r);
  }
  void operator()(heartbeat_message&) const {}
  void operator()(artifact_upload_request_message& m) const {
    redact_string(m.filename, r);
    redact_string(m.filepath, r);
  }
  void operator()(end_session_confirm_message&) const {}
  void operator()(agent_event_message& m) const { redact_json(m.data, r); }
  void operator()(artifact_upload_result_message& m) const {
    redact_string(m.filepath, r);
    redact_string(m.error, r);
  }
  // Durable-session messages carry the session's own ids and counts, nothing of a request's,
  // except the command names a gap reports (the same names command_output_message carries).
  void operator()(session_info_message&) const {}
  void operator()(gap_message& m) const {
    for (auto& lost : m.lost)
      redact_string(lost.command, r);
  }
  void operator()(detach_confirm_message&) const {}
  void operator()(ack_message&) const {}
  void operator()(detach_message&) const {}
  // Session processes: output is produced through stream_redactor at the source, like command
  // output; ids, counts and signal names are the runtime's own.
  void operator()(process_start_message& m) const {
    redact_string(m.command, r);
    redact_string(m.cwd, r);
    redact_map(m.env, r);
    redact_strings(m.secrets_to_redact, r);
    if (m.ready)
      redact_string(m.ready->probe, r);
  }
  void operator()(process_stdin_message&) const {}
  void operator()(process_signal_message&) const {}
  void operator()(process_resize_message&) const {}
  void operator()(process_list_message&) const {}
  void operator()(process_wait_message&) const {}
  void operator()(process_started_message&) const {}
  void operator()(process_output_message&) const {}
  void operator()(process_stdin_ack_message&) const {}
  void operator()(process_ready_message& m) const { redact_string(m.error, r); }
  void operator()(process_exit_message&) const {}
  void operator()(process_list_result_message& m) const {
    for (auto& p : m.processes)
      redact_string(p.command, r);
  }
  void operator()(process_error_message& m) const { redact_string(m.error, r); }
};

} // namespace

void redact_message(message& m, const redactor& r) {
  if (r.empty())
    return;
  std::visit(visitor{r}, m);
}

} // namespace agentrt::protocol
