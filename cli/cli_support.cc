#include "cli/cli_support.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "engine/terminal_text.h"
#include "ops/watch_events.h"
#include "ops/world.h"

namespace replplan::cli {

std::string UtcNowMillis() { return ops::IsoTimeMillis(std::chrono::system_clock::now()); }

std::string UtcNow() { return ops::UtcSeconds(std::chrono::system_clock::now()); }

void PrintDiagnostic(const Diagnostic& diagnostic) { std::cerr << diagnostic.ToString() << "\n"; }

void PrintWarning(const std::string& warning) { std::cerr << "replplan: warning: " << TerminalSafe(warning) << "\n"; }

ops::ReadSink ReadStatsPrinter(int parallelism, bool verbose) {
  if (!verbose) return nullptr;
  return [parallelism](const LiveState& live, const ReadStats& stats) {
    std::cerr << "read " << live.servers.size() << " servers in " << stats.total.count() << " ms (parallelism "
              << parallelism << ")";
    for (const auto& [host, ms] : stats.per_host) std::cerr << "; " << host << " " << ms.count() << " ms";
    std::cerr << "\n";
  };
}

Result<LoadedTopology> LoadTopology(const std::string& path) {
  ops::LiveWorld live;
  return ops::LoadTopology(*live.world().files, path, PrintDiagnostic);
}

Result<LoadedTopology> LoadTopologyForServers(const std::string& path) {
  ops::LiveWorld live;
  return ops::LoadTopologyForServers(live.world(), path, PrintDiagnostic, PrintWarning);
}

int Fail(const Status& status) {
  // Line feeds kept (a diagnostic's hint is on a line of its own); every other control character
  // in a server's or a file's text is shown, not acted on.
  std::cerr << "replplan: " << TerminalSafeLines(status.message()) << "\n";
  return kExitError;
}

Result<Plan> PlanLive(const LoadedTopology& loaded, int parallelism, bool verbose) {
  ops::LiveWorld live;
  return ops::PlanLive(live.world(), loaded, parallelism, ReadStatsPrinter(parallelism, verbose));
}

bool Confirm(const Plan& plan) {
  std::cout << "\nreplplan will carry out these " << plan.actions.size() << " actions on " << plan.hosts_changed()
            << " host" << (plan.hosts_changed() == 1 ? "" : "s") << ".\n  Only 'yes' will be accepted to approve.\n\n"
            << "  Enter a value: " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "yes";
}

std::string OwnerName(const std::string& command) {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  const char* user = std::getenv("USER");
  return "replplan " + command + " by " + (user != nullptr ? user : "uid " + std::to_string(getuid())) + "@" +
         host + " (pid " + std::to_string(getpid()) + ")";
}

std::string OwnerDescription(const std::string& command) { return OwnerName(command) + " since " + UtcNow(); }

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
