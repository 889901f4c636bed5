#include "engine/plan_check.h"

#include <algorithm>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "engine/desired_config.h"
#include "engine/grant_check.h"
#include "engine/gtid.h"
#include "engine/text.h"

namespace replplan {
namespace {

// One pass over the plan; the topology's names are indexed once, so a plan of 10,000 servers is
// checked in linear time.
class Checker {
 public:
  Checker(const Plan& plan, const Topology& topology) : plan_(plan), t_(topology) {
    for (const ServerSpec& s : t_.servers) servers_.emplace(s.name, &s);
    for (const AppSpec& app : t_.apps) apps_.emplace(app.name, &app);
  }

  std::vector<std::string> Run() {
    CheckHeader();
    for (const PlannedAction& pa : plan_.actions) {
      const Action& a = pa.action;
      action_ = &a;
      auto it = servers_.find(a.host);
      if (it == servers_.end()) {
        Stale("runs on " + a.host + ", not a server of " + t_.file);
        continue;
      }
      server_ = it->second;
      std::visit(*this, a.args);
    }
    return std::move(problems_);
  }

  void operator()(const EditConfigArgs& args) {
    if (args.config_file != server_->config_file) {
      Stale("edits " + args.config_file + ", but " + server_->name + "'s config_file is " + server_->config_file);
    }
    std::vector<ConfigSetting> desired = DesiredConfig(t_, *server_);
    for (const Change& change : action_->changes) {
      auto it = std::find_if(desired.begin(), desired.end(), [&](const ConfigSetting& c) { return c.key == change.key; });
      if (it == desired.end()) {
        Stale("sets '" + change.key + "', which replplan does not manage");
      } else if (!ConfigValueMatches(*it, change.to)) {
        Stale("sets " + change.key + " = " + change.to + ", but the topology wants " + it->value);
      }
    }
    // An included file is where a key is set today (the live state's to say, when the plan is made
    // again under the lock); here only that it edits a key the action changes.
    for (const auto& entry : args.files) {
      const std::string& key = entry.first;  // a plain name: clang 14 cannot capture a structured binding
      bool changed = std::any_of(action_->changes.begin(), action_->changes.end(),
                                 [&](const Change& c) { return c.key == key; });
      if (!changed) Stale("edits " + key + " in " + entry.second + ", but changes no " + key);
    }
  }
  void operator()(const RestartServerArgs&) {}
  void operator()(const SetGlobalArgs& args) {
    const ReplicationSpec& r = t_.replication;
    const bool primary = t_.IsPrimary(server_->name);
    std::vector<ConfigSetting> failover = FailoverSettings(t_);
    for (const auto& [key, value] : RenderParams(args)) {
      std::vector<std::string> allowed;
      if (key == "server_id") {
        allowed = {std::to_string(server_->server_id)};
      } else if (key == "binlog_format") {
        allowed = {r.binlog_format};
      } else if (key == "gtid_strict_mode") {
        if (r.mode == ReplicationMode::kGtid) allowed = {"ON"};
      } else if (key == "read_only") {
        allowed = {primary ? "OFF" : "ON"};
      } else if (key == "rpl_semi_sync_master_enabled") {
        // Off in every file; on at runtime on a semi-sync primary only.
        if (t_.cluster.flavor == Flavor::kMariaDB) allowed = {"OFF"};
        if (t_.cluster.flavor == Flavor::kMariaDB && r.semi_sync && primary) allowed.push_back("ON");
      } else {
        for (const ConfigSetting& c : failover) {
          if (c.key == key) allowed = {c.value};
        }
      }
      if (allowed.empty()) {
        Stale("sets " + key + ", which " + t_.file + " does not set on " + server_->name);
      } else if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
        Stale("sets " + key + "=" + value + ", but " + t_.file + " gives " + server_->name + " " + key + "=" +
              Join(allowed, " or "));
      }
    }
  }
  void operator()(const CreateReplicationUserArgs& args) { ReplicationAccount(args.user, args.host); }
  void operator()(const CreateDatabaseArgs& args) {
    auto db = std::find_if(t_.databases.begin(), t_.databases.end(),
                           [&](const DatabaseSpec& d) { return d.name == args.database; });
    if (db == t_.databases.end()) {
      Stale("names a database the topology does not declare");
    } else if (db->charset != args.charset || db->collation != args.collation) {
      Stale("creates " + args.database + " with " + args.charset + "/" + OrNone(args.collation) + ", the topology says " +
            db->charset + "/" + OrNone(db->collation));
    }
    OnPrimary();
  }
  void operator()(const CreateUserArgs& args) {
    const UserSpec* user = DeclaredUser(args.user, args.host);
    if (user == nullptr) return;
    std::vector<std::string> grants;
    for (const GrantSpec& g : user->grants) grants.push_back(g.text);
    if (grants != args.grants) {
      Stale("grants " + OrNone(Join(args.grants, "; ")) + ", the topology gives " + Quoted(*user) + " " +
            OrNone(Join(grants, "; ")));
    }
    // With the binary log off: the repair of a replica that lacks it (1133, 1396), never the primary.
    if (args.binlog_off) {
      NotOnPrimary();
    } else {
      OnPrimary();
    }
  }
  void operator()(const GrantPrivilegesArgs& args) {
    const ReplicationSpec& r = t_.replication;
    if (args.user == r.user && args.host == r.host) {
      ReplicationAccount(args.user, args.host);
      if (args.grants != std::vector<std::string>{ReplicationSlaveGrant().text} || !args.binlog_off) {
        Stale("grants " + OrNone(Join(args.grants, "; ")) + (args.binlog_off ? "" : " with binary logging on") +
              ", the replication account gets " + ReplicationSlaveGrant().text + " with binary logging off");
      }
      return;
    }
    const UserSpec* user = DeclaredUser(args.user, args.host);
    if (user == nullptr) return;
    for (const std::string& text : args.grants) {
      if (std::none_of(user->grants.begin(), user->grants.end(), [&](const GrantSpec& g) { return g.text == text; })) {
        Stale("grants '" + text + "', which the topology does not give " + Quoted(*user));
      }
    }
    if (args.binlog_off) Stale("grants to " + Quoted(*user) + " with binary logging off (only the replication account's grant is)");
    OnPrimary();
  }
  void operator()(const SeedReplicaArgs& args) {
    FromPrimary(args.source, "source");
    SameMode(args.mode);
    NotOnPrimary();
  }
  void operator()(const ChangeSourceArgs& args) {
    FromPrimary(args.source, "source");
    SameMode(args.mode);
    NotOnPrimary();
    const bool gtid = t_.replication.mode == ReplicationMode::kGtid;
    if (gtid == (args.use_gtid == UseGtid::kNo)) {
      Stale(std::string("has use_gtid ") + ToString(args.use_gtid) + " for " + ToString(t_.replication.mode) +
            " replication");
    }
    if (args.position == StartPosition::kFromBinlog && (!gtid || args.use_gtid != UseGtid::kSlavePos)) {
      Stale("rejoins from its binlog without MASTER_USE_GTID=slave_pos");
    }
    // Coordinates are written bare into CHANGE MASTER: a binlog file name and a position, or stale.
    if (args.position == StartPosition::kAt &&
        (gtid || args.log_pos == 0 || args.log_file.empty() ||
         args.log_file.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
             std::string::npos)) {
      Stale("starts at binlog coordinates '" + args.log_file + "':" + std::to_string(args.log_pos) +
            " that are not a file/position start");
    }
  }
  void operator()(const StartReplicaArgs&) { NotOnPrimary(); }
  // A named channel is forgotten only on the primary; the default one also on a replica whose
  // channel metadata is broken (made again by the change-source after it).
  void operator()(const ResetReplicaArgs& args) {
    if (!args.connection_name.empty()) OnPrimary();
  }
  // The file chooses this remedy (cluster.errant_transactions), on the primary, for a replica's
  // GTIDs: a plan saved before the choice changed is stale.
  void operator()(const InjectEmptyTransactionsArgs& args) {
    OnPrimary();
    OtherServer(args.replica, "replica");
    if (t_.cluster.errant_transactions != ErrantRemedy::kInjectEmpty || t_.replication.mode != ReplicationMode::kGtid) {
      Stale(std::string("injects empty transactions, but ") + t_.file + " sets cluster.errant_transactions = " +
            ToString(t_.cluster.errant_transactions) +
            (t_.replication.mode != ReplicationMode::kGtid ? " and file/position replication" : ""));
    }
    uint64_t total = 0;
    std::vector<uint32_t> domains;
    for (const GtidRange& r : args.gtids) {
      total += r.count();
      if (std::find(domains.begin(), domains.end(), r.domain) != domains.end()) {
        Stale("names domain " + std::to_string(r.domain) + " twice");
      }
      domains.push_back(r.domain);
    }
    if (args.gtids.empty() || total > kMaxInjectedTransactions) {
      Stale("injects " + std::to_string(total) + " empty transactions (1.." + std::to_string(kMaxInjectedTransactions) +
            " allowed)");
    }
  }
  void operator()(const FencePrimaryArgs&) { NotOnPrimary(); }
  void operator()(const WaitForCatchUpArgs& args) {
    OtherServer(args.source, "source");
    OnPrimary();
    const int timeout = std::max(5, t_.replication.switchover_max_lag);
    if (args.timeout_s != timeout) {
      Stale("waits " + std::to_string(args.timeout_s) + " s, the topology's switchover_max_lag gives " +
            std::to_string(timeout) + " s");
    }
  }
  void operator()(const ApplyRelayLogArgs& args) {
    OtherServer(args.source, "source");
    OnPrimary();
  }
  void operator()(const PromoteReplicaArgs& args) {
    OtherServer(args.source, "source");
    OnPrimary();
  }
  void operator()(const RewriteAppConfigArgs& args) {
    AppOnHost(args.app);
    FromPrimary(args.primary, "primary");
  }
  void operator()(const RestartAppArgs& args) { AppOnHost(args.app); }
  void operator()(const CheckHealthArgs& args) {
    const AppSpec* app = AppOnHost(args.app);
    if (app != nullptr && app->health.empty()) Stale("checks app " + app->name + ", which has no health URL");
  }
  // Only what the file allows: a skip leaves the replica differing from the primary.
  void operator()(const SkipTransactionArgs& args) {
    NotOnPrimary();
    if (t_.cluster.on_data_error != DataErrorRemedy::kSkip) {
      Stale("skips transaction " + (args.log_file.empty() ? args.gtid : args.log_file + ":" + std::to_string(args.log_pos)) +
            ", but " + t_.file + " does not allow it ([cluster] on_data_error = \"skip\")");
    }
    const bool gtid_mode = t_.replication.mode == ReplicationMode::kGtid;
    if (gtid_mode && !args.log_file.empty()) Stale("skips an event group by binlog position in GTID replication");
    if (!gtid_mode && args.log_file.empty()) Stale("skips a transaction by GTID in file/position replication");
    // Coordinates are checked against SHOW SLAVE STATUS, never written into a statement; still a
    // plain binlog name and a position, or stale.
    if (!args.log_file.empty() &&
        (args.log_pos == 0 ||
         args.log_file.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
             std::string::npos)) {
      Stale("skips the event group at '" + args.log_file + "':" + std::to_string(args.log_pos) +
            ", which is not a binlog position");
    }
    auto gtid = GtidPosition::Parse(args.gtid);
    if ((gtid_mode || !args.gtid.empty()) &&
        (!gtid.ok() || gtid->entries().size() != 1 || args.gtid.find(',') != std::string::npos)) {
      Stale("skips '" + args.gtid + "', which is not one GTID (domain-server_id-seq)");
    }
  }

