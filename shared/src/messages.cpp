// Wire names of the message types. The table is indexed by the variant's alternative index so
// that decode (which needs name -> alternative) and message_type_name share one source of truth.
#include "agentrt/protocol/messages.hpp"

#include "message_names.hpp"

namespace agentrt::protocol {
namespace detail {

namespace {
constexpr const char* names[] = {
    "invocation_message",
    "command_execution_message",
    "cancel_message",
    "artifact_upload_response_message",
    "end_session_message",
    "result_message",
    "command_execution_result_message",
    "error_message",
    "assistant_message",
    "command_output_message",
    "heartbeat_message",
    "artifact_upload_request_message",
    "end_session_confirm_message",
    "agent_event_message",
    "artifact_upload_result_message",
    "session_info_message",
    "gap_message",
    "detach_confirm_message",
    "ack_message",
    "detach_message",
    "artifact_upload_declined_message",
    "process_start_message",
    "process_stdin_message",
    "process_signal_message",
    "process_resize_message",
    "process_list_message",
    "process_wait_message",
    "process_started_message",
    "process_output_message",
    "process_stdin_ack_message",
    "process_ready_message",
    "process_exit_message",
    "process_list_result_message",
    "process_error_message",
};
static_assert(std::size(names) == std::variant_size_v<message>,
              "every message alternative needs a wire name, in variant order");
} // namespace

const char* message_type_name_at(std::size_t index) noexcept {
  return index < std::size(names) ? names[index] : "";
}

} // namespace detail

bool sent_by_client(const message& m) noexcept {
  return std::visit([](const auto& v) { return sent_by_client_v<std::decay_t<decltype(v)>>; }, m);
}

const char* message_type_name(const message& m) noexcept {
  // valueless_by_exception() gives variant_npos, which maps to "".
  return detail::message_type_name_at(m.index());
}

} // namespace agentrt::protocol
