// agentrt-client: run commands or a query in an agentrt (or runtimeuse) runtime from a shell or
// a CI job. Output streams as it arrives; the exit code tells the outcomes apart (see --help).
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <pthread.h>

#include "agentrt/client/client.hpp"
#include "agentrt/protocol/codec.hpp"
#include "put_receiver.hpp"

namespace {

namespace ac = agentrt::client;
namespace proto = agentrt::protocol;

// Exit codes. A failing command's own code (1-255) is passed through, so these were chosen
// from the sysexits/timeout(1) conventions that shell commands rarely use.
constexpr int exit_usage = 64;
constexpr int exit_connection = 69;
constexpr int exit_runtime_error = 70;
constexpr int exit_protocol = 76;
constexpr int exit_timeout = 124;
constexpr int exit_cancelled = 130;

constexpr const char* help_text = R"(Usage:
  agentrt-client exec URL [options] [--cwd DIR] [--env K=V]... -- COMMAND...
  agentrt-client query URL [options] --prompt TEXT [--system S] [--model M] [--schema FILE]

exec runs each COMMAND argument as one shell command (/bin/sh -c), in order, stopping at the
first failure; their stdout/stderr stream to this program's stdout/stderr as they arrive.
query prints the result (text, or JSON for structured output) to stdout and streams the
agent's assistant messages to stderr.

URL is ws://HOST:PORT/ or wss://HOST:PORT/.

Options:
  --token T            bearer token (also read from AGENTRT_TOKEN)
  --timeout S          overall timeout in seconds (the request is cancelled)
  --idle-timeout S     cancel when nothing arrives from the runtime for S seconds
  --download URL=DIR   fetch URL into DIR on the runtime first (repeatable)
  --secret VALUE       redact VALUE from everything the runtime sends (repeatable)
  --artifacts DIR      upload files written under DIR on the runtime (repeatable); needs
                       --upload-to or --presign-cmd
  --upload-to LOCAL    receive the artifacts here: serves one-shot HTTP PUT URLs (for runtimes
                       that can reach this machine, e.g. local Docker)
  --upload-bind ADDR   address the receiver listens on (default 127.0.0.1)
  --upload-host HOST   host name put into the receiver's URLs (default: the bind address)
  --presign-cmd CMD    run `CMD FILENAME` for each artifact; its stdout is the presigned URL
  --ca-file PEM        trust this CA bundle for wss://
  --insecure           do not verify the wss:// certificate
  --json               print every message from the runtime as one JSON line on stdout
                       (and client errors as {"message_type":"client_error",...})
  --help               this text
  --version            print the version and exit

Exit codes:
  0     success
  1-255 exec: the failing command's exit code (128+N when killed by signal N)
  64    usage error
  69    connection failure
  70    runtime error (error_message from the runtime)
  76    protocol violation by the runtime
  124   timeout (overall, idle or callback)
  130   cancelled (SIGINT/SIGTERM)
)";

struct cli_options {
  std::string mode, url;
  std::optional<std::string> token;
  std::optional<double> timeout_s, idle_timeout_s;
  std::vector<proto::downloadable> downloads;
  std::vector<std::string> secrets, artifacts;
  std::optional<std::string> upload_to, presign_cmd, ca_file;
  std::string upload_bind = "127.0.0.1", upload_host;
  bool insecure = false, json = false;
  std::optional<std::string> cwd;
  proto::string_map env;
  std::vector<std::string> commands;
  std::optional<std::string> prompt, system, model, schema_file;
};

int usage(const std::string& why) {
  std::cerr << "agentrt-client: " << why << "\nTry 'agentrt-client --help'.\n";
  return exit_usage;
}

std::mutex out_mutex; // callbacks (I/O thread) and main thread both print

