#include "providers/state_reader.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>
#include <vector>

namespace replplan {
namespace {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds Since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

// A Provider must not throw, but a bug in one must not take the whole read (and the process)
// down with it: the host is reported as unreadable instead.
RawServerState ReadOne(const Topology& topology, Provider& provider, const ServerSpec& server) {
  try {
    return provider.ReadState(topology, server);
  } catch (const std::exception& e) {
    RawServerState raw;
    raw.name = server.name;
    raw.sql_error = std::string("internal error while reading: ") + e.what();
    raw.ssh_error = raw.sql_error;
    return raw;
  }
}

}  // namespace

LiveState ReadLiveState(const Topology& topology, Provider& provider, int parallelism, ReadStats& stats) {
  const Clock::time_point started = Clock::now();
  const size_t count = topology.servers.size();
  std::vector<RawServerState> raws(count);
  std::vector<std::chrono::milliseconds> durations(count);
  // Workers take the next server index until none are left: at most `parallelism` in flight.
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < count; i = next++) {
      const Clock::time_point host_started = Clock::now();
      raws[i] = ReadOne(topology, provider, topology.servers[i]);
      raws[i].name = topology.servers[i].name;
      durations[i] = Since(host_started);
    }
  };
  const size_t threads = std::min(count, static_cast<size_t>(std::max(parallelism, 1)));
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (size_t t = 0; t < threads; ++t) pool.emplace_back(worker);
  for (std::thread& t : pool) t.join();

  LiveState live;
  for (size_t i = 0; i < count; ++i) {
    live.servers[raws[i].name] = ParseServerState(raws[i]);
    stats.per_host[raws[i].name] = durations[i];
  }
  stats.total = Since(started);
  return live;
}

LiveState ReadLiveState(const Topology& topology, Provider& provider, int parallelism) {
  ReadStats ignored;
  return ReadLiveState(topology, provider, parallelism, ignored);
}

}  // namespace replplan
