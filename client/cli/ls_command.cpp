// agentrt-client ls [URL] REMOTE [-r]: a directory's entries (or one file's), one line each.
#include <cstdio>

#include "files_cli.hpp"
#include "output.hpp"

namespace agentrt::cli {
namespace {

void print_entry(const client::file_info& f, bool json) {
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", f.mode);
  if (json) {
    json_line(R"({"path":)" + json_string(f.path) + R"(,"type":)" + json_string(f.type) +
              R"(,"size":)" + std::to_string(f.size) + R"(,"mode":")" + mode + R"(","mtime":)" +
              std::to_string(f.mtime) +
              (f.target.empty() ? std::string() : R"(,"target":)" + json_string(f.target)) + "}");
    return;
  }
  char size[24];
  std::snprintf(size, sizeof size, "%12llu", static_cast<unsigned long long>(f.size));
  char type[16];
  std::snprintf(type, sizeof type, "%-9s", f.type.c_str());
  print(stdout, std::string(type) + " " + mode + " " + size + " " + f.path +
                    (f.target.empty() ? "" : " -> " + f.target) + "\n");
}

} // namespace

int run_ls(const files_cli_options& o) {
  client::files_client c(connection(o));
  client::file_info info;
  if (auto r = c.stat(o.args[0], info); !r.ok())
    return finish(r, o.json);
  if (info.type != "directory") {
    print_entry(info, o.json);
    return 0;
  }
  std::vector<client::file_info> entries;
  auto r = c.list(o.args[0], entries, o.recursive ? o.depth.value_or(64) : 1);
  if (!r.ok())
    return finish(r, o.json);
  for (const auto& e : entries)
    print_entry(e, o.json);
  return 0;
}

} // namespace agentrt::cli
