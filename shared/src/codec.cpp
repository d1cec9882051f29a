// JSON codec for protocol messages: encode writes straight into the frame's std::string (command
// output chunks and results can be large, and the runtime hands that string to websocketpp as
// the frame payload); decode validates every field and names the first offending one by its
// path, e.g. "commands[1].cwd: expected string, got number".
#include "agentrt/protocol/codec.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <type_traits>
#include <utility>
#include <variant>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/writer.h>

#include "agentrt/protocol/errc.hpp"
#include "agentrt/protocol/input_quote.hpp"
#include "agentrt/protocol/json_depth.hpp"
#include "agentrt/protocol/redactor.hpp"
#include "base64.hpp"
#include "json_util.hpp"
#include "message_names.hpp"
#include "utf8.hpp"

namespace agentrt::protocol {
namespace {

using rapidjson::SizeType;
using value = rapidjson::Value;

// ---- encode -----------------------------------------------------------------------------------

// Rough output size, so that a 64 KiB output chunk or a 1 MiB stdout is written without the
// buffer regrowing on the way: the text plus room for an escape every 16 bytes (a newline per
// line of output is the usual one).
std::size_t with_escapes(std::size_t n) {
  return n + n / 16;
}

struct size_hint {
  std::size_t operator()(const command_output_message& m) const {
    return with_escapes(m.text.size() + m.command.size()) + 128;
  }
  std::size_t operator()(const command_execution_result_message& m) const {
    std::size_t n = 64;
    for (const auto& r : m.results) {
      n += with_escapes(r.command.size() + (r.stdout_text ? r.stdout_text->size() : 0)) + 64;
    }
    return n;
  }
  std::size_t operator()(const result_message& m) const {
    return with_escapes(m.data.text.size() + m.data.structured_output.json.size() +
                        m.metadata.json.size()) +
           128;
  }
  std::size_t operator()(const process_output_message& m) const {
    return m.stream == "pty" ? m.data.size() / 3 * 4 + 128 : with_escapes(m.data.size()) + 128;
  }
  std::size_t operator()(const process_stdin_message& m) const {
    return m.data.size() / 3 * 4 + 128;
  }
  template <class T> std::size_t operator()(const T&) const { return 512; }
};

// RapidJSON output stream appending to a std::string, so that the encoded message is the
// string the caller gets, without a copy out of a StringBuffer.
class string_sink {
public:
  using Ch = char;
  explicit string_sink(std::string& out) : out_(out) {}
  void Put(char c) { out_.push_back(c); }
  void Flush() {}

private:
  std::string& out_;
};

class encoder {
public:
  explicit encoder(std::size_t capacity) : sink_(out_), writer_(sink_) { out_.reserve(capacity); }

  std::string encode(const message& m, std::optional<std::uint64_t> seq = std::nullopt) {
    writer_.StartObject();
    field("message_type", detail::message_type_name_at(m.index()));
    std::visit(*this, m);
    if (seq && !std::holds_alternative<ack_message>(m)) {
      key("seq");
      writer_.Uint64(*seq);
    }
    writer_.EndObject();
    return std::move(out_);
  }

  void operator()(const invocation_message& m) {
    maybe("source_id", m.source_id);
    field("system_prompt", m.system_prompt);
    field("user_prompt", m.user_prompt);
    field("model", m.model);
    maybe("output_format_json_schema_str", m.output_format_json_schema_str);
    maybe("agent_env", m.agent_env);
    // Always written, even empty: runtimeuse's TypeScript types declare it required.
    strings("secrets_to_redact", m.secrets_to_redact);
    optional_strings("artifacts_dirs", m.artifacts_dirs);
    maybe("artifacts_ignore_content", m.artifacts_ignore_content);
    maybe("announce_existing_artifacts", m.announce_existing_artifacts);
    optional_array("pre_agent_downloadables", m.pre_agent_downloadables);
    optional_array("pre_agent_invocation_commands", m.pre_agent_invocation_commands);
    optional_array("post_agent_invocation_commands", m.post_agent_invocation_commands);
    optional_strings("client_capabilities", m.client_capabilities);
    maybe("resume_session_id", m.resume_session_id);
    maybe("agent", m.agent);
    if (m.settings) {
      key("harness_settings");
      settings_object(*m.settings);
    }
  }
  void operator()(const command_execution_message& m) {
    maybe("source_id", m.source_id);
    strings("secrets_to_redact", m.secrets_to_redact);
    optional_strings("artifacts_dirs", m.artifacts_dirs);
    maybe("artifacts_ignore_content", m.artifacts_ignore_content);
    maybe("announce_existing_artifacts", m.announce_existing_artifacts);
    key("commands");
    array(m.commands);
    optional_array("pre_execution_downloadables", m.pre_execution_downloadables);
    optional_strings("client_capabilities", m.client_capabilities);
  }
  void operator()(const cancel_message&) {}
  void operator()(const artifact_upload_response_message& m) {
    field("filename", m.filename);
    field("filepath", m.filepath);
    field("presigned_url", m.presigned_url);
    field("content_type", m.content_type);
  }
  void operator()(const artifact_upload_declined_message& m) {
    field("filename", m.filename);
    field("filepath", m.filepath);
    if (m.reason)
      field("reason", *m.reason);
  }
  void operator()(const end_session_message&) {}
  void operator()(const result_message& m) {
    key("data");
    writer_.StartObject();
    if (m.data.type == result_data::kind::structured_output) {
      field("type", "structured_output");
      json("structured_output", m.data.structured_output);
    } else {
      field("type", "text");
      field("text", m.data.text);
    }
    writer_.EndObject();
    json("metadata", m.metadata);
  }
  void operator()(const command_execution_result_message& m) {
    key("results");
    array(m.results);
  }
  void operator()(const error_message& m) {
    field("error", m.error);
    json("metadata", m.metadata);
  }
  void operator()(const assistant_message& m) { strings("text_blocks", m.text_blocks); }
  void operator()(const command_output_message& m) {
    field("stream", m.stream);
    field("text", m.text);
    field("command", m.command);
  }
  void operator()(const heartbeat_message& m) {
    field("phase", m.phase);
    key("elapsed_ms");
    writer_.Int64(m.elapsed_ms);
  }
  void operator()(const artifact_upload_request_message& m) {
    field("filename", m.filename);
    field("filepath", m.filepath);
  }
  void operator()(const end_session_confirm_message&) {}
  void operator()(const agent_event_message& m) {
    field("event", m.event);
    json("data", m.data);
  }
  void operator()(const artifact_upload_result_message& m) {
    field("filepath", m.filepath);
    key("ok");
    writer_.Bool(m.ok);
    if (m.http_status) {
      key("http_status");
      writer_.Int(*m.http_status);
    }
    maybe("error", m.error);
  }

