// The TLS client context for wss:// and https://: the system CA store or ca_file, and the
// certificate's name checked against host; verify = false accepts any certificate. Shared by the
// WebSocket transport and the files API client.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <asio/ssl/context.hpp>

namespace agentrt::client::detail {

std::shared_ptr<asio::ssl::context> make_tls_context(const std::string& host, bool verify,
                                                     const std::optional<std::string>& ca_file);

} // namespace agentrt::client::detail
