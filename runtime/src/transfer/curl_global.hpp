// curl_global_init exactly once per process, before the first easy handle. libcurl 7.88's
// global init is not thread-safe, and pool threads may race to create the first handle.
#pragma once

namespace agentrt::runtime::transfer {

class curl_global {
public:
  // Initialises libcurl on the first call (thread-safe); false if that initialisation failed.
  // The matching curl_global_cleanup runs at process exit.
  static bool ensure() noexcept;

private:
  curl_global() noexcept;
  ~curl_global();
  curl_global(const curl_global&) = delete;
  curl_global& operator=(const curl_global&) = delete;

  bool ok_ = false;
};

} // namespace agentrt::runtime::transfer