  void operator()(const session_info_message& m) {
    field("session_id", m.session_id);
    field("resume_token", m.resume_token);
    key("resumed");
    writer_.Bool(m.resumed);
    seconds("resume_window_s", m.resume_window_s);
    seconds("detached_window_s", m.detached_window_s);
    key("last_seq");
    writer_.Uint64(m.last_seq);
    key("requests_received");
    writer_.Uint64(m.requests_received);
    maybe("request_in_flight", m.request_in_flight);
  }
  void operator()(const gap_message& m) {
    key("from_seq");
    writer_.Uint64(m.from_seq);
    key("to_seq");
    writer_.Uint64(m.to_seq);
    key("lost");
    array(m.lost);
  }
  void operator()(const detach_confirm_message& m) {
    field("session_id", m.session_id);
    seconds("expires_in_s", m.expires_in_s);
  }
  void operator()(const ack_message& m) {
    key("seq");
    writer_.Uint64(m.seq);
  }
  void operator()(const detach_message&) {}

  void operator()(const process_start_message& m) {
    maybe("ref", m.ref);
    field("command", m.command);
    maybe("cwd", m.cwd);
    maybe("env", m.env);
    if (m.pty) {
      key("pty");
      writer_.StartObject();
      size_fields(*m.pty);
      writer_.EndObject();
    }
    if (m.stdin_open) {
      key("stdin");
      writer_.Bool(true);
    }
    if (m.ready) {
      key("ready");
      writer_.StartObject();
      if (m.ready->tcp_port) {
        key("tcp_port");
        writer_.Int(*m.ready->tcp_port);
      }
      maybe("probe", m.ready->probe);
      seconds("timeout_s", m.ready->timeout_s);
      seconds("interval_s", m.ready->interval_s);
      writer_.EndObject();
    }
    optional_strings("secrets_to_redact", m.secrets_to_redact);
    if (m.timeout_s && std::isfinite(*m.timeout_s))
      seconds("timeout_s", *m.timeout_s);
  }
  void operator()(const process_stdin_message& m) {
    field("process_id", m.process_id);
    if (!m.data.empty() || !m.eof)
      bytes("data_b64", m.data);
    if (m.eof) {
      key("eof");
      writer_.Bool(true);
    }
  }
  void operator()(const process_signal_message& m) {
    maybe("ref", m.ref);
    field("process_id", m.process_id);
    field("signal", m.signal);
  }
  void operator()(const process_resize_message& m) {
    maybe("ref", m.ref);
    field("process_id", m.process_id);
    size_fields(m.size);
  }
  void operator()(const process_list_message& m) { maybe("ref", m.ref); }
  void operator()(const process_wait_message& m) {
    maybe("ref", m.ref);
    field("process_id", m.process_id);
  }
  void operator()(const process_started_message& m) {
    maybe("ref", m.ref);
    field("process_id", m.process_id);
    key("pid");
    writer_.Int64(m.pid);
    key("pty");
    writer_.Bool(m.pty);
    key("stdin_window");
    writer_.Uint64(m.stdin_window);
  }
  void operator()(const process_output_message& m) {
    field("process_id", m.process_id);
    field("stream", m.stream);
    if (m.stream == "pty")
      bytes("data_b64", m.data);
    else
      field("text", m.data);
  }
  void operator()(const process_stdin_ack_message& m) {
    field("process_id", m.process_id);
    key("written");
    writer_.Uint64(m.written);
    key("closed");
    writer_.Bool(m.closed);
  }
  void operator()(const process_ready_message& m) {
    field("process_id", m.process_id);
    key("ready");
    writer_.Bool(m.ready);
    maybe("error", m.error);
    key("elapsed_ms");
    writer_.Int64(m.elapsed_ms);
  }
  void operator()(const process_exit_message& m) {
    maybe("ref", m.ref);
    field("process_id", m.process_id);
    key("exit_code");
    writer_.Int(m.exit_code);
    maybe("signal", m.signal);
    key("timed_out");
    writer_.Bool(m.timed_out);
  }
  void operator()(const process_list_result_message& m) {
    maybe("ref", m.ref);
    key("processes");
    array(m.processes);
  }
  void operator()(const process_error_message& m) {
    maybe("ref", m.ref);
    maybe("process_id", m.process_id);
    field("code", m.code);
    field("error", m.error);
  }

private:
  void size_fields(const terminal_size& t) {
    key("cols");
    writer_.Int(t.cols);
    key("rows");
    writer_.Int(t.rows);
  }
  // Bytes that need not be text travel as base64 in a string.
  void bytes(std::string_view k, std::string_view data) {
    key(k);
    writer_.RawValue("", 0, rapidjson::kStringType);
    out_.push_back('"');
    detail::append_base64(out_, data);
    out_.push_back('"');
  }
  void settings_object(const harness_settings& h) {
    writer_.StartObject();
    if (h.max_turns) {
      key("max_turns");
      writer_.Int(*h.max_turns);
    }
    if (h.timeout_s)
      seconds("timeout_s", *h.timeout_s);
    maybe("permission_mode", h.permission_mode);
    if (h.allowed_tools)
      strings("allowed_tools", *h.allowed_tools);
    if (h.disallowed_tools)
      strings("disallowed_tools", *h.disallowed_tools);
    if (h.max_budget_usd) {
      key("max_budget_usd");
      writer_.Double(std::isfinite(*h.max_budget_usd) ? *h.max_budget_usd : 0);
    }
    if (h.token_budget) {
      key("token_budget");
      writer_.Int64(*h.token_budget);
    }
    if (h.mcp_servers)
      json("mcp_servers", *h.mcp_servers);
    if (h.extra_args)
      strings("extra_args", *h.extra_args);
    writer_.EndObject();
  }

  // Durations in seconds: whole ones as integers (120, not 120.0), anything else as a number.
  // Decoding only lets finite non-negative values through; a NaN or infinity set by a caller
  // cannot be written as JSON and is written as 0.
  void seconds(std::string_view k, double v) {
    key(k);
    if (!std::isfinite(v) || v < 0)
      writer_.Uint64(0);
    else if (v < 9007199254740992.0 && v == std::floor(v))
      writer_.Uint64(static_cast<std::uint64_t>(v));
    else
      writer_.Double(v);
  }

