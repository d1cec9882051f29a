// Durable-session script pieces (see durable_script.hpp).
#include "support/durable_script.hpp"

namespace agentrt::test::durable_script {

protocol::session_info_message info(bool resumed, std::uint64_t last_seq,
                                    std::uint64_t requests_received,
                                    std::optional<bool> request_in_flight) {
  protocol::session_info_message m;
  m.session_id = session_id;
  m.resume_token = resume_token;
  m.resumed = resumed;
  m.resume_window_s = 120;
  m.detached_window_s = 3600;
  m.last_seq = last_seq;
  m.requests_received = requests_received;
  m.request_in_flight = request_in_flight;
  return m;
}

scripted_peer::step out(const std::string& text, std::uint64_t seq) {
  return scripted_peer::send(protocol::command_output_message{"stdout", text, "cmd"}, seq);
}

scripted_peer::step exec_result(int exit_code, std::uint64_t seq) {
  protocol::command_execution_result_message r;
  r.results.push_back({"cmd", exit_code, std::nullopt, false});
  return scripted_peer::send(r, seq);
}

scripted_peer::connection durable(std::vector<scripted_peer::step> steps) {
  return {std::move(steps), durable_extension_header(), 0};
}

} // namespace agentrt::test::durable_script