 private:
  static std::string OrNone(const std::string& s) { return s.empty() ? "(none)" : s; }
  static std::string Quoted(const UserSpec& u) { return "'" + u.name + "'@'" + u.host + "'"; }

  void Stale(const std::string& why) { problems_.push_back("stale plan: " + action_->id + " " + why + " (plan again)"); }

  void CheckHeader() {
    auto mismatch = [&](const char* what, const std::string& plan, const std::string& file) {
      if (plan != file) {
        problems_.push_back(std::string("stale plan: its ") + what + " is '" + plan + "', " + t_.file + " says '" +
                            file + "' (plan again)");
      }
    };
    mismatch("cluster", plan_.cluster, t_.cluster.name);
    mismatch("primary", plan_.primary, t_.cluster.primary);
    mismatch("flavor", plan_.flavor, ToString(t_.cluster.flavor));
    mismatch("replication mode", plan_.replication_mode, ToString(t_.replication.mode));
  }

  void OnPrimary() {
    if (!t_.IsPrimary(server_->name)) {
      Stale("runs on " + server_->name + ", but " + t_.file + " makes " + t_.cluster.primary + " the primary");
    }
  }
  void NotOnPrimary() {
    if (t_.IsPrimary(server_->name)) Stale("runs on " + server_->name + ", which " + t_.file + " makes the primary");
  }
  void SameMode(ReplicationMode mode) {
    if (mode != t_.replication.mode) {
      Stale(std::string("is for ") + ToString(mode) + " replication, the topology says " + ToString(t_.replication.mode));
    }
  }
  // `name` must be a server of the file other than the action's host.
  const ServerSpec* OtherServer(const std::string& name, const std::string& key) {
    auto it = servers_.find(name);
    if (it == servers_.end() || it->second == server_) {
      Stale("has no valid " + key + " server ('" + name + "')");
      return nullptr;
    }
    return it->second;
  }
  void FromPrimary(const std::string& name, const std::string& key) {
    if (name != t_.cluster.primary) {
      Stale("names " + key + " " + name + ", but " + t_.file + " makes " + t_.cluster.primary + " the primary");
    }
  }
  void ReplicationAccount(const std::string& user, const std::string& host) {
    const ReplicationSpec& r = t_.replication;
    if (user != r.user || host != r.host) {
      Stale("is not for the replication account '" + r.user + "'@'" + r.host + "'");
    }
  }
  const UserSpec* DeclaredUser(const std::string& name, const std::string& host) {
    const ReplicationSpec& r = t_.replication;
    for (const UserSpec& u : t_.users) {
      if (u.name == name && u.host == host && !(name == r.user && host == r.host)) return &u;
    }
    Stale("names an account the topology does not declare");
    return nullptr;
  }
  const AppSpec* AppOnHost(const std::string& name) {
    auto it = apps_.find(name);
    if (it == apps_.end()) {
      Stale("names an app the topology does not declare");
      return nullptr;
    }
    const AppSpec& app = *it->second;
    if (std::find(app.hosts.begin(), app.hosts.end(), server_->name) == app.hosts.end()) {
      Stale("names app " + app.name + ", which does not run on " + server_->name);
      return nullptr;
    }
    return &app;
  }

  const Plan& plan_;
  const Topology& t_;
  std::unordered_map<std::string, const ServerSpec*> servers_;
  std::unordered_map<std::string, const AppSpec*> apps_;
  const Action* action_ = nullptr;
  const ServerSpec* server_ = nullptr;
  std::vector<std::string> problems_;
};

}  // namespace

Status CheckPlanAgainstTopology(const Plan& plan, const Topology& topology) {
  std::vector<std::string> problems = Checker(plan, topology).Run();
  if (problems.empty()) return Status::OK();
  return Status::FailedPrecondition(Join(problems, "\n"));
}

}  // namespace replplan