  // Replays a parsed JSON-text field into the writer. Its strings and keys take the same path
  // as every other string: the text parsed as UTF-8, but a "\udc00" escape in it decodes to
  // a lone surrogate, which is not.
  class json_replay {
  public:
    explicit json_replay(encoder& e) : e_(e) {}
    bool Null() { return e_.writer_.Null(); }
    bool Bool(bool b) { return e_.writer_.Bool(b); }
    bool Int(int i) { return e_.writer_.Int(i); }
    bool Uint(unsigned u) { return e_.writer_.Uint(u); }
    bool Int64(std::int64_t i) { return e_.writer_.Int64(i); }
    bool Uint64(std::uint64_t u) { return e_.writer_.Uint64(u); }
    bool Double(double d) { return e_.writer_.Double(d); }
    bool RawNumber(const char* s, SizeType n, bool) {
      return e_.writer_.RawValue(s, n, rapidjson::kNumberType);
    }
    bool String(const char* s, SizeType n, bool) {
      e_.string({s, n});
      return true;
    }
    bool Key(const char* s, SizeType n, bool) {
      e_.key({s, n});
      return true;
    }
    bool StartObject() { return e_.writer_.StartObject(); }
    bool EndObject(SizeType n) { return e_.writer_.EndObject(n); }
    bool StartArray() { return e_.writer_.StartArray(); }
    bool EndArray(SizeType n) { return e_.writer_.EndArray(n); }

  private:
    encoder& e_;
  };

  // Strings come from files, processes and harnesses and need not be UTF-8; a text frame that
  // is not UTF-8 makes the peer drop the connection, so invalid bytes become U+FFFD here.
  // Every string and key of every message is written by this one function, which is what
  // lets the runtime send frames without websocketpp checking them again. The writer only
  // places the separator (an empty raw value counts as one string); the escaping is ours.
  void string(std::string_view s) {
    writer_.RawValue("", 0, rapidjson::kStringType);
    detail::append_json_string(out_, s);
  }
  // Keys go through the same UTF-8 check as values: env names are caller data too.
  void key(std::string_view k) { string(k); }

  void field(std::string_view k, std::string_view v) {
    key(k);
    string(v);
  }
  void maybe(std::string_view k, const std::optional<std::string>& v) {
    if (v)
      field(k, *v);
  }
  void maybe(std::string_view k, const std::optional<bool>& v) {
    if (!v)
      return;
    key(k);
    writer_.Bool(*v);
  }
  void maybe(std::string_view k, const std::optional<string_map>& v) {
    if (!v)
      return;
    key(k);
    writer_.StartObject();
    for (const auto& [name, text] : *v)
      field(name, text);
    writer_.EndObject();
  }
  // JSON-text fields always carry an object on the wire (the Python client validates
  // metadata and structured_output as dicts). Text that is not a JSON object is written as
  // {} rather than as a string, so that the frame stays acceptable to every peer.
  void json(std::string_view k, const json_text& v) {
    key(k);
    rapidjson::Document doc;
    if (detail::parse_json(v.json, doc) && doc.IsObject()) {
      json_replay replay(*this);
      doc.Accept(replay);
    } else {
      writer_.StartObject();
      writer_.EndObject();
    }
  }

  void strings(std::string_view k, const std::vector<std::string>& v) {
    key(k);
    writer_.StartArray();
    for (const auto& s : v)
      string(s);
    writer_.EndArray();
  }
  void optional_strings(std::string_view k, const std::vector<std::string>& v) {
    if (!v.empty())
      strings(k, v);
  }

  template <class T> void array(const std::vector<T>& items) {
    writer_.StartArray();
    for (const auto& item : items)
      item_object(item);
    writer_.EndArray();
  }
  template <class T> void optional_array(std::string_view k, const std::vector<T>& items) {
    if (items.empty())
      return;
    key(k);
    array(items);
  }

  void item_object(const command& c) {
    writer_.StartObject();
    field("command", c.command);
    maybe("cwd", c.cwd);
    maybe("env", c.env);
    // NaN or infinity cannot be written as JSON; no finite limit is what infinity means, and
    // NaN means nothing, so both are left out.
    if (c.timeout_s && std::isfinite(*c.timeout_s)) {
      key("timeout_s");
      writer_.Double(*c.timeout_s);
    }
    maybe("stdin", c.stdin_data);
    writer_.EndObject();
  }
  void item_object(const downloadable& d) {
    writer_.StartObject();
    field("download_url", d.download_url);
    field("working_dir", d.working_dir);
    maybe("extract", d.extract);
    writer_.EndObject();
  }
  void item_object(const gap_loss& l) {
    writer_.StartObject();
    field("message_type", l.message_type);
    if (!l.command.empty())
      field("command", l.command);
    if (!l.stream.empty())
      field("stream", l.stream);
    key("messages");
    writer_.Uint64(l.messages);
    key("bytes");
    writer_.Uint64(l.bytes);
    writer_.EndObject();
  }
  void item_object(const process_info& p) {
    writer_.StartObject();
    field("process_id", p.process_id);
    field("command", p.command);
    key("pid");
    writer_.Int64(p.pid);
    key("pty");
    writer_.Bool(p.pty);
    field("state", p.state);
    maybe("ready", p.ready);
    if (p.exit_code) {
      key("exit_code");
      writer_.Int(*p.exit_code);
    }
    maybe("signal", p.signal);
    if (p.stdin_received) {
      key("stdin_received");
      writer_.Uint64(*p.stdin_received);
    }
    maybe("stdin_closed", p.stdin_closed);
    writer_.EndObject();
  }
  void item_object(const command_result& r) {
    writer_.StartObject();
    field("command", r.command);
    key("exit_code");
    writer_.Int(r.exit_code);
    maybe("stdout", r.stdout_text);
    if (r.stdout_truncated) {
      key("stdout_truncated");
      writer_.Bool(true);
    }
    writer_.EndObject();
  }

  std::string out_;
  string_sink sink_;
  rapidjson::Writer<string_sink> writer_;
};

// ---- decode -----------------------------------------------------------------------------------

// Reads fields of one frame, stopping at the first problem, which it records in the result.
// Field readers take the enclosing object's path prefix ("" at top level, "commands[1]" inside
// an array item) and build the full path only when reporting an error.
class reader {
public:
  explicit reader(decode_result& result) : result_(result) {}

  bool fail(errc e, std::string text) {
    result_.ec = e;
    result_.error = std::move(text);
    return false;
  }

  static std::string path(std::string_view prefix, std::string_view name) {
    std::string p(prefix);
    if (!p.empty())
      p += '.';
    p += name;
    return p;
  }
  static std::string item_path(std::string_view prefix, std::string_view name, std::size_t i) {
    return path(prefix, name) + '[' + std::to_string(i) + ']';
  }

