// replplan: the thin CLI. Argument parsing and output only; the work is in engine/ and providers/.
//
// Exit codes follow Terraform's so CI drift checks can use them:
//   validate: 0 valid, 1 invalid.
//   plan:     0 success, 1 error (bad file, or a host could not be read: the plan is incomplete);
//             with --detailed-exitcode: 0 no changes, 2 changes, 1 error.
//   apply:    0 everything applied (or nothing to do), 1 anything else.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>

#include "engine/applier.h"
#include "engine/fingerprint.h"
#include "engine/plan.h"
#include "engine/planner.h"
#include "engine/topology_parser.h"
#include "providers/cluster_lock.h"
#include "providers/live_executor.h"
#include "providers/provider.h"
#include "providers/state_reader.h"

namespace replplan {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitChanges = 2;

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read " + path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string UtcNow() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::ostringstream out;
  out << std::put_time(&tm, "%Y-%m-%dT%H:%M:%SZ");
  return out.str();
}

struct LoadedTopology {
  Topology topology;
  std::string digest;  // of the file's bytes
};

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
  return LoadedTopology{std::move(parse.topology), ContentDigest(*text)};
}

int Fail(const Status& status) {
  std::cerr << "replplan: " << status.message() << "\n";
  return kExitError;
}

int RunValidate(const std::string& path) {
  auto loaded = LoadTopology(path);
  if (!loaded.ok()) return Fail(loaded.status());
  const Topology& topology = loaded->topology;
  std::cout << path << ": valid (cluster \"" << topology.cluster.name << "\", " << topology.servers.size()
            << " servers, primary " << topology.cluster.primary << ")\n";
  return kExitOk;
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

struct PlanCommand {
  std::string path;
  bool json = false;
  bool detailed_exitcode = false;
  int parallelism = 10;
  std::string out;
  bool verbose = false;
};

int RunPlan(const PlanCommand& options) {
  auto loaded = LoadTopology(options.path);
  if (!loaded.ok()) return Fail(loaded.status());
  auto plan = PlanLive(*loaded, options.parallelism, options.verbose);
  if (!plan.ok()) return Fail(plan.status());
  if (!options.out.empty()) {
    std::ofstream out(options.out);
    out << PlanToJson(*plan).dump(2) << "\n";
    if (!out) return Fail(Status::Unavailable("cannot write " + options.out));
  }
  if (options.json) {
    std::cout << PlanToJson(*plan).dump(2) << "\n";
  } else {
    std::cout << RenderPlanText(*plan);
  }
  if (plan->incomplete()) return kExitError;
  if (options.detailed_exitcode && plan->has_changes()) return kExitChanges;
  return kExitOk;
}

// Prints each action's start, progress and end with its host and duration, one line each, so a log
// of an apply reads as a timeline.
class ConsoleObserver : public ApplyObserver {
 public:
  void Started(const Action& action) override { Line(action, "started"); }
  void Progress(const Action& action, const std::string& line) override { Line(action, line); }
  void Finished(const Action& action, const ActionOutcome& outcome) override {
    std::string ms = std::to_string(outcome.duration.count()) + " ms";
    if (outcome.state == ActionOutcome::State::kDone) {
      Line(action, "done in " + ms);
    } else {
      Line(action, "FAILED after " + ms + ": " + outcome.status.message());
    }
  }

 private:
  void Line(const Action& action, const std::string& what) {
    auto now = std::chrono::system_clock::now();
    std::time_t seconds = std::chrono::system_clock::to_time_t(now);
    auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    localtime_r(&seconds, &tm);
    std::lock_guard<std::mutex> lock(mutex_);
    std::cout << std::put_time(&tm, "%H:%M:%S") << "." << std::setw(3) << std::setfill('0') << millis
              << std::setfill(' ') << "  " << std::left << std::setw(10) << action.host << " " << std::setw(34)
              << action.id << std::right << " " << what << std::endl;
  }
  std::mutex mutex_;
};

struct ApplyOptions {
  std::string path;  // a topology file, or a plan saved with `plan --out`
  bool yes = false;
  int parallelism = 10;
  bool verbose = false;
};

bool LooksLikeSavedPlan(const std::string& path, const std::string& text) {
  if (std::filesystem::path(path).extension() == ".json") return true;
  size_t first = text.find_first_not_of(" \t\r\n");
  return first != std::string::npos && text[first] == '{';
}

// Asks on the terminal; anything but "yes" declines.
bool Confirm(const Plan& plan) {
  std::cout << "\nreplplan will carry out these " << plan.actions.size() << " actions on " << plan.hosts_changed()
            << " host" << (plan.hosts_changed() == 1 ? "" : "s") << ".\n  Only 'yes' will be accepted to approve.\n\n"
            << "  Enter a value: " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "yes";
}

std::string OwnerDescription() {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  const char* user = std::getenv("USER");
  return std::string("replplan apply by ") + (user != nullptr ? user : "uid " + std::to_string(getuid())) + "@" +
         host + " (pid " + std::to_string(getpid()) + ") since " + UtcNow();
}

int RunApply(const ApplyOptions& options) {
  auto text = ReadWholeFile(options.path);
  if (!text.ok()) return Fail(text.status());

  // A saved plan names its topology; the topology says where the servers are and how to reach them.
  std::optional<Plan> saved;
  std::string topology_path = options.path;
  if (LooksLikeSavedPlan(options.path, *text)) {
    nlohmann::json json;
    try {
      json = nlohmann::json::parse(*text);
    } catch (const nlohmann::json::exception& e) {
      return Fail(Status::InvalidArgument(options.path + ": not a plan: " + e.what()));
    }
    auto plan = PlanFromJson(json);
    if (!plan.ok()) return Fail(plan.status().WithContext(options.path));
    saved = std::move(*plan);
    topology_path = saved->topology_file;
  }
  auto loaded = LoadTopology(topology_path);
  if (!loaded.ok()) return Fail(loaded.status());
  const Topology& topology = loaded->topology;
  if (saved && !saved->topology_digest.empty() && saved->topology_digest != loaded->digest) {
    return Fail(Status::FailedPrecondition(options.path + ": " + topology_path +
                                           " has changed since this plan was saved; run `replplan plan` again"));
  }

  // Nothing to do needs no lock: a no-op apply costs one plan. Anything to do is planned again
  // under the lock, so no other apply can change the servers between our read and our writes.
  if (!saved) {
    auto first = PlanLive(*loaded, options.parallelism, options.verbose);
    if (!first.ok()) return Fail(first.status());
    if (!first->has_changes()) {
      std::cout << RenderPlanText(*first);
      return first->incomplete() ? kExitError : kExitOk;
    }
  }
  auto lock = AcquireClusterLock(topology, OwnerDescription());
  if (!lock.ok()) return Fail(lock.status());

  auto fresh = PlanLive(*loaded, options.parallelism, options.verbose);
  if (!fresh.ok()) return Fail(fresh.status());
  Plan plan = std::move(*fresh);
  if (saved) {
    if (saved->state_fingerprint != plan.state_fingerprint) {
      return Fail(Status::FailedPrecondition(
          options.path + ": the live servers have changed since this plan was made (state " +
          saved->state_fingerprint + ", now " + plan.state_fingerprint + "); run `replplan plan` again"));
    }
    // Exactly the reviewed plan is applied, not the one just computed (they agree on the state).
    std::string digest = plan.topology_digest;
    plan = std::move(*saved);
    plan.topology_digest = digest;
  }

  std::cout << RenderPlanText(plan);
  if (!plan.has_changes()) return plan.incomplete() ? kExitError : kExitOk;

  if (!options.yes) {
    if (!isatty(STDIN_FILENO)) {
      return Fail(Status::FailedPrecondition(
          "apply needs approval: run it on a terminal, or pass --yes (--auto-approve) in scripts"));
    }
    if (!Confirm(plan)) {
      std::cout << "Apply cancelled: nothing was changed.\n";
      return kExitError;
    }
  }

  std::cout << "\n";
  std::unique_ptr<ActionExecutor> executor = MakeLiveExecutor(topology);
  ConsoleObserver observer;
  ApplyReport report = ApplyPlan(plan, *executor, options.parallelism, &observer);
  std::cout << "\n" << RenderApplyReport(report);
  if (plan.incomplete()) {
    std::cout << "Some hosts could not be read; they were left as they are (see the plan above).\n";
    return kExitError;
  }
  return report.ok() ? kExitOk : kExitError;
}

}  // namespace
}  // namespace replplan

