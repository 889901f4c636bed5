// replplan: the thin CLI. Argument parsing and output only; the work is in engine/ and providers/.
//
// Exit codes follow Terraform's so CI drift checks can use them:
//   validate: 0 valid, 1 invalid.
//   plan:     0 success, 1 error (bad file, or a host could not be read: the plan is incomplete);
//             with --detailed-exitcode: 0 no changes, 2 changes, 1 error.
//   apply, switchover, failover: 0 everything done (or nothing to do), 1 anything else.
//   watch:    runs until SIGINT/SIGTERM (or --max-failovers); 0, or 1 when its last failover failed.
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

#include "cli/cli_support.h"
#include "cli/move_commands.h"
#include "engine/applier.h"
#include "engine/fingerprint.h"
#include "engine/plan.h"
#include "engine/plan_check.h"
#include "engine/plan_compare.h"
#include "engine/planner.h"
#include "engine/terminal_text.h"
#include "engine/topology_parser.h"
#include "providers/cluster_lock.h"
#include "providers/live_executor.h"
#include "providers/local/atomic_file.h"
#include "providers/primary_move.h"
#include "providers/provider.h"
#include "providers/state_reader.h"

namespace replplan {
namespace {

using namespace cli;

int RunValidate(const std::string& path) {
  auto loaded = LoadTopology(path);
  if (!loaded.ok()) return Fail(loaded.status());
  const Topology& topology = loaded->topology;
  std::cout << TerminalSafe(path + ": valid (cluster \"" + topology.cluster.name + "\", " +
                            std::to_string(topology.servers.size()) + " servers, primary " + topology.cluster.primary +
                            ")")
            << "\n";
  return kExitOk;
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
  auto loaded = LoadTopologyForServers(options.path);
  if (!loaded.ok()) return Fail(loaded.status());
  auto plan = PlanLive(*loaded, options.parallelism, options.verbose);
  if (!plan.ok()) return Fail(plan.status());
  auto json = PlanJsonText(*plan);
  if (!json.ok() && (options.json || !options.out.empty())) return Fail(json.status());
  if (!options.out.empty()) {
    // Not through a symlink someone planted at that name (replplan may run as root, --out in /tmp).
    Status saved = WriteFileAtomically(options.out, *json + "\n");
    if (!saved.ok()) return Fail(saved);
  }
  if (options.json) {
    std::cout << *json << "\n";
  } else {
    std::cout << RenderPlanText(*plan);
  }
  if (plan->incomplete()) return kExitError;
  if (options.detailed_exitcode && plan->has_changes()) return kExitChanges;
  return kExitOk;
}

struct ApplyOptions {
  std::string path;  // a topology file, or a plan saved with `plan --out`
  bool yes = false;
  bool allow_destructive = false;  // the only approval of destructive actions (--yes never is)
  int parallelism = 10;
  bool verbose = false;
};

bool LooksLikeSavedPlan(const std::string& path, const std::string& text) {
  if (std::filesystem::path(path).extension() == ".json") return true;
  size_t first = text.find_first_not_of(" \t\r\n");
  return first != std::string::npos && text[first] == '{';
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
  auto loaded = LoadTopologyForServers(topology_path);
  if (!loaded.ok()) return Fail(loaded.status());
  const Topology& topology = loaded->topology;
  // A plan that does not say which version of the file it was made from cannot be checked against
  // it: refused, not trusted.
  if (saved && saved->topology_digest.empty()) {
    return Fail(Status::FailedPrecondition(options.path + ": the plan records no topology_digest; make it with "
                                           "`replplan plan --out` and apply that"));
  }
  if (saved && saved->topology_digest != loaded->digest) {
    return Fail(Status::FailedPrecondition(options.path + ": " + topology_path +
                                           " has changed since this plan was saved; run `replplan plan` again"));
  }
  if (saved) {
    if (Status stale = CheckPlanAgainstTopology(*saved, topology); !stale.ok()) return Fail(stale.WithContext(options.path));
  }

  // Approval comes before the lock: the lock is what watch's fencing of a returning primary waits
  // for, and an operator may read a plan for minutes. Whatever was approved (a saved plan, or the
  // plan shown at the prompt) is then planned again under the lock and carried out only if that
  // plan is the approved one in everything it executes (engine/plan_compare.h): a saved plan is a
  // file anyone may edit, and the servers may have moved while the prompt waited.
  std::optional<Plan> approved;
  if (saved) {
    approved = std::move(*saved);
  } else {
    auto first = PlanLive(*loaded, options.parallelism, options.verbose);
    if (!first.ok()) return Fail(first.status());
    if (!first->has_changes()) {
      std::cout << RenderPlanText(*first);
      return first->incomplete() ? kExitError : kExitOk;
    }
    if (!options.yes) approved = std::move(*first);
  }
  if (approved && !options.yes) {
    std::cout << RenderPlanText(*approved);
    // Never asked: a "yes" could not approve it.
    if (Status refused = DestructiveApproval(*approved, options.allow_destructive, "apply"); !refused.ok()) {
      return Fail(refused);
    }
    if (!isatty(STDIN_FILENO)) {
      return Fail(Status::FailedPrecondition(
          "apply needs approval: run it on a terminal, or pass --yes (--auto-approve) in scripts"));
    }
    if (!Confirm(*approved)) {
      std::cout << "Apply cancelled: nothing was changed.\n";
      return kExitError;
    }
  }

  const std::string owner = OwnerDescription();
  ClusterLocks locks;
  if (Status locked = AcquireClusterLocks(locks, {&topology}, owner); !locked.ok()) return Fail(locked);
  // The file too may have changed while the prompt waited.
  if (approved) {
    auto reread = LoadTopology(topology_path);
    if (!reread.ok()) return Fail(reread.status());
    if (reread->digest != approved->topology_digest) {
      return Fail(Status::FailedPrecondition(topology_path + " changed while the plan waited for approval; nothing "
                                             "was changed; run apply again"));
    }
  }

  auto fresh = PlanLive(*loaded, options.parallelism, options.verbose);
  if (!fresh.ok()) return Fail(fresh.status());
  Plan plan = std::move(*fresh);
  // A switchover by an edited file: an apply of the previous version would lock on the live primary,
  // so that lock is held too (unless both hosts share the lock file, as on one machine).
  if (plan.primary_change && plan.primary_change->kind == "switchover") {
    Topology previous = topology;
    previous.cluster.primary = plan.primary_change->from;
    if (Status locked = AcquireClusterLocks(locks, {&previous}, owner); !locked.ok()) return Fail(locked);
  }
  if (approved) {
    const std::string what = saved ? options.path + ": the live servers have changed since this plan was made"
                                   : "the live servers changed while the plan waited for approval";
    const std::string again = saved ? "; run `replplan plan` again" : "; nothing was changed; run apply again";
    if (approved->state_fingerprint != plan.state_fingerprint) {
      return Fail(Status::FailedPrecondition(what + " (state " + approved->state_fingerprint + ", now " +
                                             plan.state_fingerprint + ")" + again));
    }
    std::vector<std::string> differences = ActionDifferences(approved->actions, plan.actions);
    if (!differences.empty()) {
      std::string lines;
      for (const std::string& d : differences) lines += "\n  " + d;
      return Fail(Status::FailedPrecondition(
          (saved ? options.path + ": the plan computed now under the lock is not the saved one"
                 : std::string("the plan computed now under the lock is not the approved one")) +
          "; nothing was changed" + again + ":" + lines));
    }
  }
  // What runs is the plan computed under the lock: the approved one in every field the executor
  // reads. With --yes nothing was printed yet.
  if (options.yes) std::cout << RenderPlanText(plan);
  if (!plan.has_changes()) return plan.incomplete() ? kExitError : kExitOk;
  if (Status refused = DestructiveApproval(plan, options.allow_destructive, "apply"); !refused.ok()) return Fail(refused);

  std::cout << "\n";
  std::unique_ptr<ActionExecutor> executor = MakeLiveExecutor(topology);
  ConsoleObserver observer;
  ApplyReport report = ApplyPlan(plan, *executor, options.parallelism, &observer);
  std::cout << "\n" << RenderApplyReport(report);
  std::cout << TerminalSafeLines(RecordApplyPromotion(plan, report, topology, topology_path, owner));
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
  apply->add_flag("--allow-destructive", apply_options.allow_destructive,
                  "approve the plan's DESTRUCTIVE actions (reseeds, RESET SLAVE ALL); never implied by --yes");
  apply->add_option("--parallelism", apply_options.parallelism, "servers read and changed at once")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  apply->add_flag("-v,--verbose", apply_options.verbose, "report read timings on stderr");

  MoveCommand switchover_options;
  CLI::App* switchover = app.add_subcommand(
      "switchover", "Planned move of the primary without loss: fence, catch up, promote, repoint; rewrites the file");
  switchover->add_option("file", switchover_options.path, "topology TOML file")->required();
  switchover->add_option("--to", switchover_options.to, "the server to promote")->required();
  switchover->add_flag("-y,--yes,--auto-approve", switchover_options.yes, "do not ask for confirmation");
  switchover->add_flag("--allow-destructive", switchover_options.allow_destructive,
                       "approve the plan's DESTRUCTIVE actions; never implied by --yes");
  switchover->add_option("--parallelism", switchover_options.parallelism, "servers read and changed at once")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();

  MoveCommand failover_options;
  CLI::App* failover = app.add_subcommand(
      "failover", "The primary is down: confirm with the replicas, promote the most advanced one (or finish a "
                  "failover interrupted after its promotion), repoint");
  failover->add_option("file", failover_options.path, "topology TOML file")->required();
  failover->add_flag("-y,--yes,--auto-approve", failover_options.yes, "do not ask for confirmation");
  failover->add_flag("--allow-destructive", failover_options.allow_destructive,
                     "approve the plan's DESTRUCTIVE actions; never implied by --yes");
  failover->add_option("--min-confirmations", failover_options.min_confirmations,
                       "replicas that must confirm they lost the primary (0: a strict majority of the declared "
                    "replicas, none still connected to it; N: at least N, even while others still see it: a "
                    "partition can then leave two primaries)")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();
  failover->add_option("--parallelism", failover_options.parallelism, "servers read and changed at once")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();

  WatchCommand watch_options;
  CLI::App* watch = app.add_subcommand(
      "watch", "Monitor the primary and fail over by itself (confirmed by the replicas; no flapping)");
  watch->add_option("file", watch_options.path, "topology TOML file (rewritten on a failover)")->required();
  watch->add_option("--interval-ms", watch_options.interval_ms, "probe the primary this often")
      ->check(CLI::Range(10, 60000))
      ->capture_default_str();
  watch->add_option("--probe-timeout-ms", watch_options.probe_timeout_ms, "a probe slower than this fails")
      ->check(CLI::Range(50, 60000))
      ->capture_default_str();
  watch->add_option("--block-period-s", watch_options.block_period_s, "no second failover within this time")
      ->check(CLI::Range(0, 86400 * 30))
      ->capture_default_str();
  watch->add_option("--min-confirmations", watch_options.min_confirmations,
                    "replicas that must confirm they lost the primary (0: a strict majority of the declared "
                    "replicas, none still connected to it; N: at least N, even while others still see it: a "
                    "partition can then leave two primaries)")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();
  watch->add_flag("--allow-destructive", watch_options.allow_destructive,
                  "let a failover's plan carry DESTRUCTIVE actions (otherwise such a failover is refused)");
  watch->add_option("--max-failovers", watch_options.max_failovers, "exit after this many failovers (0: never)")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();

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
  if (switchover->parsed()) return RunSwitchoverCommand(switchover_options);
  if (failover->parsed()) return RunFailoverCommand(failover_options);
  if (watch->parsed()) return RunWatchCommand(watch_options);
  return 1;
}