  bool wrong_type(const std::string& p, const char* expected, const value& v) {
    return fail(errc::wrong_type,
                p + ": expected " + expected + ", got " + detail::json_type_name(v));
  }
  bool missing(const std::string& p) {
    return fail(errc::missing_field, p + ": required field is missing");
  }
  bool invalid(const std::string& p, std::string_view rule, const value& v) {
    return fail(errc::invalid_value,
                p + ": " + std::string(rule) + ", got " + quote_prefix(detail::to_json(v)));
  }

  // The field's value, or nullptr when it is absent or null (the same thing on this wire).
  static const value* find(const value& obj, std::string_view name) {
    const auto it = obj.FindMember(value(rapidjson::StringRef(name.data(), name.size())));
    if (it == obj.MemberEnd() || it->value.IsNull())
      return nullptr;
    return &it->value;
  }

  // ---- field readers --------------------------------------------------------------------------

  bool required_string(const value& o, std::string_view prefix, std::string_view name,
                       std::string& out) {
    const value* v = find(o, name);
    if (v == nullptr)
      return missing(path(prefix, name));
    return string_value(*v, prefix, name, out);
  }

  bool optional_string(const value& o, std::string_view prefix, std::string_view name,
                       std::optional<std::string>& out) {
    const value* v = find(o, name);
    if (v == nullptr)
      return true;
    return string_value(*v, prefix, name, out.emplace());
  }

  bool optional_bool(const value& o, std::string_view prefix, std::string_view name,
                     std::optional<bool>& out) {
    const value* v = find(o, name);
    if (v == nullptr)
      return true;
    if (!v->IsBool())
      return wrong_type(path(prefix, name), "boolean", *v);
    out = v->GetBool();
    return true;
  }

  bool optional_map(const value& o, std::string_view prefix, std::string_view name,
                    std::optional<string_map>& out) {
    const value* v = find(o, name);
    if (v == nullptr)
      return true;
    if (!v->IsObject())
      return wrong_type(path(prefix, name), "object", *v);
    auto& map = out.emplace();
    for (const auto& member : v->GetObject()) {
      std::string key(member.name.GetString(), member.name.GetStringLength());
      if (!member.value.IsString()) {
        return wrong_type(path(prefix, name) + '.' + quote_prefix(key), "string", member.value);
      }
      map.insert_or_assign(std::move(key),
                           std::string(member.value.GetString(), member.value.GetStringLength()));
    }
    return true;
  }

  // Absent or null is an empty list unless the field is required.
  bool string_array(const value& o, std::string_view prefix, std::string_view name,
                    std::vector<std::string>& out, bool required = false) {
    const value* v = find(o, name);
    if (v == nullptr)
      return required ? missing(path(prefix, name)) : true;
    if (!v->IsArray())
      return wrong_type(path(prefix, name), "array", *v);
    out.reserve(v->Size());
    for (SizeType i = 0; i < v->Size(); ++i) {
      const value& item = (*v)[i];
      if (!item.IsString())
        return wrong_type(item_path(prefix, name, i), "string", item);
      out.emplace_back(item.GetString(), item.GetStringLength());
    }
    return true;
  }

  template <class T>
  bool object_array(const value& o, std::string_view prefix, std::string_view name,
                    std::vector<T>& out, bool required = false) {
    const value* v = find(o, name);
    if (v == nullptr)
      return required ? missing(path(prefix, name)) : true;
    if (!v->IsArray())
      return wrong_type(path(prefix, name), "array", *v);
    out.reserve(v->Size());
    for (SizeType i = 0; i < v->Size(); ++i) {
      const value& item = (*v)[i];
      const std::string p = item_path(prefix, name, i);
      if (!item.IsObject())
        return wrong_type(p, "object", item);
      if (!parse_item(item, p, out.emplace_back()))
        return false;
    }
    return true;
  }

  // JSON-text fields carry objects; absent or null is "{}".
  bool object_text(const value& o, std::string_view prefix, std::string_view name, json_text& out,
                   bool required = false) {
    const value* v = find(o, name);
    if (v == nullptr) {
      if (required)
        return missing(path(prefix, name));
      out.json = "{}";
      return true;
    }
    if (!v->IsObject())
      return wrong_type(path(prefix, name), "object", *v);
    out.json = detail::to_json(*v);
    return true;
  }

  // A JSON integer that fits int. 1.5 (or 1e2, which JSON also spells as a fraction-capable
  // number) is the wrong type; an integer beyond int's range is an invalid value.
  bool int_value(const value& v, const std::string& p, int& out) {
    if (v.IsInt()) {
      out = v.GetInt();
      return true;
    }
    if (v.IsInt64() || v.IsUint64())
      return invalid(p, "out of range", v);
    return wrong_type(p, "integer", v);
  }

  // A JSON integer that fits std::uint64_t (seq numbers, counts, byte sizes). A fraction is the
  // wrong type, a negative integer an invalid value.
  bool uint64_value(const value& v, const std::string& p, std::uint64_t& out) {
    if (v.IsUint64()) {
      out = v.GetUint64();
      return true;
    }
    if (v.IsInt64())
      return invalid(p, "must be >= 0", v);
    return wrong_type(p, "integer", v);
  }

  bool required_uint64(const value& o, std::string_view prefix, std::string_view name,
                       std::uint64_t& out) {
    const value* v = find(o, name);
    if (v == nullptr)
      return missing(path(prefix, name));
    return uint64_value(*v, path(prefix, name), out);
  }

  // A duration in seconds: any finite number >= 0; absent or null is 0.
  bool optional_seconds(const value& o, std::string_view name, double& out) {
    const value* v = find(o, name);
    if (v == nullptr)
      return true;
    if (!v->IsNumber())
      return wrong_type(std::string(name), "number", *v);
    if (v->GetDouble() < 0)
      return invalid(std::string(name), "must be >= 0", *v);
    out = v->GetDouble();
    return true;
  }

  // ---- shapes ---------------------------------------------------------------------------------

  bool parse_item(const value& o, const std::string& p, gap_loss& l) {
    std::optional<std::string> command, stream;
    if (!required_string(o, p, "message_type", l.message_type) ||
        !optional_string(o, p, "command", command) || !optional_string(o, p, "stream", stream))
      return false;
    l.command = command.value_or("");
    l.stream = stream.value_or("");
    return required_uint64(o, p, "messages", l.messages) && required_uint64(o, p, "bytes", l.bytes);
  }

