// The native openai loop's file-editing tool, beside `shell`: view a file (numbered lines),
// create one, replace a string that occurs exactly once, insert lines after a line. Coding
// models edit far more reliably through it than through sed in a shell.
//
// Confined like every file the runtime touches on a client's behalf: paths are relative to the
// invocation's working directory (an absolute path must lie beneath it), ".." is refused, no
// symbolic link is followed in any component, only regular files are read (opened without
// blocking, so a FIFO cannot hold the event loop), and writes go to a temporary file in the same
// directory that is renamed over the target (the model never leaves a half-written file).
#pragma once

#include <cstddef>
#include <string>

#include <rapidjson/document.h>

namespace agentrt::runtime::harness {

// The tool's declaration for the chat API's "tools" array (one function object).
const char* edit_tool_json();

struct edit_tool_result {
  std::string output; // what the model reads back
  bool is_error = false;
};

// Files larger than this are not viewed or edited (the tool holds a file in memory).
inline constexpr std::size_t edit_tool_max_file_bytes = 4 * 1024 * 1024;
// A view answers with at most this many bytes (the rest is summarized).
inline constexpr std::size_t edit_tool_max_view_bytes = 32 * 1024;

// Runs one call; args is the call's JSON object
// {"command":"view"|"create"|"str_replace"|"insert","path":...,...}.
edit_tool_result run_edit_tool(const std::string& workdir, const rapidjson::Value& args);

} // namespace agentrt::runtime::harness
