// agentrt-client: run commands or a query in an agentrt (or runtimeuse) runtime from a shell or
// a CI job. Output streams as it arrives; the exit code tells the outcomes apart (see --help).
#include <csignal>
#include <cstdio>
#include <fstream>
#include <future>
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
#include "session_handle_text.hpp"

namespace {

namespace ac = agentrt::client;
namespace proto = agentrt::protocol;

// Exit codes. A failing command's own code (1-255) is passed through, so these were chosen
// from the sysexits/timeout(1) conventions that shell commands rarely use.
constexpr int exit_usage = 64;
constexpr int exit_session_expired = 66;
constexpr int exit_connection = 69;
constexpr int exit_runtime_error = 70;
constexpr int exit_superseded = 75;
constexpr int exit_protocol = 76;
constexpr int exit_resume_refused = 77;
constexpr int exit_timeout = 124;
constexpr int exit_cancelled = 130;

constexpr const char* help_text = R"help(Usage:
  agentrt-client exec URL [options] [--cwd DIR] [--env K=V]... -- COMMAND...
  agentrt-client query URL [options] --prompt TEXT [--system S] [--model M] [--schema FILE]
  agentrt-client attach [HANDLE] [options]

exec runs each COMMAND argument as one shell command (/bin/sh -c), in order, stopping at the
first failure; their stdout/stderr stream to this program's stdout/stderr as they arrive.
query prints the result (text, or JSON for structured output) to stdout and streams the
agent's assistant messages to stderr.

URL is ws://HOST:PORT/ or wss://HOST:PORT/.

Against an agentrt runtime the session is durable: when the connection drops, the client
reconnects and resumes (one line on stderr per reconnect) and nothing is lost or repeated.
With --detach, exec/query start the request, leave it running and print a handle instead:
  eval "$(agentrt-client exec URL --detach -- make)"   # sets AGENTRT_URL, AGENTRT_SESSION, ...
  agentrt-client attach                                # later, from anywhere
attach (HANDLE: the output of --detach, or the AGENTRT_* variables) streams the rest of the
request's output, answers its artifact uploads, and exits as exec/query would have.

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
  --detach             exec/query: start the request, print the session's handle, exit
  --no-durable         do not ask for a durable session (a dropped connection then ends
                       the request, as with runtimeuse)
  --reconnect-attempts N   attempts per outage before giving up (default 10)
  --reconnect-deadline S   give up S seconds after a drop (default 120)
  --help               this text
  --version            print the version and exit

Exit codes:
  0     success
  1-255 exec: the failing command's exit code (128+N when killed by signal N)
  64    usage error
  66    resume refused: the session expired (its request was killed)
  69    connection failure (or reconnecting failed; or --detach without durable sessions)
  70    runtime error (error_message from the runtime)
  75    another client attached to the session
  76    protocol violation by the runtime
  77    resume refused: unknown session or wrong token
  124   timeout (overall, idle or callback)
  130   cancelled (SIGINT/SIGTERM)
)help";

