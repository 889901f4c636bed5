#include "cli/cli_support.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "engine/fingerprint.h"
#include "engine/planner.h"
#include "engine/terminal_text.h"
#include "engine/topology_parser.h"
#include "providers/local/secrets.h"
#include "providers/provider.h"
#include "providers/state_reader.h"

namespace replplan::cli {

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read " + path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string UtcNowMillis() {
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  std::ostringstream out;
  out << std::put_time(&tm, "%Y-%m-%dT%H:%M:%S") << "." << std::setw(3) << std::setfill('0') << millis << "Z";
  return out.str();
}

std::string UtcNow() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::ostringstream out;
  out << std::put_time(&tm, "%Y-%m-%dT%H:%M:%SZ");
  return out.str();
}



// Reads and validates the topology; prints every diagnostic on stderr.
Result<LoadedTopology> LoadTopology(const std::string& path) {
  auto text = ReadWholeFile(path);
  if (!text.ok()) return text.status();
  TopologyParse parse = ParseTopology(*text, path);
  if (!parse.ok()) {
    for (const Diagnostic& d : parse.errors) std::cerr << d.ToString() << "\n";
    return Status::InvalidArgument(std::to_string(parse.errors.size()) + " error" +
                                   (parse.errors.size() == 1 ? "" : "s") + " in " + path);
  }
  return LoadedTopology{std::move(parse.topology), ContentDigest(*text), path, *text};
}

Result<LoadedTopology> LoadTopologyForServers(const std::string& path) {
  auto loaded = LoadTopology(path);
  if (!loaded.ok()) return loaded;
  // The statements replplan reads and changes servers with are MariaDB's (SHOW ALL SLAVES STATUS,
  // gtid_slave_pos, mariadb-dump, semi-sync built in): against MySQL every read would fail, host by
  // host. Said once, up front, instead.
  if (loaded->topology.cluster.flavor == Flavor::kMySQL) {
    return Status::FailedPrecondition(path + ": flavor = \"mysql\" is validated but not driven yet: replplan reads "
                                      "and changes MariaDB servers only (its statements are MariaDB's); nothing "
                                      "was contacted");
  }
  // Every secret is resolved before any host is contacted: one that is missing would otherwise
  // surface host by host, after some hosts were already changed. All problems are said at once.
  SecretCheck secrets = CheckTopologySecrets(loaded->topology);
  for (const std::string& warning : secrets.warnings) {
    std::cerr << "replplan: warning: " << TerminalSafe(warning) << "\n";
  }
  if (!secrets.ok()) return secrets.ToStatus();
  return loaded;
}

int Fail(const Status& status) {
  // Line feeds kept (a diagnostic's hint is on a line of its own); every other control character
  // in a server's or a file's text is shown, not acted on.
  std::cerr << "replplan: " << TerminalSafeLines(status.message()) << "\n";
  return kExitError;
}

LiveState ReadLive(const Topology& topology, int parallelism, bool verbose) {
  std::unique_ptr<Provider> provider = MakeLiveProvider();
  ReadStats stats;
  LiveState live = ReadLiveState(topology, *provider, parallelism, stats);
  if (verbose) {
    std::cerr << "read " << live.servers.size() << " servers in " << stats.total.count() << " ms (parallelism "
              << parallelism << ")";
    for (const auto& [host, ms] : stats.per_host) std::cerr << "; " << host << " " << ms.count() << " ms";
    std::cerr << "\n";
  }
  return live;
}

Result<Plan> PlanLive(const LoadedTopology& loaded, int parallelism, bool verbose) {
  LiveState live = ReadLive(loaded.topology, parallelism, verbose);
  auto plan = BuildPlan(loaded.topology, live);
  if (!plan.ok()) return plan.status();
  plan->topology_digest = loaded.digest;
  plan->created_at = UtcNow();
  return plan;
}

bool Confirm(const Plan& plan) {
  std::cout << "\nreplplan will carry out these " << plan.actions.size() << " actions on " << plan.hosts_changed()
            << " host" << (plan.hosts_changed() == 1 ? "" : "s") << ".\n  Only 'yes' will be accepted to approve.\n\n"
            << "  Enter a value: " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "yes";
}

std::string OwnerDescription(const std::string& command) {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  const char* user = std::getenv("USER");
  return "replplan " + command + " by " + (user != nullptr ? user : "uid " + std::to_string(getuid())) + "@" +
         host + " (pid " + std::to_string(getpid()) + ") since " + UtcNow();
}

void ConsoleObserver::Line(const Action& action, const std::string& what) {
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  localtime_r(&seconds, &tm);
  std::lock_guard<std::mutex> lock(mutex_);
  std::cout << std::put_time(&tm, "%H:%M:%S") << "." << std::setw(3) << std::setfill('0') << millis
            << std::setfill(' ') << "  " << std::left << std::setw(10) << TerminalSafe(action.host) << " "
            << std::setw(34) << TerminalSafe(action.id) << std::right << " " << TerminalSafe(what) << std::endl;
}

}  // namespace replplan::cli
