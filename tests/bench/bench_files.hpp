// The files API benchmark (bench_files.cpp): registered in main.cpp's plan as "files".
#pragma once

#include "bench_env.hpp"
#include "report.hpp"

namespace agentrt::bench {

// upload_bytes up and down through the runtime's files API (agentrt::client::files_client),
// against the same bytes through a plain loopback socket; throughput and the runtime's peak RSS.
measurement measure_files(bench_env& env);

} // namespace agentrt::bench