  bool parse_item(const value& o, const std::string& p, command& c) {
    if (!required_string(o, p, "command", c.command))
      return false;
    if (!optional_string(o, p, "cwd", c.cwd))
      return false;
    if (!optional_map(o, p, "env", c.env))
      return false;
    if (const value* t = find(o, "timeout_s")) {
      if (!t->IsNumber())
        return wrong_type(path(p, "timeout_s"), "number", *t);
      if (t->GetDouble() < 0)
        return invalid(path(p, "timeout_s"), "must be >= 0", *t);
      c.timeout_s = t->GetDouble();
    }
    return optional_string(o, p, "stdin", c.stdin_data);
  }

  bool parse_item(const value& o, const std::string& p, downloadable& d) {
    return required_string(o, p, "download_url", d.download_url) &&
           required_string(o, p, "working_dir", d.working_dir) &&
           optional_bool(o, p, "extract", d.extract);
  }

  bool parse_item(const value& o, const std::string& p, command_result& r) {
    if (!required_string(o, p, "command", r.command))
      return false;
    const value* code = find(o, "exit_code");
    if (code == nullptr)
      return missing(path(p, "exit_code"));
    if (!int_value(*code, path(p, "exit_code"), r.exit_code))
      return false;
    if (!optional_string(o, p, "stdout", r.stdout_text))
      return false;
    std::optional<bool> truncated;
    if (!optional_bool(o, p, "stdout_truncated", truncated))
      return false;
    r.stdout_truncated = truncated.value_or(false);
    return true;
  }

  // artifacts_dirs, then the legacy artifacts_dir, without duplicates. Empty names are dropped:
  // runtimeuse treats an empty artifacts_dir as "none" (it tests it for truthiness).
  // secrets_to_redact within max_secrets and max_secrets_total_bytes (redactor.hpp): the
  // redactor is built per request on the event loop, and its size follows the secrets'.
  bool secrets_to_redact(const value& o, std::vector<std::string>& out) {
    if (!string_array(o, "", "secrets_to_redact", out))
      return false;
    if (out.size() > max_secrets) {
      return fail(errc::invalid_value, "secrets_to_redact: at most " + std::to_string(max_secrets) +
                                           " secrets, got " + std::to_string(out.size()));
    }
    std::size_t total = 0;
    for (const auto& secret : out)
      total += secret.size();
    if (total > max_secrets_total_bytes) {
      return fail(errc::invalid_value,
                  "secrets_to_redact: at most " + std::to_string(max_secrets_total_bytes) +
                      " bytes of secrets in total, got " + std::to_string(total));
    }
    return true;
  }

  bool artifacts_dirs(const value& o, std::vector<std::string>& out, bool& used_legacy) {
    std::vector<std::string> dirs;
    if (!string_array(o, "", "artifacts_dirs", dirs))
      return false;
    std::optional<std::string> legacy;
    if (!optional_string(o, "", "artifacts_dir", legacy))
      return false;
    used_legacy = legacy && !legacy->empty();
    if (legacy)
      dirs.push_back(std::move(*legacy));
    for (auto& dir : dirs) {
      if (dir.empty() || std::find(out.begin(), out.end(), dir) != out.end())
        continue;
      out.push_back(std::move(dir));
    }
    return true;
  }

  // ---- messages -------------------------------------------------------------------------------

  bool parse(const value& o, invocation_message& m) {
    return optional_string(o, "", "source_id", m.source_id) &&
           required_string(o, "", "system_prompt", m.system_prompt) &&
           required_string(o, "", "user_prompt", m.user_prompt) &&
           required_string(o, "", "model", m.model) &&
           optional_string(o, "", "output_format_json_schema_str",
                           m.output_format_json_schema_str) &&
           optional_map(o, "", "agent_env", m.agent_env) &&
           secrets_to_redact(o, m.secrets_to_redact) &&
           artifacts_dirs(o, m.artifacts_dirs, m.used_artifacts_dir) &&
           optional_string(o, "", "artifacts_ignore_content", m.artifacts_ignore_content) &&
           optional_bool(o, "", "announce_existing_artifacts", m.announce_existing_artifacts) &&
           object_array(o, "", "pre_agent_downloadables", m.pre_agent_downloadables) &&
           object_array(o, "", "pre_agent_invocation_commands", m.pre_agent_invocation_commands) &&
           object_array(o, "", "post_agent_invocation_commands",
                        m.post_agent_invocation_commands) &&
           string_array(o, "", "client_capabilities", m.client_capabilities) &&
           optional_string(o, "", "resume_session_id", m.resume_session_id) &&
           optional_string(o, "", "agent", m.agent) && settings(o, m.settings);
  }

  // harness_settings: an object whose fields are each optional; null counts as absent.
  bool settings(const value& o, std::optional<harness_settings>& out) {
    const value* s = find(o, "harness_settings");
    if (s == nullptr)
      return true;
    const std::string p = "harness_settings";
    if (!s->IsObject())
      return wrong_type(p, "object", *s);
    auto& h = out.emplace();
    if (const value* v = find(*s, "max_turns")) {
      int turns = 0;
      if (!int_value(*v, path(p, "max_turns"), turns))
        return false;
      if (turns < 1)
        return invalid(path(p, "max_turns"), "must be >= 1", *v);
      h.max_turns = turns;
    }
    if (!positive_number(*s, p, "timeout_s", h.timeout_s) ||
        !positive_number(*s, p, "max_budget_usd", h.max_budget_usd))
      return false;
    if (const value* v = find(*s, "token_budget")) {
      if (!v->IsInt64())
        return v->IsUint64() ? invalid(path(p, "token_budget"), "out of range", *v)
                             : wrong_type(path(p, "token_budget"), "integer", *v);
      if (v->GetInt64() < 1)
        return invalid(path(p, "token_budget"), "must be >= 1", *v);
      h.token_budget = v->GetInt64();
    }
    if (!optional_string(*s, p, "permission_mode", h.permission_mode) ||
        !optional_strings(*s, p, "allowed_tools", h.allowed_tools) ||
        !optional_strings(*s, p, "disallowed_tools", h.disallowed_tools) ||
        !optional_strings(*s, p, "extra_args", h.extra_args))
      return false;
    if (find(*s, "mcp_servers") != nullptr) {
      json_text servers;
      if (!object_text(*s, p, "mcp_servers", servers))
        return false;
      h.mcp_servers = std::move(servers);
    }
    return true;
  }