void json_line(const std::string& line) {
  std::lock_guard lock(out_mutex);
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

void emit(const proto::message& m) {
  json_line(proto::encode(m));
}

std::string json_string(const std::string& s) {
  // The codec escapes for us: encode an error_message and cut its "error" value out.
  proto::error_message e;
  e.error = s;
  std::string enc = proto::encode(e);
  auto start = enc.find("\"error\":") + 8;
  auto end = enc.find(",\"metadata\"", start);
  return enc.substr(start, end - start);
}

int exit_code_for(const ac::client_error& e) {
  if (e.code == ac::errc::connection_failed)
    return exit_connection;
  if (e.code == ac::errc::runtime_error)
    return exit_runtime_error;
  if (e.code == ac::errc::protocol_violation)
    return exit_protocol;
  if (e.code == ac::errc::timed_out || e.code == ac::errc::idle_timed_out ||
      e.code == ac::errc::callback_timed_out)
    return exit_timeout;
  if (e.code == ac::errc::cancelled)
    return exit_cancelled;
  if (e.code == ac::errc::invalid_options)
    return exit_usage;
  return exit_connection; // closed: the connection went away
}

void report(const ac::client_error& e, bool json) {
  if (json) {
    if (e.code == ac::errc::runtime_error) {
      proto::error_message m;
      m.error = e.message;
      m.metadata.json = e.metadata_json;
      emit(m);
    } else {
      json_line(R"({"message_type":"client_error","code":)" + json_string(e.code.message()) +
                R"(,"error":)" + json_string(e.message) + R"(,"metadata":)" + e.metadata_json +
                "}");
    }
    return;
  }
  std::lock_guard lock(out_mutex);
  std::cerr << "agentrt-client: " << e.message;
  if (e.metadata_json != "{}")
    std::cerr << " " << e.metadata_json;
  std::cerr << "\n";
}

std::optional<double> parse_seconds(const std::string& s) {
  try {
    std::size_t used = 0;
    double v = std::stod(s, &used);
    if (used == s.size() && v > 0)
      return v;
  } catch (...) {
  }
  return std::nullopt;
}

// Returns 0 when parsed, else the exit code for the usage error (or 0 with help printed).
int parse(int argc, char** argv, cli_options& o, bool& help) {
  std::vector<std::string> args(argv + 1, argv + argc);
  for (const auto& a : args)
    if (a == "--help" || a == "-h") {
      help = true;
      return 0;
    }
  if (args.empty())
    return usage("missing subcommand (exec or query)");
  o.mode = args[0];
  if (o.mode != "exec" && o.mode != "query")
    return usage("unknown subcommand '" + o.mode + "'");
  std::size_t i = 1;
  auto value = [&](const std::string& flag) -> std::optional<std::string> {
    if (i + 1 >= args.size())
      return std::nullopt;
    (void)flag;
    return args[++i];
  };
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      o.commands.assign(args.begin() + static_cast<long>(i) + 1, args.end());
      break;
    }
    if (a.rfind("--", 0) != 0) {
      if (!o.url.empty())
        return usage("unexpected argument '" + a + "'");
      o.url = a;
      continue;
    }
    if (a == "--json" || a == "--insecure") {
      (a == "--json" ? o.json : o.insecure) = true;
      continue;
    }
    auto v = value(a);
    if (!v)
      return usage(a + " needs a value");
    if (a == "--token") {
      o.token = *v;
    } else if (a == "--timeout" || a == "--idle-timeout") {
      auto s = parse_seconds(*v);
      if (!s)
        return usage(a + ": expected a positive number of seconds");
      (a == "--timeout" ? o.timeout_s : o.idle_timeout_s) = s;
    } else if (a == "--download") {
      auto eq = v->rfind('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == v->size())
        return usage("--download expects URL=DIR");
      proto::downloadable d;
      d.download_url = v->substr(0, eq);
      d.working_dir = v->substr(eq + 1);
      o.downloads.push_back(d);
    } else if (a == "--secret") {
      o.secrets.push_back(*v);
    } else if (a == "--artifacts") {
      o.artifacts.push_back(*v);
    } else if (a == "--upload-to") {
      o.upload_to = *v;
    } else if (a == "--upload-bind") {
      o.upload_bind = *v;
    } else if (a == "--upload-host") {
      o.upload_host = *v;
    } else if (a == "--presign-cmd") {
      o.presign_cmd = *v;
    } else if (a == "--ca-file") {
      o.ca_file = *v;
    } else if (a == "--cwd" && o.mode == "exec") {
      o.cwd = *v;
    } else if (a == "--env" && o.mode == "exec") {
      auto eq = v->find('=');
      if (eq == std::string::npos || eq == 0)
        return usage("--env expects K=V");
      o.env[v->substr(0, eq)] = v->substr(eq + 1);
    } else if (a == "--prompt" && o.mode == "query") {
      o.prompt = *v;
    } else if (a == "--system" && o.mode == "query") {
      o.system = *v;
    } else if (a == "--model" && o.mode == "query") {
      o.model = *v;
    } else if (a == "--schema" && o.mode == "query") {
      o.schema_file = *v;
    } else {
      return usage("unknown option '" + a + "' for " + o.mode);
    }
  }
  if (o.url.empty())
    return usage("missing URL");
  if (o.mode == "exec" && o.commands.empty())
    return usage("exec needs commands after --");
  if (o.mode == "query" && !o.prompt)
    return usage("query needs --prompt");
  if (!o.artifacts.empty() && !o.upload_to && !o.presign_cmd)
    return usage("--artifacts needs --upload-to or --presign-cmd");
  if ((o.upload_to || o.presign_cmd) && o.artifacts.empty())
    return usage("--upload-to/--presign-cmd need --artifacts");
  if (o.upload_to && o.presign_cmd)
    return usage("use either --upload-to or --presign-cmd");
  if (!o.token)
    if (const char* t = std::getenv("AGENTRT_TOKEN"); t && *t)
      o.token = t;
  return 0;
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s)
    q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// A file name from the runtime becomes a local path component: keep it one.
