// TLS client context setup.
#include "tls_context.hpp"

#include <asio/ssl.hpp>

namespace agentrt::client::detail {

std::shared_ptr<asio::ssl::context> make_tls_context(const std::string& host, bool verify,
                                                     const std::optional<std::string>& ca_file) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  std::error_code ec;
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3,
                   ec);
  if (verify) {
    if (ca_file)
      ctx->load_verify_file(*ca_file, ec);
    else
      ctx->set_default_verify_paths(ec);
    ctx->set_verify_mode(asio::ssl::verify_peer, ec);
    ctx->set_verify_callback(asio::ssl::host_name_verification(host), ec);
  } else {
    ctx->set_verify_mode(asio::ssl::verify_none, ec);
  }
  return ctx;
}

} // namespace agentrt::client::detail
