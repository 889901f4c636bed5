// Accounts and the primary's objects: the replication account on every server, and the declared
// databases, users and grants on the primary, from where they replicate.
#include "engine/grant_check.h"
#include "engine/planner/rules.h"
#include "engine/text.h"

namespace replplan::planner {

// Every server gets the replication account, created with binary logging off: each one may be
// promoted, and a statement that replicated would collide with the replicas' own copy.
void PlanReplicationUser(const PlanContext& ctx, const Server& server, PlanBuilder& plan) {
  const ServerSpec& spec = server.spec;
  const ReplicationSpec& r = ctx.topology.replication;
  std::string account = Account(r.user, r.host);
  GrantSpec grant = ReplicationSlaveGrant();
  const LiveUser* user = server.state.FindUser(r.user, r.host);
  if (user == nullptr) {
    Action& a = plan.Add(spec.name, ActionKind::kCreateReplicationUser);
    a.summary = "create " + account + " with REPLICATION SLAVE (binary log off)";
    a.reasons = {account + " does not exist on " + spec.name};
    a.changes = {{"user", "", account, false}, {"password", "", "", true}, {"grant", "", grant.text, false}};
    a.SetArgs(CreateReplicationUserArgs{r.user, r.host});
  } else if (!GrantsCover(user->grants, grant)) {
    Action& a = plan.Add(spec.name, ActionKind::kGrantPrivileges, r.user + "@" + r.host, Slot::kReplicationGrant);
    a.summary = "grant " + grant.text + " to " + account + " (binary log off)";
    a.reasons = {account + " exists but lacks " + grant.text};
    a.changes = {{"grant", "", grant.text, false}};
    a.SetArgs(GrantPrivilegesArgs{r.user, r.host, {grant.text}, /*binlog_off=*/true});
  }
}

// Databases and application users are created on the primary only: they replicate. A database
// whose charset or collation differs is not converted (a manual decision); the report says so.
void PlanPrimaryObjects(const PlanContext& ctx, const Server& server, PlanBuilder& plan) {
  const ServerSpec& spec = server.spec;
  const ServerState& s = server.state;
  HostReport& report = plan.report(server.index);
  for (const DatabaseSpec& db : ctx.topology.databases) {
    const LiveDatabase* live = s.FindDatabase(db.name);
    if (live == nullptr) {
      Action& a = plan.Add(spec.name, ActionKind::kCreateDatabase, db.name);
      a.summary = "create database " + db.name + " (" + db.charset +
                  (db.collation.empty() ? "" : ", " + db.collation) + ")";
      a.reasons = {"database " + db.name + " does not exist on " + spec.name};
      a.changes = {{"database", "", db.name, false}, {"charset", "", db.charset, false}};
      if (!db.collation.empty()) a.changes.push_back({"collation", "", db.collation, false});
      a.SetArgs(CreateDatabaseArgs{db.name, db.charset, db.collation});
      continue;
    }
    if (Lower(live->charset) != Lower(db.charset)) {
      report.notes.push_back("database " + db.name + " has charset " + live->charset + ", file wants " +
                             db.charset + ": not converted (converting existing tables is a manual decision)");
    } else if (!db.collation.empty() && Lower(live->collation) != Lower(db.collation)) {
      report.notes.push_back("database " + db.name + " has collation " + live->collation + ", file wants " +
                             db.collation + ": not converted (a manual decision)");
    }
  }
  const ReplicationSpec& r = ctx.topology.replication;
  for (const UserSpec& u : ctx.topology.users) {
    std::string account = Account(u.name, u.host);
    if (u.name == r.user && u.host == r.host) {
      report.notes.push_back(account + " is the replication account; its [[user]] grants are not managed");
      continue;
    }
    std::vector<std::string> grant_texts;
    for (const GrantSpec& g : u.grants) grant_texts.push_back(g.text);
    const LiveUser* live = s.FindUser(u.name, u.host);
    if (live == nullptr) {
      Action& a = plan.Add(spec.name, ActionKind::kCreateUser, u.name + "@" + u.host);
      a.summary = "create " + account + " with " + std::to_string(u.grants.size()) +
                  (u.grants.size() == 1 ? " grant" : " grants");
      a.reasons = {account + " does not exist on " + spec.name};
      a.changes = {{"user", "", account, false}, {"password", "", "", true}};
      for (const std::string& g : grant_texts) a.changes.push_back({"grant", "", g, false});
      a.SetArgs(CreateUserArgs{u.name, u.host, std::move(grant_texts)});
      continue;
    }
    std::vector<std::string> missing;
    std::vector<std::string> reasons;
    for (const GrantSpec& g : u.grants) {
      std::vector<std::string> lacks = MissingPrivileges(live->grants, g);
      if (lacks.empty()) continue;
      missing.push_back(g.text);
      reasons.push_back(account + " lacks " + Join(lacks, ", ") + " for " + g.text);
    }
    if (missing.empty()) continue;
    Action& a = plan.Add(spec.name, ActionKind::kGrantPrivileges, u.name + "@" + u.host);
    a.summary = "grant " + Join(missing, "; ") + " to " + account;
    a.reasons = std::move(reasons);
    for (const std::string& g : missing) a.changes.push_back({"grant", "", g, false});
    a.SetArgs(GrantPrivilegesArgs{u.name, u.host, std::move(missing), /*binlog_off=*/false});
  }
}

}  // namespace replplan::planner