int main(int argc, char** argv) {
  using namespace replplan;
  CLI::App app{"replplan: keep a MySQL/MariaDB replication topology as a reviewed TOML file says"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "replplan 0.1.0");

  std::string validate_path;
  CLI::App* validate = app.add_subcommand("validate", "Check a topology file; errors as FILE:LINE:COL");
  validate->add_option("file", validate_path, "topology TOML file")->required();

  PlanCommand plan_options;
  CLI::App* plan = app.add_subcommand("plan", "Read the live servers and print what apply would change");
  plan->add_option("file", plan_options.path, "topology TOML file")->required();
  plan->add_flag("--json", plan_options.json, "print the plan as JSON (schemas/plan.schema.json)");
  plan->add_flag("--detailed-exitcode", plan_options.detailed_exitcode, "exit 0 no changes, 2 changes, 1 error");
  plan->add_option("--parallelism", plan_options.parallelism, "servers read at once")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  plan->add_option("--out", plan_options.out, "also save the plan as JSON, for `replplan apply PLAN.json`");
  plan->add_flag("-v,--verbose", plan_options.verbose, "report read timings on stderr");

  ApplyOptions apply_options;
  CLI::App* apply = app.add_subcommand("apply", "Plan, confirm, and carry the plan out");
  apply->add_option("file", apply_options.path, "topology TOML file, or a plan saved with `plan --out`")
      ->required();
  apply->add_flag("-y,--yes,--auto-approve", apply_options.yes, "do not ask for confirmation (scripts, CI)");
  apply->add_option("--parallelism", apply_options.parallelism, "servers read and changed at once")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  apply->add_flag("-v,--verbose", apply_options.verbose, "report read timings on stderr");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 prints the message; its own codes (100+) are folded into 1 so that 2 keeps
    // meaning "changes" for --detailed-exitcode.
    return app.exit(e) == 0 ? 0 : 1;
  }
  if (validate->parsed()) return RunValidate(validate_path);
  if (plan->parsed()) return RunPlan(plan_options);
  if (apply->parsed()) return RunApply(apply_options);
  return 1;
}
