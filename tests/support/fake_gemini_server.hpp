// A fake Gemini API on 127.0.0.1 for driving the real Gemini CLI: each
// POST /v1beta/models/MODEL:streamGenerateContent?alt=sse gets the next scripted turn as SSE
// `data: {"candidates":[...]}` chunks (text split over two chunks, then an optional
// functionCall; the last chunk carries finishReason STOP and usageMetadata), an HTTP error
// document in Google's {"error":{code,message,status}} shape, or a hang.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "support/http_test_server.hpp"

namespace agentrt::test {

struct fake_gemini_turn {
  std::string text;          // a text part when non-empty
  std::string function_name; // a functionCall part when non-empty (after the text)
  std::string args_json;     // the call's args object as JSON text
  int status = 200;
  std::string error_status; // for status != 200, e.g. "INVALID_ARGUMENT"
  std::string error_message;
  bool hang = false;

  static fake_gemini_turn say(std::string text);
  static fake_gemini_turn call(std::string name, std::string args_json, std::string text = {});
  static fake_gemini_turn error(int status, std::string error_status, std::string message);
  static fake_gemini_turn hang_up(); // never answers
};

std::string gemini_sse_body(const fake_gemini_turn& turn);

class fake_gemini_server {
public:
  // Serves the one model the CLI is started with (-m MODEL).
  explicit fake_gemini_server(std::string model = "gemini-2.5-flash");
  std::string base_url() const; // "http://127.0.0.1:PORT", for GOOGLE_GEMINI_BASE_URL
  void script(const std::vector<fake_gemini_turn>& turns);
  std::size_t request_count() const;
  std::vector<std::string> request_bodies() const;                         // first 64 KiB of each
  std::vector<std::map<std::string, std::string>> request_headers() const; // lower-cased names

private:
  std::string path_;
  http_test_server server_;
};

} // namespace agentrt::test