struct cli_options {
  std::string mode, url;
  std::optional<std::string> token;
  std::optional<double> timeout_s, idle_timeout_s;
  std::vector<proto::downloadable> downloads;
  std::vector<std::string> secrets, artifacts;
  std::optional<std::string> upload_to, presign_cmd, ca_file;
  std::string upload_bind = "127.0.0.1", upload_host;
  bool insecure = false, json = false;
  bool detach = false, durable = true;
  std::optional<int> reconnect_attempts;
  std::optional<double> reconnect_deadline_s;
  std::optional<std::string> handle_text; // attach
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
  if (e.code == ac::errc::session_expired)
    return exit_session_expired;
  if (e.code == ac::errc::resume_refused)
    return exit_resume_refused;
  if (e.code == ac::errc::superseded)
    return exit_superseded;
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
                R"(,"name":)" + json_string(ac::errc_name(e.code)) + R"(,"error":)" +
                json_string(e.message) + R"(,"metadata":)" + e.metadata_json + "}");
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
    return usage("missing subcommand (exec, query or attach)");
  o.mode = args[0];
  if (o.mode != "exec" && o.mode != "query" && o.mode != "attach")
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
      if (o.mode == "attach" && !o.handle_text) {
        o.handle_text = a;
        continue;
      }
      if (!o.url.empty() || o.mode == "attach")
        return usage("unexpected argument '" + a + "'");
      o.url = a;
      continue;
    }
    if (a == "--json" || a == "--insecure") {
      (a == "--json" ? o.json : o.insecure) = true;
      continue;
    }
    if (a == "--no-durable" || (a == "--detach" && o.mode != "attach")) {
      (a == "--detach" ? o.detach : o.durable) = a == "--detach";
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
    } else if (a == "--reconnect-attempts") {
      if (v->empty() || v->size() > 6 || v->find_first_not_of("0123456789") != std::string::npos)
        return usage("--reconnect-attempts: expected a number of attempts");
      o.reconnect_attempts = std::stoi(*v);
    } else if (a == "--reconnect-deadline") {
      auto s = parse_seconds(*v);
      if (!s)
        return usage(a + ": expected a positive number of seconds");
      o.reconnect_deadline_s = s;
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
  if (o.url.empty() && o.mode != "attach")
    return usage("missing URL");
  if (o.mode == "exec" && o.commands.empty())
    return usage("exec needs commands after --");
  if (o.mode == "query" && !o.prompt)
    return usage("query needs --prompt");
  if (o.mode == "attach" && (!o.artifacts.empty() || !o.downloads.empty() || !o.secrets.empty()))
    return usage("attach takes no request fields (--artifacts, --download, --secret): the "
                 "request was sent by exec/query");
  if (o.detach && !o.durable)
    return usage("--detach needs a durable session (drop --no-durable)");
  // --detach answers no uploads itself: `attach` does, with its own --upload-to/--presign-cmd.
  if (!o.artifacts.empty() && !o.upload_to && !o.presign_cmd && !o.detach)
    return usage("--artifacts needs --upload-to or --presign-cmd");
  if ((o.upload_to || o.presign_cmd) && o.artifacts.empty() && o.mode != "attach")
    return usage("--upload-to/--presign-cmd need --artifacts");
  if ((o.upload_to || o.presign_cmd) && o.detach)
    return usage("--detach answers no uploads: give --upload-to/--presign-cmd to attach");
  if (o.upload_to && o.presign_cmd)
    return usage("use either --upload-to or --presign-cmd");
  if (!o.token)
    if (const char* t = std::getenv("AGENTRT_TOKEN"); t && *t)
      o.token = t;
  return 0;
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

// The request fields, limits and callbacks shared by exec, query and attach. --detach prints
// nothing of the request and answers no uploads (attach does).
ac::request_options request_options_for(const cli_options& o,
                                        agentrt::cli::put_receiver* receiver) {
  ac::request_options common;
  common.secrets_to_redact = o.secrets;
  common.downloadables = o.downloads;
  common.artifacts_dirs = o.artifacts;
  if (o.timeout_s)
    common.timeout = std::chrono::milliseconds(static_cast<long long>(*o.timeout_s * 1000));
  if (o.idle_timeout_s)
    common.idle_timeout =
        std::chrono::milliseconds(static_cast<long long>(*o.idle_timeout_s * 1000));
  if (o.detach) {
    if (!o.artifacts.empty())
      common.on_artifact_upload_request = [](const proto::artifact_upload_request_message&,
                                             ac::upload_reply reply) { reply(std::nullopt); };
    return common;
  }
  common.on_command_output = [&o](const proto::command_output_message& m) {
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
  if (!o.artifacts.empty() || o.mode == "attach") {
    common.on_artifact_upload_request =
        [&o, receiver](const proto::artifact_upload_request_message& m, ac::upload_reply reply) {
          if (o.json)
            emit(m);
          if (receiver)
            return reply(ac::upload_target{receiver->url_for(safe_name(m.filename)),
                                           "application/octet-stream"});
          // The presign command may be slow: never on the I/O thread.
          std::thread([cmd = *o.presign_cmd + " " + agentrt::cli::shell_quote(m.filename), reply] {
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
  return common;
}

// exec's exit status for a result (and its JSON line).
int exec_status(const ac::execute_result& result, bool json) {
  if (json) {
    proto::command_execution_result_message m;
    m.results = result.results;
    emit(m);
  }
  const int code = result.failed_exit_code();
  return code == 0 ? 0 : (code > 0 && code < 256 ? code : 1);
}

void print_query_result(const ac::query_result& result, bool json) {
  if (json) {
    proto::result_message m;
    m.data.type = result.type == ac::query_result::kind::structured_output
                      ? proto::result_data::kind::structured_output
                      : proto::result_data::kind::text;
    m.data.text = result.text;
    m.data.structured_output.json = result.structured_output_json;
    m.metadata.json = result.metadata_json;
    return emit(m);
  }
  std::lock_guard lock(out_mutex);
  std::cout << (result.type == ac::query_result::kind::structured_output
                    ? result.structured_output_json
                    : result.text)
            << "\n"
            << std::flush;
}

// exec/query --detach: send the request and detach at once (the two go out back to back, so
// nothing of the request is acknowledged: attaching with last_seq 0 gets all of it), then print
// the handle.
int run_detached(const cli_options& o, const ac::connect_options& connect,
                 const std::vector<proto::command>& commands, const ac::query_options& query) {
  ac::io_loop loop;
  auto [s, connect_error] = ac::async_session::connect(loop, connect).get();
  if (!s) {
    report(connect_error, o.json);
    return exit_code_for(connect_error);
  }
  if (!s->durable()) {
    const ac::client_error e{ac::make_error_code(ac::errc::not_durable),
                             "--detach needs a runtime with durable sessions; " + o.url +
                                 " did not make the session durable (nothing was sent)"};
    report(e, o.json);
    return exit_connection;
  }
  std::future<ac::client_error> request;
  if (o.mode == "exec") {
    ac::execute_options options;
    static_cast<ac::request_options&>(options) = query;
    request =
        std::async(std::launch::deferred, [f = s->execute_commands(commands, options)]() mutable {
          return f.get().second;
        });
  } else {
    request = std::async(std::launch::deferred,
                         [f = s->query(*o.prompt, query)]() mutable { return f.get().second; });
  }
  auto [handle, detach_error] = s->detach().get();
  const ac::client_error request_error = request.get();
  if (detach_error) {
    report(detach_error, o.json);
    return exit_code_for(detach_error);
  }
  // The request may have been refused before it started (e.g. busy): then there is nothing to
  // attach to.
  if (request_error && request_error.code != ac::errc::detached) {
    report(request_error, o.json);
    return exit_code_for(request_error);
  }
  handle.last_seq = 0; // nothing of the request was printed here
  std::lock_guard lock(out_mutex);
  if (o.json) {
    std::cout << agentrt::cli::handle_json(handle) << "\n";
  } else {
    std::cout << agentrt::cli::handle_shell(handle) << "\n# " << agentrt::cli::handle_json(handle)
              << "\n";
  }
  std::cout << std::flush;
  return 0;
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
  connect.durable = o.durable;
  if (o.reconnect_attempts)
    connect.reconnect.max_attempts = *o.reconnect_attempts;
  if (o.reconnect_deadline_s)
    connect.reconnect.deadline =
        std::chrono::milliseconds(static_cast<long long>(*o.reconnect_deadline_s * 1000));
  connect.on_connection_event = [](const ac::connection_event& e) {
    if (e.type != ac::connection_event::kind::resumed)
      return;
    std::lock_guard lock(out_mutex);
    std::cerr << "agentrt-client: connection lost (" << e.reason << "); resumed after "
              << e.attempts << (e.attempts == 1 ? " attempt, " : " attempts, ") << e.outage.count()
              << " ms\n"
              << std::flush;
  };

  std::optional<ac::session_handle> handle;
  if (o.mode == "attach") {
    std::string error;
    handle = o.handle_text ? agentrt::cli::parse_handle(*o.handle_text, error)
                           : agentrt::cli::handle_from_env(error);
    if (!handle)
      return usage(error);
  }

  ac::request_options common = request_options_for(o, receiver.get());
  std::vector<proto::command> commands;
  for (const auto& text : o.commands) {
    proto::command c;
    c.command = text;
    c.cwd = o.cwd;
    if (!o.env.empty())
      c.env = o.env;
    commands.push_back(std::move(c));
  }
  ac::query_options query;
  static_cast<ac::request_options&>(query) = common;
  query.system_prompt = o.system.value_or("");
  query.model = o.model.value_or("");
  if (!schema.empty())
    query.output_format_json_schema_str = schema;
  if (!o.detach) {
    query.on_assistant_message = [&](const proto::assistant_message& m) {
      if (o.json)
        return emit(m);
      std::lock_guard lock(out_mutex);
      for (const auto& block : m.text_blocks)
        std::cerr << block << "\n";
    };
    if (o.json)
      query.on_agent_event = [](const proto::agent_event_message& m) { emit(m); };
  }
  if (o.detach)
    return run_detached(o, connect, commands, query);

  std::unique_ptr<ac::session> session;
  if (handle) {
    ac::attach_options callbacks;
    static_cast<ac::request_callbacks&>(callbacks) = common;
    static_cast<ac::request_limits&>(callbacks) = common;
    callbacks.on_assistant_message = query.on_assistant_message;
    callbacks.on_agent_event = query.on_agent_event;
    // The request's artifact directories were registered by whoever sent it: any upload
    // announcement is answered when there is a way to.
    if (!receiver && !o.presign_cmd)
      callbacks.on_artifact_upload_request = nullptr;
    auto [s, attach_error] = ac::session::attach(connect, *handle, callbacks);
    if (!s) {
      report(attach_error, o.json);
      return exit_code_for(attach_error);
    }
    session = std::move(s);
  } else {
    auto [s, connect_error] = ac::session::connect(connect);
    if (!s) {
      report(connect_error, o.json);
      return exit_code_for(connect_error);
    }
    session = std::move(s);
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

  int status = 0;
  ac::client_error error;
  if (o.mode == "exec") {
    ac::execute_options options;
    static_cast<ac::request_options&>(options) = common;
    auto [result, e] = session->execute_commands(commands, options);
    error = e;
    if (!error)
      status = exec_status(result, o.json);
  } else if (o.mode == "query") {
    auto [result, e] = session->query(*o.prompt, query);
    error = e;
    if (!error)
      print_query_result(result, o.json);
  } else {
    auto [result, e] = session->collect();
    error = e;
    if (!error && result.type == ac::attach_result::kind::execute) {
      status = exec_status(result.execute, o.json);
    } else if (!error && result.type == ac::attach_result::kind::query) {
      print_query_result(result.query, o.json);
    } else if (!error) {
      std::lock_guard lock(out_mutex);
      std::cerr << "agentrt-client: no request was in flight in session " << handle->session_id
                << "\n";
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
