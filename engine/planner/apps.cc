// Apps: every [[app]] host whose database settings do not point at the file's primary gets a
// rewrite and a restart (or only a restart, when an apply was cut short between the two); an app
// with a health URL gets one check once all its hosts restarted. What replplan will not touch (an
// ERB value, a file it could not read) is a note on the host's report.
#include <algorithm>
#include <unordered_map>

#include "engine/app_restart_marker.h"
#include "engine/database_yml.h"
#include "engine/planner/rules.h"

namespace replplan::planner {

std::vector<AppSteps> PlanApps(const PlanContext& ctx, PlanBuilder& plan) {
  std::vector<AppSteps> out;
  if (ctx.topology.apps.empty()) return out;
  const Topology& topo = ctx.topology;
  const ServerSpec& p = ctx.primary();
  std::string want_port = std::to_string(p.mysql.port);
  // An app names its hosts; each is paired with its server here, once.
  std::unordered_map<std::string, size_t> index_of;
  index_of.reserve(ctx.size());
  for (size_t i = 0; i < ctx.size(); ++i) index_of[ctx.spec(i).name] = i;
  for (const AppSpec& app : topo.apps) {
    AppSteps steps;
    for (const std::string& host : app.hosts) {
      auto found = index_of.find(host);
      if (found == index_of.end()) continue;
      HostReport& report = plan.report(found->second);
      std::string prefix = "app " + app.name + ": ";
      std::string path = app.DatabaseYmlPath();
      const ServerState* s = ctx.state(found->second);
      const LiveAppConfig* c = s != nullptr ? s->FindAppConfig(app.name) : nullptr;
      if (s == nullptr || !s->ssh_ok || c == nullptr || !c->read_ok) {
        std::string why = s == nullptr ? "not read" : !s->ssh_ok ? s->ssh_error : c == nullptr ? "not read" : c->error;
        report.notes.push_back(prefix + path + " unknown (" + why + "); not repointed");
        continue;
      }
      if (!c->exists) {
        report.notes.push_back(prefix + path + " does not exist; not repointed");
        continue;
      }
      DatabaseYmlSettings yml = ReadDatabaseYml(c->text, app.environment);
      if (!yml.section_exists) {
        report.notes.push_back(prefix + path + " has no '" + app.environment + "' section; not repointed");
        continue;
      }
      if (!yml.error.empty()) {
        report.notes.push_back(prefix + yml.error + "; not repointed");
        continue;
      }
      if (yml.database.present() && !yml.database.erb && !yml.database.value.empty()) {
        bool declared = std::any_of(topo.databases.begin(), topo.databases.end(),
                                    [&](const DatabaseSpec& d) { return d.name == yml.database.value; });
        if (!declared) {
          report.notes.push_back(prefix + "database " + yml.database.value + " is not a [[database]] of the topology");
        }
      }
      if (yml.username.present() && !yml.username.erb && !yml.username.value.empty()) {
        bool declared = std::any_of(topo.users.begin(), topo.users.end(),
                                    [&](const UserSpec& u) { return u.name == yml.username.value; });
        if (!declared) {
          report.notes.push_back(prefix + "username " + yml.username.value + " is not a [[user]] of the topology");
        }
      }
      std::vector<Change> changes;
      std::vector<std::string> reasons;
      bool templated = false;
      auto want = [&](const char* key, const DatabaseYmlValue& v, const std::string& effective,
                      const std::string& wanted) {
        if (effective == wanted) return;
        if (v.erb) {
          report.notes.push_back(prefix + app.environment + " " + key + " is ERB (" + v.raw +
                                 "): replplan does not override a templated value; point it at " + p.name + " (" +
                                 wanted + ") yourself");
          templated = true;
          return;
        }
        changes.push_back({key, effective.empty() ? "(absent)" : effective, wanted, false});
        reasons.push_back(path + ": " + app.environment + " " + key + " is " + OrEmpty(effective) + ", the primary " +
                          p.name + " is at " + wanted);
      };
      want("host", yml.host, yml.host.value, p.address);
      // mysql2 connects to 3306 when database.yml names no port.
      want("port", yml.port, yml.port.present() ? yml.port.value : "3306", want_port);
      // An apply cut short between rewrite and restart left the app on the old settings: the
      // marker restart-app writes names the file it last restarted with.
      bool restart_pending = !c->restarted_digest.empty() && !AppRestartMarkerMatches(c->restarted_digest, c->text);
      if (templated || (changes.empty() && !restart_pending)) continue;
      size_t r1 = kNone;
      if (!changes.empty()) {
        Action rewrite = PlanBuilder::Make(host, ActionKind::kRewriteAppConfig, app.name);
        rewrite.summary = "point " + app.name + " on " + host + " at " + p.name + " (" + p.address + ":" + want_port +
                          ") in " + path;
        rewrite.reasons = std::move(reasons);
        rewrite.changes = std::move(changes);
        rewrite.SetArgs(RewriteAppConfigArgs{app.name, p.name});
        r1 = plan.AddNow(std::move(rewrite));
      }
      Action restart = PlanBuilder::Make(host, ActionKind::kRestartApp, app.name);
      restart.summary = "restart " + app.name + " on " + host + ": " + app.restart;
      restart.reasons = {r1 != kNone ? app.name + " reads " + path + " when it starts"
                                     : path + " changed since replplan last restarted " + app.name + " here (" +
                                           app.RestartMarkerPath() + "): it still runs with the old settings"};
      restart.SetArgs(RestartAppArgs{app.name});
      size_t r2 = plan.AddNow(std::move(restart));
      steps.rewrite_restart.emplace_back(r1, r2);
    }
    if (!app.health.empty() && !steps.rewrite_restart.empty()) {
      Action check = PlanBuilder::Make(app.hosts.front(), ActionKind::kCheckHealth, app.name);
      check.summary = "check " + app.name + ": GET " + app.health + " answers 2xx";
      check.reasons = {"the restarted app must serve again, writing to " + p.name};
      check.SetArgs(CheckHealthArgs{app.name});
      steps.check = plan.AddNow(std::move(check));
    }
    out.push_back(std::move(steps));
  }
  return out;
}

}  // namespace replplan::planner