  // A finite number > 0, when present.
  bool positive_number(const value& o, const std::string& p, std::string_view name,
                       std::optional<double>& out) {
    const value* v = find(o, name);
    if (v == nullptr)
      return true;
    if (!v->IsNumber())
      return wrong_type(path(p, name), "number", *v);
    if (!(v->GetDouble() > 0))
      return invalid(path(p, name), "must be > 0", *v);
    out = v->GetDouble();
    return true;
  }

  // A string array that is kept apart from "absent" (an empty list is a setting too).
  bool optional_strings(const value& o, const std::string& p, std::string_view name,
                        std::optional<std::vector<std::string>>& out) {
    if (find(o, name) == nullptr)
      return true;
    return string_array(o, p, name, out.emplace());
  }

  bool parse(const value& o, command_execution_message& m) {
    return optional_string(o, "", "source_id", m.source_id) &&
           secrets_to_redact(o, m.secrets_to_redact) &&
           artifacts_dirs(o, m.artifacts_dirs, m.used_artifacts_dir) &&
           optional_string(o, "", "artifacts_ignore_content", m.artifacts_ignore_content) &&
           optional_bool(o, "", "announce_existing_artifacts", m.announce_existing_artifacts) &&
           object_array(o, "", "commands", m.commands, true) &&
           object_array(o, "", "pre_execution_downloadables", m.pre_execution_downloadables) &&
           string_array(o, "", "client_capabilities", m.client_capabilities);
  }

  bool parse(const value&, cancel_message&) { return true; }

  bool parse(const value& o, artifact_upload_response_message& m) {
    return required_string(o, "", "filename", m.filename) &&
           required_string(o, "", "filepath", m.filepath) &&
           required_string(o, "", "presigned_url", m.presigned_url) &&
           required_string(o, "", "content_type", m.content_type);
  }

  bool parse(const value& o, artifact_upload_declined_message& m) {
    return required_string(o, "", "filename", m.filename) &&
           required_string(o, "", "filepath", m.filepath) &&
           optional_string(o, "", "reason", m.reason);
  }

  bool parse(const value&, end_session_message&) { return true; }

  bool parse(const value& o, result_message& m) {
    const value* data = find(o, "data");
    if (data == nullptr)
      return missing("data");
    if (!data->IsObject())
      return wrong_type("data", "object", *data);
    std::string type;
    if (!required_string(*data, "data", "type", type))
      return false;
    if (type == "text") {
      m.data.type = result_data::kind::text;
      if (!required_string(*data, "data", "text", m.data.text))
        return false;
    } else if (type == "structured_output") {
      m.data.type = result_data::kind::structured_output;
      if (!object_text(*data, "data", "structured_output", m.data.structured_output, true)) {
        return false;
      }
    } else {
      return invalid("data.type", R"(expected "text" or "structured_output")",
                     *find(*data, "type"));
    }
    return object_text(o, "", "metadata", m.metadata);
  }

  bool parse(const value& o, command_execution_result_message& m) {
    return object_array(o, "", "results", m.results, true);
  }

  bool parse(const value& o, error_message& m) {
    return required_string(o, "", "error", m.error) && object_text(o, "", "metadata", m.metadata);
  }

  bool parse(const value& o, assistant_message& m) {
    return string_array(o, "", "text_blocks", m.text_blocks, true);
  }

  bool parse(const value& o, command_output_message& m) {
    if (!required_string(o, "", "stream", m.stream))
      return false;
    if (m.stream != "stdout" && m.stream != "stderr") {
      return invalid("stream", R"(expected "stdout" or "stderr")", *find(o, "stream"));
    }
    return required_string(o, "", "text", m.text) && required_string(o, "", "command", m.command);
  }

  bool parse(const value& o, heartbeat_message& m) {
    if (!required_string(o, "", "phase", m.phase))
      return false;
    const value* v = find(o, "elapsed_ms");
    if (v == nullptr)
      return true;
    if (!v->IsNumber())
      return wrong_type("elapsed_ms", "number", *v);
    // A JavaScript peer may measure with performance.now(), which has a fraction: accept any
    // non-negative number and keep whole milliseconds.
    const double ms = v->GetDouble();
    if (ms < 0)
      return invalid("elapsed_ms", "must be >= 0", *v);
    if (v->IsInt64()) {
      m.elapsed_ms = v->GetInt64();
    } else if (ms < 9.2e18) {
      m.elapsed_ms = static_cast<std::int64_t>(ms);
    } else {
      return invalid("elapsed_ms", "out of range", *v);
    }
    return true;
  }

  bool parse(const value& o, artifact_upload_request_message& m) {
    return required_string(o, "", "filename", m.filename) &&
           required_string(o, "", "filepath", m.filepath);
  }

  bool parse(const value&, end_session_confirm_message&) { return true; }

  bool parse(const value& o, agent_event_message& m) {
    return required_string(o, "", "event", m.event) && object_text(o, "", "data", m.data);
  }

  bool parse(const value& o, artifact_upload_result_message& m) {
    if (!required_string(o, "", "filepath", m.filepath))
      return false;
    const value* ok = find(o, "ok");
    if (ok == nullptr)
      return missing("ok");
    if (!ok->IsBool())
      return wrong_type("ok", "boolean", *ok);
    m.ok = ok->GetBool();
    if (const value* status = find(o, "http_status")) {
      if (!int_value(*status, "http_status", m.http_status.emplace()))
        return false;
    }
    return optional_string(o, "", "error", m.error);
  }

  bool parse(const value& o, session_info_message& m) {
    std::optional<bool> resumed;
    if (!required_string(o, "", "session_id", m.session_id) ||
        !required_string(o, "", "resume_token", m.resume_token) ||
        !optional_bool(o, "", "resumed", resumed) ||
        !optional_seconds(o, "resume_window_s", m.resume_window_s) ||
        !optional_seconds(o, "detached_window_s", m.detached_window_s) ||
        !required_uint64(o, "", "last_seq", m.last_seq) ||
        !required_uint64(o, "", "requests_received", m.requests_received))
      return false;
    m.resumed = resumed.value_or(false);
    return optional_bool(o, "", "request_in_flight", m.request_in_flight);
  }

  bool parse(const value& o, gap_message& m) {
    if (!required_uint64(o, "", "from_seq", m.from_seq) ||
        !required_uint64(o, "", "to_seq", m.to_seq))
      return false;
    if (m.from_seq == 0)
      return invalid("from_seq", "must be >= 1", *find(o, "from_seq"));
    if (m.to_seq < m.from_seq)
      return invalid("to_seq", "must be >= from_seq", *find(o, "to_seq"));
    return object_array(o, "", "lost", m.lost);
  }

