// Scripted Gemini streamGenerateContent SSE answers on top of http_test_server.
#include "support/fake_gemini_server.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace agentrt::test {

namespace {

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

void write_string(json_writer& w, const std::string& s) {
  w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
}

// One SSE chunk: a candidate whose content holds the given parts (written by parts()), the
// last one also finishReason and usageMetadata.
template <class Parts> std::string chunk(Parts parts, bool last) {
  rapidjson::StringBuffer buf;
  json_writer w(buf);
  w.StartObject();
  w.Key("candidates");
  w.StartArray();
  w.StartObject();
  w.Key("content");
  w.StartObject();
  w.Key("role");
  w.String("model");
  w.Key("parts");
  w.StartArray();
  parts(w);
  w.EndArray();
  w.EndObject();
  if (last) {
    w.Key("finishReason");
    w.String("STOP");
  }
  w.EndObject();
  w.EndArray();
  if (last) {
    w.Key("usageMetadata");
    w.StartObject();
    w.Key("promptTokenCount");
    w.Int(100);
    w.Key("candidatesTokenCount");
    w.Int(12);
    w.Key("totalTokenCount");
    w.Int(112);
    w.EndObject();
  }
  w.EndObject();
  return std::string("data: ") + buf.GetString() + "\r\n\r\n";
}

std::string error_document(const fake_gemini_turn& turn) {
  rapidjson::StringBuffer buf;
  json_writer w(buf);
  w.StartObject();
  w.Key("error");
  w.StartObject();
  w.Key("code");
  w.Int(turn.status);
  w.Key("message");
  write_string(w, turn.error_message);
  w.Key("status");
  write_string(w, turn.error_status);
  w.EndObject();
  w.EndObject();
  return buf.GetString();
}

} // namespace

fake_gemini_turn fake_gemini_turn::say(std::string text) {
  fake_gemini_turn t;
  t.text = std::move(text);
  return t;
}

fake_gemini_turn fake_gemini_turn::call(std::string name, std::string args_json, std::string text) {
  fake_gemini_turn t;
  t.function_name = std::move(name);
  t.args_json = std::move(args_json);
  t.text = std::move(text);
  return t;
}

fake_gemini_turn fake_gemini_turn::error(int status, std::string error_status,
                                         std::string message) {
  fake_gemini_turn t;
  t.status = status;
  t.error_status = std::move(error_status);
  t.error_message = std::move(message);
  return t;
}

fake_gemini_turn fake_gemini_turn::hang_up() {
  fake_gemini_turn t;
  t.hang = true;
  return t;
}

std::string gemini_sse_body(const fake_gemini_turn& turn) {
  // The text arrives in two chunks so that the CLI streams deltas, as the real API does.
  const std::string& text = turn.text;
  const auto half = text.size() / 2;
  const bool has_call = !turn.function_name.empty();
  std::string out;
  if (half > 0) {
    out += chunk(
        [&](json_writer& w) {
          w.StartObject();
          w.Key("text");
          write_string(w, text.substr(0, half));
          w.EndObject();
        },
        false);
  }
  out += chunk(
      [&](json_writer& w) {
        if (text.size() > half) {
          w.StartObject();
          w.Key("text");
          write_string(w, text.substr(half));
          w.EndObject();
        }
        if (has_call) {
          rapidjson::Document args;
          args.Parse(turn.args_json.c_str());
          w.StartObject();
          w.Key("functionCall");
          w.StartObject();
          w.Key("name");
          write_string(w, turn.function_name);
          w.Key("args");
          if (args.HasParseError() || !args.IsObject()) {
            w.StartObject();
            w.EndObject();
          } else {
            args.Accept(w);
          }
          w.EndObject();
          w.EndObject();
        }
      },
      true);
  return out;
}

fake_gemini_server::fake_gemini_server(std::string model)
    : path_("/v1beta/models/" + model + ":streamGenerateContent") {}

std::string fake_gemini_server::base_url() const {
  return server_.url("");
}

void fake_gemini_server::script(const std::vector<fake_gemini_turn>& turns) {
  std::vector<http_response> responses;
  for (const auto& t : turns) {
    http_response r;
    if (t.status != 200) {
      r.status = t.status;
      r.body = error_document(t);
      r.headers.emplace_back("Content-Type", "application/json");
    } else {
      r.body = gemini_sse_body(t);
      r.headers.emplace_back("Content-Type", "text/event-stream");
    }
    r.hang = t.hang;
    responses.push_back(std::move(r));
  }
  server_.route(path_, std::move(responses));
}

std::size_t fake_gemini_server::request_count() const {
  return server_.request_count(path_);
}

std::vector<std::string> fake_gemini_server::request_bodies() const {
  std::vector<std::string> out;
  for (const auto& p : server_.puts())
    if (p.path == path_)
      out.push_back(p.body_head);
  return out;
}

std::vector<std::map<std::string, std::string>> fake_gemini_server::request_headers() const {
  std::vector<std::map<std::string, std::string>> out;
  for (const auto& p : server_.puts())
    if (p.path == path_)
      out.push_back(p.headers);
  return out;
}

} // namespace agentrt::test
