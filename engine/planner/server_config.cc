// Server config: the managed keys of config_file (edit-config), the static settings that need a
// restart (restart-server), the dynamic ones set with SET GLOBAL (set-global), and the primary's
// semi-sync, switched on in its own step once the replicas replicate.
#include <algorithm>
#include <map>
#include <optional>

#include "engine/desired_config.h"
#include "engine/mysql_errors.h"
#include "engine/planner/rules.h"
#include "engine/text.h"

namespace replplan::planner {
namespace {

// One static setting whose running value differs from the desired one.
struct RuntimeDiff {
  std::string key;
  std::string is;     // running value, for messages
  std::string wants;  // desired value, for messages
  bool running_without = false;  // OFF / empty: "runs without it"
};

// Static settings (log_bin, bind_address, log_slave_updates, report_host) need a restart; the others
// are set at runtime with SET GLOBAL (PlanRuntime).
std::vector<RuntimeDiff> StaticDiffs(const ServerSpec& spec, const ServerState& s,
                                     const std::vector<ConfigSetting>& desired) {
  std::vector<RuntimeDiff> out;
  if (s.log_bin != true) {
    out.push_back({"log_bin", OnOff(s.log_bin), spec.log_bin, true});
  } else if (!BinlogBasenameMatches(spec.log_bin, s.log_bin_basename, s.datadir)) {
    // A relative log_bin lives in the datadir (MariaDB's rule): "mysql-bin" is /var/lib/mysql/mysql-bin.
    std::string want_basename = WantedBinlogBasename(spec.log_bin, s.datadir);
    if (want_basename.empty()) want_basename = BinlogBasename(spec.log_bin) + " in the datadir";
    out.push_back({"log_bin_basename", OrEmpty(s.log_bin_basename), want_basename, false});
  }
  for (const ConfigSetting& c : desired) {
    if (c.key == "bind_address" && s.bind_address != c.value) {
      out.push_back({c.key, OrEmpty(s.bind_address), c.value, s.bind_address.empty()});
    }
  }
  if (s.log_slave_updates != true) {
    out.push_back({"log_slave_updates", OnOff(s.log_slave_updates), "ON", true});
  }
  if (s.report_host != spec.name) {
    out.push_back({"report_host", OrEmpty(s.report_host), spec.name, s.report_host.empty()});
  }
  return out;
}

// The config key behind a runtime difference (log_bin_basename comes from log_bin).
std::string ConfigKeyOf(const RuntimeDiff& d) { return d.key == "log_bin_basename" ? "log_bin" : d.key; }

// The primary side of semi-sync goes on only once the replicas replicate: before, every commit
// (the bootstrap's CREATE DATABASE first) would wait rpl_semi_sync_master_timeout for an ACK no
// replica can send yet. `from`: its running value.
void AddSemiSyncOn(const ServerSpec& spec, const std::string& from, PlanBuilder& plan) {
  Action& a = plan.Add(spec.name, ActionKind::kSetGlobal, "semi-sync", Slot::kSemiSyncOn);
  a.summary = "SET GLOBAL rpl_semi_sync_master_enabled=ON once the replicas replicate";
  a.reasons = {"semi_sync = true and " + spec.name + " is the primary (rpl_semi_sync_master_enabled is " + from + ")"};
  a.changes = {{"rpl_semi_sync_master_enabled", from, "ON", false}};
  SetGlobalArgs on;
  on.rpl_semi_sync_master_enabled = true;
  a.SetArgs(std::move(on));
}

// Where a key's effective value is set, in the plan's words: "config_file" for the server's own
// config_file, "/etc/mysql/mariadb.conf.d/50-server.cnf:28" for a file it includes.
std::string SetIn(const ServerSpec& spec, const ServerState& s, const std::string& key) {
  auto origin = s.config_origin.find(key);
  if (origin == s.config_origin.end() || origin->second.file.empty() || origin->second.file == spec.config_file) {
    return "config_file";
  }
  return origin->second.file + ":" + std::to_string(origin->second.line);
}

// The option file an edit of `key` goes to: the one whose setting the server reads last (it wins),
// or config_file when no file sets it.
std::string EditedFile(const ServerSpec& spec, const ServerState& s, const std::string& key) {
  auto origin = s.config_origin.find(key);
  bool included = origin != s.config_origin.end() && !origin->second.file.empty() && s.config.count(key) > 0;
  return included ? origin->second.file : spec.config_file;
}

// 2002/2003 while SSH shows mariadbd running (condition listening-elsewhere): it listens where its
// config said when it started, not where the file says (a wrong bind-address, an address change).
// The edit fixes the config; only a restart makes the running server read it. Not for a host that
// is down (SSH fails too), a server that is not running, or a refused login (1045): those are not
// a config the restart would fix.
bool PlanRestartListeningElsewhere(const ServerSpec& spec, const ServerState& s, PlanBuilder& plan) {
  const ProcessProbe& p = s.process;
  const bool connect_error = s.sql_errno == kErrConnLocal || s.sql_errno == kErrConnRefused;
  if (!s.ssh_ok || !connect_error || !p.probed || !p.error.empty() || !p.running) return false;
  Action& a = plan.Add(spec.name, ActionKind::kRestartServer);
  a.summary = "restart " + spec.name + " so it listens at " + spec.address + ":" + std::to_string(spec.mysql.port);
  a.reasons = {"mariadbd runs (pid " + p.pid + ") but SQL at " + spec.address + ":" + std::to_string(spec.mysql.port) +
               " fails (" + std::to_string(s.sql_errno) + "); it listens on " +
               (p.listening.empty() ? std::string("no TCP address") : Join(p.listening))};
  RestartServerArgs args;
  args.settings = {"bind_address"};
  a.SetArgs(std::move(args));
  return true;
}

// 2002/2003 while SSH shows no mariadbd process (condition server-down): the server is started
// with its restart command (the one restart-server runs: a restart of a stopped server starts it),
// restart-server with no settings. apply then reads it again and plans the rest (ops/apply.h). Not
// for a process that could not be checked ("unreachable" starts nothing), nor in a switchover or
// failover plan: a primary that went down is left down to be looked at (NoteRuntimeUnknown says how
// it comes back).
bool PlanStartServerDown(const PlanContext& ctx, const ServerSpec& spec, const ServerState& s, PlanBuilder& plan) {
  const ProcessProbe& p = s.process;
  const bool connect_error = s.sql_errno == kErrConnLocal || s.sql_errno == kErrConnRefused;
  if (!s.ssh_ok || !connect_error || !p.probed || !p.error.empty() || p.running) return false;
  if (ctx.change() || ctx.IsOldPrimary(spec)) return false;
  Action& a = plan.Add(spec.name, ActionKind::kRestartServer);
  a.summary = "start " + spec.name + " (its restart command): mariadbd is not running";
  a.reasons = {"SQL at " + spec.address + ":" + std::to_string(spec.mysql.port) + " fails (" +
               std::to_string(s.sql_errno) + ") and no mariadbd runs (" +
               (p.pid_file.empty() ? std::string("none found by name")
                                   : "pid file " + p.pid_file + " names no live process") +
               ")"};
  a.SetArgs(RestartServerArgs{});
  return true;
}

}  // namespace

bool PlanConfig(const PlanContext& ctx, const Server& server, PlanBuilder& plan) {
  const ServerSpec& spec = server.spec;
  const ServerState& s = server.state;
  HostReport& report = plan.report(server.index);
  std::vector<ConfigSetting> desired = DesiredConfig(ctx.topology, spec);
  std::vector<std::string> lacking;
  std::vector<std::string> already_right;
  Action edit;
  EditConfigArgs args{spec.config_file, {}};
  // Files edited, config_file first, each with its number of keys (the summary's words).
  std::vector<std::pair<std::string, size_t>> edited = {{spec.config_file, 0}};
  auto count_in = [&edited](const std::string& file) {
    auto it = std::find_if(edited.begin(), edited.end(), [&](const auto& e) { return e.first == file; });
    if (it == edited.end()) it = edited.insert(edited.end(), {file, 0});
    ++it->second;
  };
  for (const ConfigSetting& c : desired) {
    auto it = s.config.find(c.key);
    if (s.config_exists && it != s.config.end() && ConfigValueMatches(c, it->second)) {
      already_right.push_back(c.key);
      continue;
    }
    if (!s.config_exists || it == s.config.end()) {
      lacking.push_back(c.key);
      edit.changes.push_back({c.key, "", c.value, false});
      count_in(spec.config_file);
    } else {
      std::string from = it->second.empty() ? "(bare key)" : it->second;
      edit.changes.push_back({c.key, from, c.value, false});
      edit.reasons.push_back(SetIn(spec, s, c.key) + " has " + c.key + " = " + from + ", file wants " + c.value);
      std::string file = EditedFile(spec, s, c.key);
      if (file != spec.config_file) args.files[c.key] = file;
      count_in(file);
    }
  }
  if (s.ssh_ok && !edit.changes.empty()) {
    if (!s.config_exists) {
      edit.reasons.insert(edit.reasons.begin(), "config_file " + spec.config_file + " does not exist");
    } else if (!lacking.empty()) {
      // With includes, say that none of them sets the key either, so it goes into config_file.
      std::string where = s.config_files.size() > 1 ? " (set in none of the files it includes either: added to config_file)" : "";
      edit.reasons.insert(edit.reasons.begin(), "config_file lacks " + Join(lacking, ", ") + where);
    }
    Action& a = plan.Add(spec.name, ActionKind::kEditConfig);
    if (edited.front().second == 0) edited.erase(edited.begin());
    std::string counted;
    for (size_t i = 0; i < edited.size(); ++i) {
      const auto& [file, n] = edited[i];
      counted += (i == 0 ? "" : i + 1 == edited.size() ? " and " : ", ") + std::to_string(n) +
                 (i > 0 ? "" : n == 1 ? " key" : " keys") + " in " + file;
    }
    a.summary = "set " + counted;
    a.changes = std::move(edit.changes);
    a.reasons = std::move(edit.reasons);
    a.SetArgs(std::move(args));
  }
  if (!s.ssh_ok) report.notes.push_back("config_file unknown: " + s.ssh_error);
  for (const std::string& problem : s.config_problems) {
    report.notes.push_back("the configuration may be incomplete: " + problem);
  }
  if (!s.sql_ok) return PlanRestartListeningElsewhere(spec, s, plan) || PlanStartServerDown(ctx, spec, s, plan);

  std::vector<RuntimeDiff> diffs = StaticDiffs(spec, s, desired);
  if (diffs.empty()) return false;
  std::vector<std::string> keys;
  std::vector<std::string> reasons;
  bool needs_restart = false;  // some difference is not one [cluster] on_next_restart defers
  for (const RuntimeDiff& d : diffs) {
    std::string config_key = ConfigKeyOf(d);
    if (std::find(keys.begin(), keys.end(), config_key) == keys.end()) keys.push_back(config_key);
    if (!ctx.topology.cluster.DefersRestartFor(config_key)) needs_restart = true;
    bool pending = s.ssh_ok && std::find(already_right.begin(), already_right.end(), config_key) != already_right.end();
    if (pending) {
      auto it = s.config.find(config_key);
      reasons.push_back(SetIn(spec, s, config_key) + " has " + config_key + "=" + (it->second.empty() ? "ON" : it->second) +
                        " but the server runs " + (d.running_without ? "without it" : "with " + d.key + "=" + d.is) +
                        " (restart pending)");
    } else {
      reasons.push_back(d.key + " is " + d.is + ", file wants " + d.wants);
    }
  }
  if (!needs_restart) {
    // Only settings no failover depends on: they wait for whatever restarts the server next.
    report.notes.push_back(Join(keys, ", ") + " applies at next restart (on_next_restart in [cluster]; " +
                           Join(reasons, "; ") + "): no restart planned for it");
    return false;
  }
  if (!s.ssh_ok) {
    report.notes.push_back("a restart is needed to apply " + Join(keys, ", ") + " (" + Join(reasons, "; ") +
                           ") but cannot be planned while config_file is unknown");
    return false;
  }
  Action& a = plan.Add(spec.name, ActionKind::kRestartServer);
  a.summary = "restart " + spec.name + " to apply " + Join(keys, ", ");
  a.reasons = std::move(reasons);
  RestartServerArgs restart;
  restart.settings = keys;
  // Rolling (LinkRestarts): one server of the cluster down at a time, replicas first.
  const ServerSpec& primary = ctx.primary();
  const ReplicaChannel* channel = s.DefaultChannel();
  const bool replicates_from_primary = !server.is_primary && !ctx.change() && channel != nullptr &&
                                       channel->io_running == "Yes" && channel->sql_running &&
                                       channel->source_host == primary.address &&
                                       channel->source_port == primary.mysql.port;
  if (replicates_from_primary) {
    restart.catch_up_from = primary.name;
    restart.catch_up_timeout_s = ctx.topology.cluster.restart_catch_up_timeout;
    a.summary += ", then wait until it replicates and has caught up with " + primary.name;
    a.reasons.push_back("rolling restart: one server of the cluster down at a time; the next restart waits until " +
                        spec.name + " replicates from " + primary.name + " again and has applied what " +
                        primary.name + " had (at most " + std::to_string(restart.catch_up_timeout_s) +
                        " s, restart_catch_up_timeout in [cluster])");
  } else if (server.is_primary && !ctx.change() && Serving(ctx)) {
    a.reasons.push_back("rolling restart: the primary restarts after every replica's restart and catch-up, never "
                        "two servers of the cluster down at once");
    std::optional<Server> to = SwitchoverCandidate(ctx);
    if (to) {
      restart.switchover_to = to->spec.name;
      const ReplicaChannel* c = to->state.DefaultChannel();
      restart.switch_back = ctx.topology.cluster.primary_restart_switch_back;
      a.summary = "restart " + spec.name + " as a replica to apply " + Join(keys, ", ") + ": switch over to " +
                  to->spec.name + ", restart " + spec.name +
                  (restart.switch_back ? ", switch back to " + spec.name
                                       : "; " + to->spec.name + " stays the primary (primary_restart = \"stay\": " +
                                             ctx.topology.file + " is rewritten to name it)");
      a.reasons.push_back("a primary restarted in place stops every write for the restart; a switchover stops them "
                          "only for its window and loses no acknowledged write (fence, catch-up, promote)");
      a.reasons.push_back(to->spec.name + " is the most caught-up replica (" +
                          (c->seconds_behind ? std::to_string(*c->seconds_behind) + " s behind" : std::string("lag unknown")) +
                          "); " + spec.name + " is restarted while it replicates from " + to->spec.name +
                          (restart.switch_back ? ", then made the primary again so " + ctx.topology.file + " stays true"
                                               : ", and stays its replica"));
    } else {
      a.reasons.push_back("restarted in place: no replica can take over for the restart (none replicates from " +
                          spec.name + " with both threads running, or each has promotion = \"never\")");
    }
  }
  a.SetArgs(std::move(restart));
  return true;
}

// After a planned restart the server runs with the (fixed) file, so only what the file cannot say
// is left: the primary's read_only=OFF.
void PlanRuntime(const PlanContext& ctx, const Server& server, bool restart_planned, PlanBuilder& plan) {
  const ServerSpec& spec = server.spec;
  const ServerState& s = server.state;
  const ReplicationSpec& replication = ctx.topology.replication;
  bool is_primary = server.is_primary;
  bool promotion_sets_read_only = ReadOnlyIsPromotionStep(ctx, server);
  struct Dynamic {
    std::string key, is, wants;
  };
  std::vector<Dynamic> dynamics;
  auto num = [](const std::optional<uint32_t>& v) { return v ? std::to_string(*v) : std::string("(unknown)"); };
  std::string format = replication.binlog_format;
  dynamics.push_back({"server_id", restart_planned ? std::to_string(spec.server_id) : num(s.server_id),
                      std::to_string(spec.server_id)});
  const std::string running_format = Upper(s.binlog_format);
  dynamics.push_back({"binlog_format", restart_planned ? format : OrEmpty(running_format), format});
  if (replication.mode == ReplicationMode::kGtid) {
    dynamics.push_back({"gtid_strict_mode", restart_planned ? "ON" : OnOff(s.gtid_strict_mode), "ON"});
  }
  // A fence (old primary) or a promotion (new primary) sets read_only itself, in its own step.
  if (!promotion_sets_read_only) {
    dynamics.push_back({"read_only", restart_planned ? "ON" : OnOff(s.read_only), is_primary ? "OFF" : "ON"});
  }
  // Failover settings: the file has them too, so a restart makes them true. A variable the server
  // does not report (MySQL without the semi-sync plugins) is not planned: SET GLOBAL would fail.
  std::map<std::string, std::string> running = {
      {"slave_net_timeout", s.slave_net_timeout ? std::to_string(*s.slave_net_timeout) : ""},
      {"rpl_semi_sync_master_enabled", s.semi_sync_master_enabled ? OnOff(s.semi_sync_master_enabled) : ""},
      {"rpl_semi_sync_slave_enabled", s.semi_sync_slave_enabled ? OnOff(s.semi_sync_slave_enabled) : ""},
      {"rpl_semi_sync_master_wait_point", s.semi_sync_master_wait_point},
      {"rpl_semi_sync_master_timeout", s.semi_sync_master_timeout ? std::to_string(*s.semi_sync_master_timeout) : ""}};
  std::string semi_sync_on_from;  // set: AddSemiSyncOn, with the running value
  for (const ConfigSetting& c : FailoverSettings(ctx.topology)) {
    const std::string& is = running[c.key];
    if (c.key == "rpl_semi_sync_master_enabled") {
      // ON on the primary only, at runtime (engine/desired_config.cc says why); a promotion or a
      // fence sets it in its own step.
      if (promotion_sets_read_only || (is.empty() && !restart_planned)) continue;
      std::string wants = replication.semi_sync && is_primary ? "ON" : "OFF";
      std::string now = restart_planned ? c.value : is;
      if (wants == "ON" && now != "ON") {
        semi_sync_on_from = now;  // its own step, once the replicas replicate
        continue;
      }
      dynamics.push_back({c.key, now, wants});
      continue;
    }
    if (!restart_planned && !is.empty()) dynamics.push_back({c.key, is, c.value});
  }
  // The replica side of semi-sync is negotiated when the IO thread connects.
  const ReplicaChannel* channel = s.DefaultChannel();
  bool io_restart = channel != nullptr && channel->io_running != "No" && !channel->io_running.empty();

  std::vector<Change> changes;
  std::vector<std::string> reasons;
  SetGlobalArgs args;
  for (const Dynamic& d : dynamics) {
    if (d.is == d.wants) continue;
    changes.push_back({d.key, d.is, d.wants, false});
    // Values of the validated topology, in range; plan_check_test holds each one to its change.
    SetGlobalFromText(args, d.key, d.wants);
    if (d.key == "read_only" && is_primary) {
      reasons.push_back(restart_planned
                            ? "read_only will be ON after the restart (every config_file fences its server); " +
                                  spec.name + " is the primary, so it is made writable"
                            : "read_only is ON, but " + spec.name + " is the primary");
    } else if (d.key == "read_only") {
      reasons.push_back("read_only is " + d.is + ", but " + spec.name + " is a replica");
      const ServerState* p = ctx.primary_state();
      if (d.is == "OFF" && p != nullptr && p->sql_ok && p->read_only == false) {
        // Split brain: the fence is the remedy, on the server the file does not name primary only.
        reasons.push_back("split brain: " + ctx.primary().name + " accepts writes too; only " + spec.name +
                          " is fenced, " + ctx.primary().name + "'s data is not touched. No session is killed: "
                          "a client's next write there fails (1290), except from an account with the READ ONLY ADMIN "
                          "privilege (MariaDB has no super_read_only; root has it)");
      }
    } else {
      reasons.push_back(d.key + " is " + d.is + ", file wants " + d.wants);
    }
  }
  if (!semi_sync_on_from.empty()) AddSemiSyncOn(spec, semi_sync_on_from, plan);
  if (changes.empty()) return;
  std::vector<std::string> keys;
  for (const Change& c : changes) keys.push_back(c.key + "=" + c.to);
  Action& a = plan.Add(spec.name, ActionKind::kSetGlobal);
  a.summary = "SET GLOBAL " + Join(keys, ", ");
  if (io_restart && args.rpl_semi_sync_slave_enabled) {
    a.summary += " (restarts the replica IO thread: rpl_semi_sync_slave_enabled takes effect on reconnect)";
  }
  a.changes = std::move(changes);
  a.reasons = std::move(reasons);
  a.SetArgs(std::move(args));
}

}  // namespace replplan::planner
