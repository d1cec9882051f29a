// The one-time libcurl initialisation holder.
#include "transfer/curl_global.hpp"

#include <curl/curl.h>

namespace agentrt::runtime::transfer {

curl_global::curl_global() noexcept : ok_(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK) {}

curl_global::~curl_global() {
  if (ok_)
    curl_global_cleanup();
}

bool curl_global::ensure() noexcept {
  // A function-local static: C++11 guarantees one initialisation even under concurrent calls.
  static curl_global instance;
  return instance.ok_;
}

} // namespace agentrt::runtime::transfer
