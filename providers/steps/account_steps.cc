// Account and database steps: the replication account on every node (binary log off), declared
// databases and users on the primary (they replicate), and the grants a declared user lacks.
#include <algorithm>
#include <string>
#include <variant>
#include <vector>

#include "engine/grant_check.h"
#include "engine/native_password.h"
#include "engine/sql_quote.h"
#include "providers/steps/steps.h"

namespace replplan {
namespace steps {
namespace {

Result<bool> AccountExists(const StepContext& ctx, const std::string& user, const std::string& host_part) {
  auto rows = ctx.session.Query(
      "SELECT COUNT(*) AS n FROM mysql.user WHERE user = " + QuoteString(user) + " AND host = " + QuoteString(host_part),
      {}, "looking up " + QuoteAccount(user, host_part));
  if (!rows.ok()) return rows.status();
  return !rows->empty() && Field(rows->front(), "n") != "0";
}

Result<std::vector<std::string>> GrantsOf(const StepContext& ctx, const std::string& account) {
  auto rows = ctx.session.Query("SHOW GRANTS FOR " + account);
  if (!rows.ok()) return rows.status();
  std::vector<std::string> lines;
  for (const Row& row : *rows) {
    if (!row.empty()) lines.push_back(row.begin()->second);
  }
  return lines;
}

// MariaDB writes CREATE USER ... IDENTIFIED BY 'text' into the binlog as it was sent, and every
// statement as sent into the general and slow query logs and the process list: a password in
// clear would reach all of them (and every backup of a log). The hash is computed here
// (engine/native_password.h) and only the hash is sent, as mysql.global_priv holds it on every
// node anyway. MySQL rewrites the statement itself.
std::string IdentifiedByHash(const StepContext& ctx, const Secret& password) {
  if (ctx.topology.cluster.flavor == Flavor::kMySQL) return "IDENTIFIED BY " + QuoteString(password.reveal());
  return "IDENTIFIED BY PASSWORD " + QuoteString(MysqlNativePasswordHash(password.reveal()));
}

// The grants of `wanted` the account lacks.
Status GrantMissing(const StepContext& ctx, const std::string& account, const std::vector<const GrantSpec*>& wanted) {
  auto have = GrantsOf(ctx, account);
  if (!have.ok()) return have.status();
  for (const GrantSpec* g : wanted) {
    if (GrantsCover(*have, *g)) continue;
    Status granted = ctx.session.Execute("GRANT " + g->text + " TO " + account);
    if (!granted.ok()) return granted;
  }
  return Status::OK();
}

// A declared [[user]]: created on the primary with normal binary logging, so it replicates. Only
// the grants the account lacks are given; a grant-privileges action without the account fails
// rather than let GRANT create a user without a password.
Status EnsureDeclaredUser(const StepContext& ctx, const Action& action, bool create) {
  // create-user's account, or grant-privileges' with the grants it lacks.
  const auto* creating = std::get_if<CreateUserArgs>(&action.args);
  const auto* granting = std::get_if<GrantPrivilegesArgs>(&action.args);
  const std::string& name = creating ? creating->user : granting->user;
  const std::string& host_part = creating ? creating->host : granting->host;
  const UserSpec* user = nullptr;
  for (const UserSpec& u : ctx.topology.users) {
    if (u.name == name && u.host == host_part) user = &u;
  }
  if (user == nullptr) return Status::InvalidArgument(StalePlan(action, "names an account the topology does not declare"));
  const std::string account = QuoteAccount(user->name, user->host);

  // Which grants: all of the user's (create), or those the plan names, each one of the user's.
  std::vector<const GrantSpec*> wanted;
  if (create) {
    for (const GrantSpec& g : user->grants) wanted.push_back(&g);
  } else {
    for (const std::string& text : granting->grants) {
      auto it = std::find_if(user->grants.begin(), user->grants.end(), [&](const GrantSpec& g) { return g.text == text; });
      if (it == user->grants.end()) {
        return Status::InvalidArgument(StalePlan(action, "grants '" + text + "', which the topology does not give " + account));
      }
      wanted.push_back(&*it);
    }
  }

  auto exists = AccountExists(ctx, user->name, user->host);
  if (!exists.ok()) return exists.status();
  if (!*exists) {
    if (!create) return Status::FailedPrecondition(account + " does not exist on " + ctx.server.name + ": plan again");
    auto password = ctx.secrets.Of(user->password, "password of " + account);
    if (!password.ok()) return password.status();
    if ((*password)->reveal().empty()) {
      return Status::InvalidArgument("password of " + account + " is empty: give the account a password");
    }
    // On a replica that lacks the account (1133, 1396): its own copy, not replicated.
    const bool binlog_off = creating != nullptr && creating->binlog_off;
    if (binlog_off) {
      if (Status off = ctx.session.Execute("SET SESSION sql_log_bin = 0"); !off.ok()) return off;
    }
    Status created = ctx.session.Execute("CREATE USER IF NOT EXISTS " + account + " " + IdentifiedByHash(ctx, **password),
                                           {*password}, "CREATE USER " + account);
    Status granted = created.ok() ? GrantMissing(ctx, account, wanted) : created;
    if (binlog_off) {
      // The connection is cached for later actions, which must replicate: never keep one that does not log.
      if (!ctx.session.Execute("SET SESSION sql_log_bin = 1").ok()) ctx.session.DropSql();
    }
    return granted;
  }
  return GrantMissing(ctx, account, wanted);
}

}  // namespace

// On every node, with binary logging off for this session only: each node gets its own copy, and
// a statement that replicated would fail on replicas that already have the account.
Status CreateReplicationUser(const StepContext& ctx, const Action& action) {
  (void)action;  // the account is the topology's (CheckPlanAgainstTopology holds a saved plan to it)
  const ReplicationSpec& r = ctx.topology.replication;
  const std::string account = QuoteAccount(r.user, r.host);
  const GrantSpec grant = ReplicationSlaveGrant();
  auto exists = AccountExists(ctx, r.user, r.host);
  if (!exists.ok()) return exists.status();
  if (*exists) {
    auto grants = GrantsOf(ctx, account);
    if (!grants.ok()) return grants.status();
    if (GrantsCover(*grants, grant)) return Status::OK();
  }
  auto password = ctx.secrets.Of(r.password, "replication password");
  if (!password.ok()) return password.status();

  Status off = ctx.session.Execute("SET SESSION sql_log_bin = 0");
  if (!off.ok()) return off;
  Status done = ctx.session.Execute("CREATE USER IF NOT EXISTS " + account + " " + IdentifiedByHash(ctx, **password),
                                      {*password}, "CREATE USER " + account);
  if (done.ok()) done = ctx.session.Execute("GRANT " + grant.text + " TO " + account);
  // The connection is cached for later actions, which must replicate: never keep one that does not log.
  Status on = ctx.session.Execute("SET SESSION sql_log_bin = 1");
  if (!on.ok()) ctx.session.DropSql();
  return done;
}

Status CreateDatabase(const StepContext& ctx, const Action& action) {
  const std::string& name = action.Args<CreateDatabaseArgs>().database;
  const DatabaseSpec* db = nullptr;
  for (const DatabaseSpec& d : ctx.topology.databases) {
    if (d.name == name) db = &d;
  }
  if (db == nullptr) return Status::InvalidArgument(StalePlan(action, "names a database the topology does not declare"));
  if (!IsPlainName(db->charset) || (!db->collation.empty() && !IsPlainName(db->collation))) {
    return Status::InvalidArgument("database " + db->name + ": charset '" + db->charset + "' / collation '" +
                                   db->collation + "' is not a valid name");
  }
  auto rows = ctx.session.Query(
      "SELECT COUNT(*) AS n FROM information_schema.SCHEMATA WHERE schema_name = " + QuoteString(db->name), {},
      "looking up database " + db->name);
  if (!rows.ok()) return rows.status();
  if (!rows->empty() && Field(rows->front(), "n") != "0") return Status::OK();
  std::string sql = "CREATE DATABASE IF NOT EXISTS " + QuoteIdentifier(db->name) + " CHARACTER SET " + db->charset;
  if (!db->collation.empty()) sql += " COLLATE " + db->collation;
  return ctx.session.Execute(sql, {}, "CREATE DATABASE " + QuoteIdentifier(db->name));
}

Status CreateUser(const StepContext& ctx, const Action& action) { return EnsureDeclaredUser(ctx, action, true); }

Status GrantPrivileges(const StepContext& ctx, const Action& action) {
  const ReplicationSpec& r = ctx.topology.replication;
  const auto& args = action.Args<GrantPrivilegesArgs>();
  bool repl = args.user == r.user && args.host == r.host;
  return repl ? CreateReplicationUser(ctx, action) : EnsureDeclaredUser(ctx, action, false);
}

}  // namespace steps
}  // namespace replplan
