// replplan: the thin CLI. Argument parsing and output only; the work is in engine/, providers/ and ops/.
//
// Exit codes follow Terraform's so CI drift checks can use them:
//   validate: 0 valid, 1 invalid.
//   plan:     0 success, 1 error (bad file, or a host could not be read or something is unresolved:
//             the plan is incomplete);
//             with --detailed-exitcode: 0 no changes, 2 changes, 1 error.
//   apply, switchover, failover: 0 everything done (or nothing to do), 1 anything else.
//   watch:    runs until SIGINT/SIGTERM (or --max-failovers); 0, or 1 when its last failover failed.
//   status:   0 healthy, 1 degraded, 2 broken (for monitoring), 3 nothing could be checked.
//   import:   0 the file written (it validates), 1 anything else (nothing written).
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>

#include "cli/cli_support.h"
#include "cli/import_command.h"
#include "cli/etcd_flags.h"
#include "cli/move_commands.h"
#include "cli/status_command.h"
#include "engine/applier.h"
#include "engine/plan.h"
#include "engine/terminal_text.h"
#include "ops/apply.h"
#include "ops/status.h"
#include "providers/local/atomic_file.h"

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

// The protocol is ops::Apply's (ops/apply.h); here it is shown and asked on the terminal.
int RunApply(const ApplyOptions& options) {
  ops::LiveWorld live;
  ConsoleObserver observer;
  ops::ApplyRequest request;
  request.path = options.path;
  request.yes = options.yes;
  request.allow_destructive = options.allow_destructive;
  request.parallelism = options.parallelism;
  request.owner = OwnerName();
  request.diagnostic = PrintDiagnostic;
  request.warning = PrintWarning;
  request.on_read = ReadStatsPrinter(options.parallelism, options.verbose);
  request.show = [](const Plan& plan) { std::cout << RenderPlanText(plan); };
  request.approve = [](const Plan& plan) -> Result<bool> {
    if (!isatty(STDIN_FILENO)) {
      return Status::FailedPrecondition(
          "apply needs approval: run it on a terminal, or pass --yes (--auto-approve) in scripts");
    }
    return Confirm(plan);
  };
  request.executing = [](const Plan&) { std::cout << "\n"; };
  request.observer = &observer;
  ops::ApplyOutcome outcome = ops::Apply(live.world(), request);

  if (!outcome.refusal.ok()) return Fail(outcome.refusal);
  if (outcome.declined) {
    std::cout << "Apply cancelled: nothing was changed.\n";
    return kExitError;
  }
  if (outcome.report) {
    std::cout << "\n" << RenderApplyReport(*outcome.report);
    std::cout << TerminalSafeLines(outcome.promotion);
    if (outcome.after_repair_report) std::cout << "\n" << RenderApplyReport(*outcome.after_repair_report);
    if (!outcome.after_repair_note.empty()) std::cout << TerminalSafeLines(outcome.after_repair_note + "\n");
    const bool converged = outcome.after_repair && !outcome.after_repair->incomplete() &&
                           !outcome.after_repair->has_changes();
    if (converged) {
      std::cout << "Read again after the repair: every host reads and the cluster is as the file says.\n";
    } else if ((outcome.after_repair ? *outcome.after_repair : *outcome.plan).incomplete()) {
      std::cout << "Some hosts could not be read, or the plan left something unresolved; that was left as it is "
                   "(see the plan above).\n";
    }
  }
  return outcome.ok() ? kExitOk : kExitError;
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
  watch->add_option("file", watch_options.path, "topology TOML file (rewritten on a failover)");
  watch->add_option("--interval-ms", watch_options.interval_ms, "probe the primary this often")
      ->check(CLI::Range(10, 60000))
      ->capture_default_str();
  watch->add_option("--probe-timeout-ms", watch_options.probe_timeout_ms, "no answer to a probe within this: suspected")
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
  // The service side and maintenance pauses (cli/watch_service.h, docs/watch-service.md).
  watch->add_option("--log-format", watch_options.service.log_format, "text, or json: one event per line")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  watch->add_option("--http", watch_options.service.http, "serve /metrics (Prometheus) and /health on HOST:PORT");
  watch->add_option("--state-dir", watch_options.service.state_dir,
                    "where the pause record is read (default: beside the topology file)");
  cli::PauseCommand pause_options;
  CLI::App* watch_pause = watch->add_subcommand(
      "pause", "Maintenance: running watchers of FILE keep reporting but fail nothing over and fence nothing");
  CLI::App* watch_resume = watch->add_subcommand("resume", "End a pause: running watchers of FILE fail over again");
  for (CLI::App* sub : {watch_pause, watch_resume}) {
    sub->add_option("file", pause_options.path, "topology TOML file")->required();
    sub->add_option("--state-dir", pause_options.state_dir,
                    "where the pause record is written (default: beside the topology file)");
  }
  watch_pause->add_option("--reason", pause_options.reason, "why (shown in the watchers' logs)");
  for (CLI::App* sub : {watch_pause, watch_resume}) AddEtcdFlags(*sub, pause_options.etcd);
  AddEtcdFlags(*watch, watch_options.etcd);

  cli::StatusCommand status_options;
  CLI::App* status = app.add_subcommand(
      "status", "The cluster now: a line per server and app, its named conditions; exit 0 healthy, 1 degraded, 2 broken");
  status->add_option("file", status_options.path, "topology TOML file")->required();
  status->add_flag("--json", status_options.json, "print JSON (conditions: type, status, reason, message)");
  status->add_flag("--watch", status_options.watch, "refresh in place until interrupted (Ctrl-C)");
  status->add_option("--interval-ms", status_options.interval_ms, "with --watch: read again this often")
      ->check(CLI::Range(100, 3600000))
      ->capture_default_str();
  status->add_option("--parallelism", status_options.parallelism, "servers read at once")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();

  cli::ImportCommand import_options;
  CLI::App* import = app.add_subcommand(
      "import", "Write a topology file from a live cluster: discovered from HOST (its source up to the primary, "
                "the replicas); passwords as { env = ... } references, never values");
  import->add_option("hosts", import_options.hosts, "a server of the cluster (ADDRESS or ADDRESS:PORT); name more "
                                                    "when discovery cannot find one")
      ->required();
  import->add_option("-o,--out", import_options.out, "write the file here (default: stdout)");
  import->add_flag("--force", import_options.force, "replace --out when it exists");
  import->add_option("--app", import_options.apps, "NAME=HOST:ROOT: the Rails app NAME runs on the server HOST (name "
                     "or address) in ROOT, with ROOT/config/database.yml; its [[app]] is written commented out, to be "
                     "given its restart command (repeat the option per app and host)");
  import->add_option("--cluster-name", import_options.cluster_name, "[cluster] name (default: the primary's name)");
  import->add_option("--name", import_options.names, "NAME=ADDRESS: the server at ADDRESS is called NAME "
                                                     "(default: report_host, else the hostname); repeat it")
      ->allow_extra_args(false);
  import->add_option("--user", import_options.user, "SQL admin account to read the servers as")->capture_default_str();
  import->add_option("--password-env", import_options.password_env,
                     "environment variable holding its password; written as { env = NAME }")
      ->capture_default_str();
  import->add_option("--port", import_options.port, "SQL port of the hosts named")->capture_default_str();
  import->add_option("--replication-password-env", import_options.replication_password_env,
                     "written as the replication account's { env = NAME } (never read)")
      ->capture_default_str();
  import->add_option("--ssh-user", import_options.ssh_user, "SSH user")->capture_default_str();
  import->add_option("--ssh-port", import_options.ssh_port, "SSH port")->capture_default_str();
  import->add_option("--ssh-key", import_options.ssh_key, "SSH private key")->capture_default_str();
  import->add_option("--known-hosts", import_options.known_hosts, "known_hosts file")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 prints the message; its own codes (100+) are folded into 1 so that 2 keeps
    // meaning "changes" for --detailed-exitcode.
    // status keeps 1 and 2 for degraded and broken: a monitor's mistyped flag reads as unknown (3).
    const int code = app.exit(e);
    if (code != 0 && status->parsed()) return ops::kStatusUnknownExit;
    return code == 0 ? 0 : 1;
  }
  if (validate->parsed()) return RunValidate(validate_path);
  if (plan->parsed()) return RunPlan(plan_options);
  if (apply->parsed()) return RunApply(apply_options);
  if (switchover->parsed()) return RunSwitchoverCommand(switchover_options);
  if (failover->parsed()) return RunFailoverCommand(failover_options);
  if (watch_pause->parsed()) return cli::RunWatchPauseCommand(pause_options, /*pause=*/true);
  if (watch_resume->parsed()) return cli::RunWatchPauseCommand(pause_options, /*pause=*/false);
  if (watch->parsed() && watch_options.path.empty()) {
    std::cerr << "watch: FILE is required (replplan watch FILE, or watch pause|resume FILE)\n";
    return 1;
  }
  if (watch->parsed()) return RunWatchCommand(watch_options);
  if (status->parsed()) return cli::RunStatusCommand(status_options);
  if (import->parsed()) return cli::RunImportCommand(import_options);
  return 1;
}
