// The SSE side of a streamed chat completion: lines, "data:" payloads, and the deltas in them.
#include "harness/chat_stream.hpp"

#include "harness/json_support.hpp"

namespace agentrt::runtime::harness {

void chat_stream::write(std::string_view bytes) {
  partial_.append(bytes);
  std::size_t start = 0;
  for (;;) {
    const auto nl = partial_.find('\n', start);
    if (nl == std::string::npos)
      break;
    std::string_view line(partial_.data() + start, nl - start);
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    if (line.rfind("data:", 0) == 0) {
      line.remove_prefix(5);
      if (!line.empty() && line.front() == ' ')
        line.remove_prefix(1);
      on_data(line);
    }
    start = nl + 1;
  }
  partial_.erase(0, start);
}

void chat_stream::on_data(std::string_view data) {
  if (data == "[DONE]") {
    done_ = true;
    return;
  }
  rapidjson::Document doc;
  if (!json::parse(data, doc) || !doc.IsObject())
    return;
  if (const auto* e = json::member(doc, "error")) {
    error = e->IsObject() ? json::string_or_empty(*e, "message") : json::text_of(*e);
    if (error.empty())
      error = json::dump(*e);
    return;
  }
  if (const auto* usage = json::member(doc, "usage"); usage && usage->IsObject()) {
    if (auto p = json::token_count(*usage, "prompt_tokens"))
      prompt_tokens = *p;
    if (auto c = json::token_count(*usage, "completion_tokens"))
      completion_tokens = *c;
  }
  const auto* choices = json::member(doc, "choices");
  if (!choices || !choices->IsArray() || choices->Empty())
    return;
  const auto& choice = (*choices)[0];
  if (auto fr = json::string_member(choice, "finish_reason"))
    finish_reason = *fr;
  const auto* delta = json::member(choice, "delta");
  if (!delta)
    delta = json::member(choice, "message"); // servers that ignore stream:true
  if (!delta || !delta->IsObject())
    return;
  if (auto c = json::string_member(*delta, "content"))
    content += *c;
  if (auto r = json::string_member(*delta, "reasoning_content"))
    reasoning += *r;
  if (auto r = json::string_member(*delta, "reasoning"))
    reasoning += *r;
  const auto* calls = json::member(*delta, "tool_calls");
  if (!calls || !calls->IsArray())
    return;
  for (const auto& call : calls->GetArray()) {
    // Deltas of one call share its index; only the first carries id and name.
    std::size_t index = tool_calls.size();
    if (const auto* i = json::member(call, "index"); i && i->IsUint())
      index = i->GetUint();
    if (index > 1024)
      continue;
    if (index >= tool_calls.size())
      tool_calls.resize(index + 1);
    auto& tc = tool_calls[index];
    if (auto id = json::string_member(call, "id"))
      tc.id += *id;
    if (const auto* fn = json::member(call, "function")) {
      if (auto n = json::string_member(*fn, "name"))
        tc.name += *n;
      if (auto a = json::string_member(*fn, "arguments"))
        tc.arguments += *a;
    }
  }
}

} // namespace agentrt::runtime::harness