  bool parse(const value& o, detach_confirm_message& m) {
    return required_string(o, "", "session_id", m.session_id) &&
           optional_seconds(o, "expires_in_s", m.expires_in_s);
  }

  bool parse(const value& o, ack_message& m) { return required_uint64(o, "", "seq", m.seq); }

  bool parse(const value&, detach_message&) { return true; }

  // ---- session processes ----------------------------------------------------------------------

  bool int_in(const value& o, std::string_view prefix, std::string_view name, int lo, int hi,
              int& out, bool required) {
    const value* v = find(o, name);
    if (v == nullptr)
      return required ? missing(path(prefix, name)) : true;
    if (!int_value(*v, path(prefix, name), out))
      return false;
    if (out < lo || out > hi) {
      return invalid(path(prefix, name),
                     "must be " + std::to_string(lo) + ".." + std::to_string(hi), *v);
    }
    return true;
  }

  bool size_fields(const value& o, std::string_view prefix, terminal_size& t) {
    return int_in(o, prefix, "cols", 1, 1000, t.cols, true) &&
           int_in(o, prefix, "rows", 1, 1000, t.rows, true);
  }

  bool readiness(const value& o, std::optional<process_readiness>& out) {
    const value* r = find(o, "ready");
    if (r == nullptr)
      return true;
    const std::string p = "ready";
    if (!r->IsObject())
      return wrong_type(p, "object", *r);
    auto& ready = out.emplace();
    if (find(*r, "tcp_port") != nullptr) {
      if (!int_in(*r, p, "tcp_port", 1, 65535, ready.tcp_port.emplace(), true))
        return false;
    }
    if (!optional_string(*r, p, "probe", ready.probe))
      return false;
    if (!ready.tcp_port && !ready.probe)
      return fail(errc::missing_field, "ready: needs tcp_port or probe");
    std::optional<double> timeout, interval;
    if (!positive_number(*r, p, "timeout_s", timeout) ||
        !positive_number(*r, p, "interval_s", interval))
      return false;
    ready.timeout_s = timeout.value_or(ready.timeout_s);
    ready.interval_s = interval.value_or(ready.interval_s);
    return true;
  }

  bool parse(const value& o, process_start_message& m) {
    if (!optional_string(o, "", "ref", m.ref) || !required_string(o, "", "command", m.command) ||
        !optional_string(o, "", "cwd", m.cwd) || !optional_map(o, "", "env", m.env))
      return false;
    if (const value* t = find(o, "pty")) {
      if (!t->IsObject())
        return wrong_type("pty", "object", *t);
      if (!size_fields(*t, "pty", m.pty.emplace()))
        return false;
    }
    std::optional<bool> open;
    if (!optional_bool(o, "", "stdin", open) || !readiness(o, m.ready) ||
        !secrets_to_redact(o, m.secrets_to_redact) ||
        !positive_number(o, "", "timeout_s", m.timeout_s))
      return false;
    m.stdin_open = open.value_or(false);
    return true;
  }

  // "text" or "data_b64" (not both); absent is no bytes.
  bool stdin_bytes(const value& o, std::string& out) {
    const value* text = find(o, "text");
    const value* b64 = find(o, "data_b64");
    if (text != nullptr && b64 != nullptr)
      return fail(errc::invalid_value, "text, data_b64: send one of them, not both");
    if (text != nullptr)
      return string_value(*text, "", "text", out);
    return base64_field(o, "data_b64", out, false);
  }

  bool base64_field(const value& o, std::string_view name, std::string& out, bool required) {
    const value* v = find(o, name);
    if (v == nullptr)
      return required ? missing(std::string(name)) : true;
    if (!v->IsString())
      return wrong_type(std::string(name), "string", *v);
    if (!detail::decode_base64({v->GetString(), v->GetStringLength()}, out))
      return invalid(std::string(name), "expected padded base64 (RFC 4648)", *v);
    return true;
  }

  bool parse(const value& o, process_stdin_message& m) {
    std::optional<bool> eof;
    if (!required_string(o, "", "process_id", m.process_id) || !stdin_bytes(o, m.data) ||
        !optional_bool(o, "", "eof", eof))
      return false;
    m.eof = eof.value_or(false);
    return true;
  }

  bool parse(const value& o, process_signal_message& m) {
    return optional_string(o, "", "ref", m.ref) &&
           required_string(o, "", "process_id", m.process_id) &&
           required_string(o, "", "signal", m.signal);
  }

  bool parse(const value& o, process_resize_message& m) {
    return optional_string(o, "", "ref", m.ref) &&
           required_string(o, "", "process_id", m.process_id) && size_fields(o, "", m.size);
  }

  bool parse(const value& o, process_list_message& m) {
    return optional_string(o, "", "ref", m.ref);
  }

  bool parse(const value& o, process_wait_message& m) {
    return optional_string(o, "", "ref", m.ref) &&
           required_string(o, "", "process_id", m.process_id);
  }

  bool int64_field(const value& o, std::string_view prefix, std::string_view name,
                   std::int64_t& out) {
    const value* v = find(o, name);
    if (v == nullptr)
      return missing(path(prefix, name));
    if (!v->IsInt64())
      return wrong_type(path(prefix, name), "integer", *v);
    out = v->GetInt64();
    return true;
  }

  bool required_bool(const value& o, std::string_view prefix, std::string_view name, bool& out) {
    std::optional<bool> b;
    if (!optional_bool(o, prefix, name, b))
      return false;
    if (!b)
      return missing(path(prefix, name));
    out = *b;
    return true;
  }

  bool parse(const value& o, process_started_message& m) {
    return optional_string(o, "", "ref", m.ref) &&
           required_string(o, "", "process_id", m.process_id) && int64_field(o, "", "pid", m.pid) &&
           required_bool(o, "", "pty", m.pty) &&
           required_uint64(o, "", "stdin_window", m.stdin_window);
  }

  bool parse(const value& o, process_output_message& m) {
    if (!required_string(o, "", "process_id", m.process_id) ||
        !required_string(o, "", "stream", m.stream))
      return false;
    if (m.stream == "pty")
      return base64_field(o, "data_b64", m.data, true);
    if (m.stream != "stdout" && m.stream != "stderr")
      return invalid("stream", R"(expected "stdout", "stderr" or "pty")", *find(o, "stream"));
    return required_string(o, "", "text", m.data);
  }

  bool parse(const value& o, process_stdin_ack_message& m) {
    return required_string(o, "", "process_id", m.process_id) &&
           required_uint64(o, "", "written", m.written) && required_bool(o, "", "closed", m.closed);
  }

