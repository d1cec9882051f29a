// client: one session per call, like the published Python client's query().
#include "agentrt/client/client.hpp"

namespace agentrt::client {

namespace {

// The request's own error wins; an end-of-session failure after a success is still reported,
// because it may mean that artifacts were not uploaded.
template <typename Result, typename Options, typename Call>
std::pair<Result, client_error> one_shot(const connect_options& connect, const Options& options,
                                         Call call) {
  auto [s, error] = session::connect(connect);
  if (!s)
    return {Result{}, std::move(error)};
  auto outcome = call(*s, options);
  if (!outcome.second || outcome.second.code == make_error_code(errc::runtime_error)) {
    if (auto end_error = s->end(); end_error && !outcome.second)
      outcome.second = std::move(end_error);
  }
  return outcome;
}

} // namespace

client::client(connect_options options) : options_(std::move(options)) {}

std::pair<query_result, client_error> client::query(const std::string& prompt,
                                                    const query_options& options) {
  return one_shot<query_result>(options_, options, [&prompt](session& s, const query_options& o) {
    return s.query(prompt, o);
  });
}

std::pair<execute_result, client_error>
client::execute_commands(const std::vector<protocol::command>& commands,
                         const execute_options& options) {
  return one_shot<execute_result>(options_, options,
                                  [&commands](session& s, const execute_options& o) {
                                    return s.execute_commands(commands, o);
                                  });
}

std::pair<std::unique_ptr<session>, client_error> client::connect() const {
  return session::connect(options_);
}

} // namespace agentrt::client
