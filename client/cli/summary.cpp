#include "summary.hpp"

#include <cstdio>
#include <fstream>

namespace agentrt::cli {

bool write_summary(const std::string& path, const run_summary& s) {
  std::string j = R"({"mode":)" + json_string(s.mode) + R"(,"exit_code":)" +
                  std::to_string(s.exit_code) + R"(,"error":)";
  if (s.error)
    j += R"({"code":)" + json_string(s.error->code) + R"(,"message":)" +
         json_string(s.error->message) + "}";
  else
    j += "null";
  j += R"(,"commands":[)";
  for (std::size_t i = 0; i < s.commands.size(); ++i) {
    const auto& c = s.commands[i];
    char duration[32];
    std::snprintf(duration, sizeof duration, "%.3f", c.duration_s);
    j += (i ? "," : "") + std::string(R"({"command":)") + json_string(c.command) +
         R"(,"exit_code":)" + (c.exit_code ? std::to_string(*c.exit_code) : "null") +
         R"(,"duration_s":)" + duration + "}";
  }
  std::string delivered, failed;
  for (const auto& a : s.artifacts) {
    if (a.status == artifact_outcome::state::delivered)
      delivered += (delivered.empty() ? "" : ",") + std::string(R"({"filepath":)") +
                   json_string(a.filepath) + R"(,"local":)" +
                   (a.target.empty() ? "null" : json_string(a.target)) + "}";
    else
      failed += (failed.empty() ? "" : ",") + std::string(R"({"filepath":)") +
                json_string(a.filepath) + R"(,"reason":)" + json_string(a.reason) + "}";
  }
  j += R"(],"artifacts":{"delivered":[)" + delivered + R"(],"failed":[)" + failed + "]}}\n";
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << j;
  out.close();
  if (!out) {
    print(stderr, "agentrt-client: cannot write --summary-json " + path + "\n");
    return false;
  }
  return true;
}

} // namespace agentrt::cli