std::string safe_name(std::string name) {
  for (char& c : name)
    if (c == '/')
      c = '_';
  if (name.empty() || name == "." || name == "..")
    name = "_" + name;
  return name;
}

} // namespace

int main(int argc, char** argv) {
  // Like --help, anywhere before "--" (after it, arguments are commands).
  for (int i = 1; i < argc && std::string_view(argv[i]) != "--"; ++i) {
    if (std::string_view(argv[i]) == "--version") {
      std::cout << "agentrt-client " << ac::version() << "\n";
      return 0;
    }
  }
  cli_options o;
  bool help = false;
  if (int rc = parse(argc, argv, o, help); rc != 0)
    return rc;
  if (help) {
    std::cout << help_text << "\nagentrt-client " << ac::version() << "\n";
    return 0;
  }

  std::string schema;
  if (o.schema_file) {
    std::ifstream in(*o.schema_file);
    if (!in)
      return usage("cannot read " + *o.schema_file);
    std::stringstream ss;
    ss << in.rdbuf();
    schema = ss.str();
    // A bare JSON Schema is wrapped in the envelope the protocol expects.
    if (schema.find("\"json_schema\"") == std::string::npos)
      schema = R"({"type":"json_schema","schema":)" + schema + "}";
  }

  std::unique_ptr<agentrt::cli::put_receiver> receiver;
  if (o.upload_to) {
    std::string error;
    receiver = std::make_unique<agentrt::cli::put_receiver>(
        *o.upload_to, o.upload_bind, o.upload_host.empty() ? o.upload_bind : o.upload_host, error);
    if (!error.empty())
      return usage(error);
  }

  // SIGINT/SIGTERM cancel the request instead of killing us: the runtime then stops the work.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1); // our own wake-up at exit
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  ac::connect_options connect{o.url, o.token};
  connect.ca_file = o.ca_file;
  connect.verify_tls = !o.insecure;
  auto [session, connect_error] = ac::session::connect(connect);
  if (!session) {
    report(connect_error, o.json);
    return exit_code_for(connect_error);
  }
  std::atomic<bool> cancelled{false};
  std::thread signal_thread([&, s = session.get()] {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGUSR1)
      return;
    cancelled = true;
    s->abort();
  });

  ac::request_options common;
  common.secrets_to_redact = o.secrets;
  common.downloadables = o.downloads;
  common.artifacts_dirs = o.artifacts;
  if (o.timeout_s)
    common.timeout = std::chrono::milliseconds(static_cast<long long>(*o.timeout_s * 1000));
  if (o.idle_timeout_s)
    common.idle_timeout =
        std::chrono::milliseconds(static_cast<long long>(*o.idle_timeout_s * 1000));
  common.on_command_output = [&](const proto::command_output_message& m) {
    if (o.json)
      return emit(m);
    std::lock_guard lock(out_mutex);
    std::FILE* out = m.stream == "stderr" ? stderr : stdout;
    std::fwrite(m.text.data(), 1, m.text.size(), out);
    std::fflush(out);
  };
  if (o.json) {
    common.on_heartbeat = [](const proto::heartbeat_message& m) { emit(m); };
    common.on_artifact_upload_result = [](const proto::artifact_upload_result_message& m) {
      emit(m);
    };
  }
  if (!o.artifacts.empty()) {
    common.on_artifact_upload_request =
        [&, r = receiver.get()](const proto::artifact_upload_request_message& m,
                                ac::upload_reply reply) {
          if (o.json)
            emit(m);
          if (r)
            return reply(
                ac::upload_target{r->url_for(safe_name(m.filename)), "application/octet-stream"});
          // The presign command may be slow: never on the I/O thread.
          std::thread([cmd = *o.presign_cmd + " " + shell_quote(m.filename), reply] {
            std::string url;
            if (std::FILE* p = ::popen(cmd.c_str(), "r")) {
              char buf[4096];
              std::size_t n;
              while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
                url.append(buf, n);
              if (::pclose(p) != 0)
                url.clear();
            }
            while (!url.empty() && std::isspace(static_cast<unsigned char>(url.back())))
              url.pop_back();
            if (url.empty())
              return reply(std::nullopt);
            reply(ac::upload_target{url, "application/octet-stream"});
          }).detach();
        };
  }

  int status = 0;
  ac::client_error error;
  if (o.mode == "exec") {
    std::vector<proto::command> commands;
    for (const auto& text : o.commands) {
      proto::command c;
      c.command = text;
      c.cwd = o.cwd;
      if (!o.env.empty())
        c.env = o.env;
      commands.push_back(std::move(c));
    }
    ac::execute_options options;
    static_cast<ac::request_options&>(options) = common;
    auto [result, e] = session->execute_commands(commands, options);
    error = e;
    if (!error) {
      if (o.json) {
        proto::command_execution_result_message m;
        m.results = result.results;
        emit(m);
      }
      int code = result.failed_exit_code();
      status = code == 0 ? 0 : (code > 0 && code < 256 ? code : 1);
    }
  } else {
    ac::query_options options;
    static_cast<ac::request_options&>(options) = common;
    options.system_prompt = o.system.value_or("");
    options.model = o.model.value_or("");
    if (!schema.empty())
      options.output_format_json_schema_str = schema;
    options.on_assistant_message = [&](const proto::assistant_message& m) {
      if (o.json)
        return emit(m);
      std::lock_guard lock(out_mutex);
      for (const auto& block : m.text_blocks)
        std::cerr << block << "\n";
    };
    if (o.json)
      options.on_agent_event = [](const proto::agent_event_message& m) { emit(m); };
    auto [result, e] = session->query(*o.prompt, options);
    error = e;
    if (!error) {
      if (o.json) {
        proto::result_message m;
        m.data.type = result.type == ac::query_result::kind::structured_output
                          ? proto::result_data::kind::structured_output
                          : proto::result_data::kind::text;
        m.data.text = result.text;
        m.data.structured_output.json = result.structured_output_json;
        m.metadata.json = result.metadata_json;
        emit(m);
      } else {
        std::lock_guard lock(out_mutex);
        std::cout << (result.type == ac::query_result::kind::structured_output
                          ? result.structured_output_json
                          : result.text)
                  << "\n"
                  << std::flush;
      }
    }
  }

  if (error) {
    report(error, o.json);
    status = cancelled && error.code == ac::errc::cancelled ? exit_cancelled : exit_code_for(error);
  }
  // The end-session handshake drains late artifact uploads; a dead connection has none.
  if (!error || error.code == ac::errc::runtime_error) {
    if (auto end_error = session->end(); end_error && status == 0) {
      report(end_error, o.json);
      status = exit_code_for(end_error);
    }
    // end() returns after the runtime finished its uploads; a URL still unused means failed.
    if (receiver && !receiver->wait_idle(2000) && status == 0) {
      report({ac::make_error_code(ac::errc::timed_out), "not every artifact upload arrived"},
             o.json);
      status = exit_timeout;
    }
  }
  pthread_kill(signal_thread.native_handle(), SIGUSR1);
  signal_thread.join();
  session.reset();
  return status;
}
