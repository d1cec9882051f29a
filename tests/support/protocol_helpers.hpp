// Small conveniences for building requests and picking apart what a runtime sent back.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "agentrt/protocol/messages.hpp"

namespace agentrt::test {

inline protocol::command_execution_message exec_request(const std::vector<std::string>& commands) {
  protocol::command_execution_message m;
  for (const auto& c : commands) {
    protocol::command cmd;
    cmd.command = c;
    m.commands.push_back(cmd);
  }
  return m;
}

// An invocation_message with placeholder system prompt and model (for --handler runtimes).
inline protocol::invocation_message invocation_request(const std::string& user_prompt) {
  protocol::invocation_message m;
  m.system_prompt = "s";
  m.user_prompt = user_prompt;
  m.model = "m";
  return m;
}

template <class T> const T* as(const protocol::message& m) {
  return std::get_if<T>(&m);
}

template <class T> std::size_t count_of(const std::vector<protocol::message>& msgs) {
  std::size_t n = 0;
  for (const auto& m : msgs)
    n += std::holds_alternative<T>(m) ? 1 : 0;
  return n;
}

// The concatenated text of every command_output_message on stream ("stdout"/"stderr").
inline std::string joined_output(const std::vector<protocol::message>& msgs,
                                 const std::string& stream) {
  std::string out;
  for (const auto& m : msgs) {
    if (auto* o = as<protocol::command_output_message>(m); o && o->stream == stream)
      out += o->text;
  }
  return out;
}

// Zombie children of pid (state Z, parent pid).
std::vector<int> zombie_children(int pid);

} // namespace agentrt::test