  bool parse(const value& o, process_ready_message& m) {
    return required_string(o, "", "process_id", m.process_id) &&
           required_bool(o, "", "ready", m.ready) && optional_string(o, "", "error", m.error) &&
           int64_field(o, "", "elapsed_ms", m.elapsed_ms);
  }

  bool parse(const value& o, process_exit_message& m) {
    std::optional<bool> timed_out;
    if (!optional_string(o, "", "ref", m.ref) ||
        !required_string(o, "", "process_id", m.process_id) ||
        !int_in(o, "", "exit_code", -1000000, 1000000, m.exit_code, true) ||
        !optional_string(o, "", "signal", m.signal) ||
        !optional_bool(o, "", "timed_out", timed_out))
      return false;
    m.timed_out = timed_out.value_or(false);
    return true;
  }

  bool parse_item(const value& o, const std::string& p, process_info& i) {
    if (!required_string(o, p, "process_id", i.process_id) ||
        !required_string(o, p, "command", i.command) || !int64_field(o, p, "pid", i.pid) ||
        !required_bool(o, p, "pty", i.pty) || !required_string(o, p, "state", i.state) ||
        !optional_bool(o, p, "ready", i.ready) || !optional_string(o, p, "signal", i.signal) ||
        !optional_bool(o, p, "stdin_closed", i.stdin_closed))
      return false;
    if (find(o, "stdin_received") != nullptr &&
        !required_uint64(o, p, "stdin_received", i.stdin_received.emplace()))
      return false;
    if (find(o, "exit_code") != nullptr)
      return int_in(o, p, "exit_code", -1000000, 1000000, i.exit_code.emplace(), true);
    return true;
  }

  bool parse(const value& o, process_list_result_message& m) {
    return optional_string(o, "", "ref", m.ref) &&
           object_array(o, "", "processes", m.processes, true);
  }

  bool parse(const value& o, process_error_message& m) {
    return optional_string(o, "", "ref", m.ref) &&
           optional_string(o, "", "process_id", m.process_id) &&
           required_string(o, "", "code", m.code) && required_string(o, "", "error", m.error);
  }

  // The "seq" of a numbered runtime -> client message: an integer >= 1.
  bool seq(const value& o, std::optional<std::uint64_t>& out) {
    const value* v = find(o, "seq");
    if (v == nullptr)
      return true;
    if (!uint64_value(*v, "seq", out.emplace()))
      return false;
    if (*out == 0)
      return invalid("seq", "must be >= 1", *v);
    return true;
  }

private:
  bool string_value(const value& v, std::string_view prefix, std::string_view name,
                    std::string& out) {
    if (!v.IsString())
      return wrong_type(path(prefix, name), "string", v);
    out.assign(v.GetString(), v.GetStringLength());
    return true;
  }

  decode_result& result_;
};

template <std::size_t I> bool decode_as(reader& r, const value& obj, decode_result& result) {
  std::variant_alternative_t<I, message> m;
  if (!r.parse(obj, m))
    return false;
  result.msg.emplace(std::in_place_index<I>, std::move(m));
  return true;
}

using decode_fn = bool (*)(reader&, const value&, decode_result&);

template <std::size_t... I>
constexpr std::array<decode_fn, sizeof...(I)> make_decoders(std::index_sequence<I...>) {
  return {&decode_as<I>...};
}

constexpr auto decoders = make_decoders(std::make_index_sequence<std::variant_size_v<message>>{});

// Whether the variant alternative at index is a runtime -> client message (the direction that
// numbers its messages on a durable session); a client's frames keep "seq" an unknown field.
template <std::size_t... I>
constexpr std::array<bool, sizeof...(I)> make_runtime_sent(std::index_sequence<I...>) {
  return {!sent_by_client_v<std::variant_alternative_t<I, message>>...};
}

constexpr auto runtime_sent =
    make_runtime_sent(std::make_index_sequence<std::variant_size_v<message>>{});

constexpr bool sent_by_runtime(std::size_t index) {
  return runtime_sent[index];
}

// The fields of a parsed frame, or the parse's verdict on it.
decode_result decode_parsed(const detail::json_parse_result& parsed,
                            const rapidjson::Document& doc) {
  decode_result result;
  reader r(result);

  if (parsed.result == detail::json_parse_result::outcome::too_deep) {
    r.fail(errc::nesting_too_deep,
           "JSON nested deeper than " + std::to_string(max_json_depth) + " levels");
    return result;
  }
  if (!parsed) {
    r.fail(errc::malformed_json, std::string("malformed JSON at offset ") +
                                     std::to_string(parsed.error.Offset()) + ": " +
                                     rapidjson::GetParseError_En(parsed.error.Code()));
    return result;
  }
  if (!doc.IsObject()) {
    r.fail(errc::not_an_object,
           std::string("expected a JSON object, got ") + detail::json_type_name(doc));
    return result;
  }
  const value* type = reader::find(doc, "message_type");
  if (type == nullptr) {
    r.missing("message_type");
    return result;
  }
  if (!type->IsString()) {
    r.wrong_type("message_type", "string", *type);
    return result;
  }
  result.message_type.assign(type->GetString(), type->GetStringLength());

  for (std::size_t i = 0; i < decoders.size(); ++i) {
    if (result.message_type == detail::message_type_name_at(i)) {
      std::optional<std::uint64_t> seq;
      if (sent_by_runtime(i) && !r.seq(doc, seq))
        return result;
      if (decoders[i](r, doc, result))
        result.seq = seq;
      return result;
    }
  }
  r.fail(errc::unknown_message_type,
         "unknown message_type \"" + quote_prefix(result.message_type) + '"');
  return result;
}

} // namespace

std::string encode(const message& m) {
  return encoder(std::visit(size_hint{}, m)).encode(m);
}

std::string encode(const message& m, std::optional<std::uint64_t> seq) {
  return encoder(std::visit(size_hint{}, m) + 32).encode(m, seq);
}

decode_result decode(std::string_view frame) {
  rapidjson::Document doc;
  const detail::json_parse_result parsed = detail::parse_json(frame, doc);
  return decode_parsed(parsed, doc);
}

decode_result decode_text_frame(const std::string& frame) {
  std::string scratch; // holds the document's strings
  rapidjson::Document doc;
  const detail::json_parse_result parsed = detail::parse_checked_utf8_json(frame, scratch, doc);
  return decode_parsed(parsed, doc);
}

std::string json_quote(std::string_view s) {
  std::string out;
  detail::append_json_string(out, s);
  return out;
}

} // namespace agentrt::protocol
