// Benchmark helper for bench/seed_bench.sh: seeds one replica of a topology from its primary with
// replplan's SeedReplica (wiping the replica's databases), then prints the wall time and the
// process's peak RSS on stdout: seconds=S peak_rss_kb=K last="<final progress line>". Progress goes
// to stderr.
//
//   seed_bench TOPOLOGY.toml REPLICA
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "engine/topology_parser.h"
#include "providers/seeder.h"
#include "providers/server_session.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: seed_bench TOPOLOGY.toml REPLICA\n";
    return 2;
  }
  std::ifstream file(argv[1]);
  std::stringstream text;
  text << file.rdbuf();
  auto parsed = replplan::ParseTopology(text.str(), argv[1]);
  if (!parsed.ok()) {
    std::cerr << argv[1] << ": invalid topology (run replplan validate)\n";
    return 2;
  }
  const replplan::Topology& topology = parsed.topology;
  const replplan::ServerSpec* replica = topology.FindServer(argv[2]);
  if (replica == nullptr || topology.IsPrimary(replica->name)) {
    std::cerr << argv[2] << ": not a replica of " << argv[1] << "\n";
    return 2;
  }
  std::string last;
  const auto started = std::chrono::steady_clock::now();
  replplan::LiveSessionFactory sessions;
  replplan::Status status = replplan::SeedReplica(sessions, topology, topology.Primary(), *replica, true,
                                                  [&](const std::string& line) {
                                                    std::cerr << "\r" << line << std::flush;
                                                    last = line;
                                                  });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cerr << "\n";
  if (!status.ok()) {
    std::cerr << "seed failed: " << status.message() << "\n";
    return 1;
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  // The compressed byte count is the first number of the final line ("seeded X from Y: 12.3 MB, ...").
  std::printf("seconds=%.2f peak_rss_kb=%ld last=\"%s\"\n", seconds, usage.ru_maxrss, last.c_str());
  return 0;
}
