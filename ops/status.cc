#include "ops/status.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "engine/database_yml.h"
#include "engine/terminal_text.h"
#include "engine/text.h"

namespace replplan::ops {
namespace {

ServerLine LineOf(const Topology& topology, const ServerSpec& spec, const ServerState* s,
                  const std::vector<Condition>& conditions) {
  ServerLine line;
  line.name = spec.name;
  const bool primary = topology.IsPrimary(spec.name);
  line.role = primary ? "primary" : "replica";
  for (const Condition& c : conditions) {
    if (c.host == spec.name) line.conditions.push_back(c.type);
  }
  if (s == nullptr) return line;
  line.sql_ok = s->sql_ok;
  line.ssh_ok = s->ssh_ok;
  if (!s->sql_ok) return line;
  if (const ReplicaChannel* c = s->DefaultChannel()) {
    line.io_running = c->io_running;
    line.sql_running = c->sql_running ? "Yes" : "No";
    line.seconds_behind = c->seconds_behind;
  }
  line.gtid_position = s->gtid_current_pos.empty() ? s->gtid_binlog_pos : s->gtid_current_pos;
  line.read_only = s->read_only;
  line.semi_sync = primary ? s->semi_sync_master_enabled : s->semi_sync_slave_enabled;
  return line;
}

// The server a database.yml host names: by address, then by name.
std::string ServerAt(const Topology& topology, const std::string& host, const std::string& port) {
  for (const ServerSpec& s : topology.servers) {
    bool same_port = port.empty() || port == std::to_string(s.mysql.port);
    if ((s.address == host || s.name == host) && same_port) return s.name;
  }
  return "";
}

AppLine AppLineOf(const Topology& topology, const LiveState& live, const AppSpec& app, const std::string& host) {
  AppLine line;
  line.app = app.name;
  line.host = host;
  const ServerState* s = live.Find(host);
  const LiveAppConfig* c = s != nullptr ? s->FindAppConfig(app.name) : nullptr;
  if (c == nullptr || !c->read_ok) {
    line.error = c != nullptr && !c->error.empty() ? c->error : s != nullptr && !s->ssh_error.empty() ? s->ssh_error : "not read";
    return line;
  }
  if (!c->exists) {
    line.error = c->path + " does not exist";
    return line;
  }
  DatabaseYmlSettings yml = ReadDatabaseYml(c->text, app.environment);
  if (!yml.section_exists) {
    line.error = c->path + " has no '" + app.environment + "' section";
    return line;
  }
  if (!yml.error.empty()) {
    line.error = yml.error;
    return line;
  }
  if (yml.host.erb || yml.port.erb) {
    line.error = app.environment + " host is ERB (" + yml.host.raw + "): evaluated by Rails, not known here";
    return line;
  }
  line.points_at = yml.host.value.empty() ? "(no host)" : yml.host.value;
  if (!yml.port.value.empty()) line.points_at += ":" + yml.port.value;
  line.server = ServerAt(topology, yml.host.value, yml.port.value);
  return line;
}

std::string Reach(const ServerLine& s) {
  if (s.sql_ok && s.ssh_ok) return "yes";
  if (s.sql_ok) return "sql only";
  if (s.ssh_ok) return "ssh only";
  return "no";
}

std::string OnOff(const std::optional<bool>& b) { return !b ? "?" : *b ? "ON" : "OFF"; }

std::string OrDash(const std::string& s) { return s.empty() ? "-" : s; }

// Rows of cells, left-aligned under a header, two spaces apart; the last column is not padded.
std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    out += std::string(TrimEnd(line)) + "\n";
  }
  return out;
}

}  // namespace

const char* ToString(Health h) {
  switch (h) {
    case Health::kHealthy: return "healthy";
    case Health::kDegraded: return "degraded";
    case Health::kBroken: return "broken";
  }
  return "unknown";
}

StatusReport BuildStatusReport(const Topology& topology, const LiveState& live, const std::string& read_at,
                               std::chrono::milliseconds read_time) {
  StatusReport report;
  report.cluster = topology.cluster.name;
  report.primary = topology.cluster.primary;
  report.read_at = read_at;
  report.read_time = read_time;
  report.conditions = Diagnose(topology, live);
  if (!report.conditions.empty()) {
    report.health = WorstSeverity(report.conditions) == Severity::kBroken ? Health::kBroken : Health::kDegraded;
  }
  for (const ServerSpec& spec : topology.servers) {
    report.servers.push_back(LineOf(topology, spec, live.Find(spec.name), report.conditions));
  }
  for (const AppSpec& app : topology.apps) {
    for (const std::string& host : app.hosts) report.apps.push_back(AppLineOf(topology, live, app, host));
  }
  return report;
}

StatusReport ReadStatus(const World& world, const LoadedTopology& loaded, int parallelism) {
  ReadStats stats;
  LiveState live = world.live->Read(loaded.topology, parallelism, stats);
  return BuildStatusReport(loaded.topology, live, UtcSeconds(world.clock->Now()), stats.total);
}

void ConditionHistory::Observe(StatusReport& report) {
  std::map<std::pair<std::string, std::string>, ConditionSeen> now;
  report.seen.clear();
  for (const Condition& c : report.conditions) {
    const std::pair<std::string, std::string> key{c.type, c.host};
    auto open = open_.find(key);
    ConditionSeen seen = open != open_.end() ? open->second : ConditionSeen{report.read_at, last_read_at_};
    now.emplace(key, seen);  // a type twice on one host (never today) keeps its first time
    report.seen.push_back(std::move(seen));
  }
  open_ = std::move(now);
  last_read_at_ = report.read_at;
}

int StatusExitCode(const StatusReport& report) {
  switch (report.health) {
    case Health::kHealthy: return 0;
    case Health::kDegraded: return 1;
    case Health::kBroken: return 2;
  }
  return kStatusUnknownExit;
}

std::string RenderStatusText(const StatusReport& report) {
  size_t broken = std::count_if(report.conditions.begin(), report.conditions.end(),
                                [](const Condition& c) { return c.severity == Severity::kBroken; });
  std::string out = "cluster " + report.cluster + " (primary " + report.primary + ") at " + report.read_at + ", read in " +
                    std::to_string(report.read_time.count()) + " ms: " + Upper(ToString(report.health));
  if (!report.conditions.empty()) {
    out += " (" + std::to_string(report.conditions.size()) + " condition" + (report.conditions.size() == 1 ? "" : "s") +
           ", " + std::to_string(broken) + " broken)";
  }
  out += "\n\n";
  std::vector<std::vector<std::string>> rows = {
      {"SERVER", "ROLE", "REACHABLE", "IO", "SQL", "LAG", "GTID", "READ_ONLY", "SEMI_SYNC", "CONDITIONS"}};
  for (const ServerLine& s : report.servers) {
    rows.push_back({s.name, s.role, Reach(s), OrDash(s.io_running), OrDash(s.sql_running),
                    s.seconds_behind ? std::to_string(*s.seconds_behind) + "s" : "-", OrDash(s.gtid_position),
                    s.sql_ok ? OnOff(s.read_only) : "-", s.sql_ok ? OnOff(s.semi_sync) : "-",
                    s.conditions.empty() ? "-" : Join(s.conditions)});
  }
  out += Table(rows);
  if (!report.apps.empty()) {
    std::vector<std::vector<std::string>> apps = {{"APP", "HOST", "POINTS AT"}};
    for (const AppLine& a : report.apps) {
      std::string at;
      if (!a.error.empty()) {
        at = "unknown: " + a.error;
      } else {
        at = a.points_at + " (" + (a.server.empty() ? "no server of the file" : a.server) + ")";
        if (!a.server.empty() && a.server != report.primary) at += ", not the primary " + report.primary;
      }
      apps.push_back({a.app, a.host, at});
    }
    out += "\n" + Table(apps);
  }
  for (size_t i = 0; i < report.conditions.size(); ++i) {
    const Condition& c = report.conditions[i];
    out += "\n" + c.type + " (" + ToString(c.severity) + ") on " + c.host +
           (c.error_number != 0 ? ", error " + std::to_string(c.error_number) : std::string()) + ": " + c.cause + "\n";
    for (const std::string& e : c.evidence) out += "  " + e + "\n";
    if (i < report.seen.size()) {
      const ConditionSeen& seen = report.seen[i];
      out += "  seen since " + seen.since +
             (seen.began_after.empty() ? " (already at the first read)" : " (not at " + seen.began_after + ")") + "\n";
    }
  }
  return TerminalSafeLines(out);
}

std::string RenderStatusJson(const StatusReport& report) {
  nlohmann::ordered_json j;
  j["cluster"] = report.cluster;
  j["primary"] = report.primary;
  j["health"] = ToString(report.health);
  j["read_at"] = report.read_at;
  j["read_ms"] = report.read_time.count();
  j["servers"] = nlohmann::ordered_json::array();
  for (const ServerLine& s : report.servers) {
    nlohmann::ordered_json o;
    o["name"] = s.name;
    o["role"] = s.role;
    o["sql_reachable"] = s.sql_ok;
    o["ssh_reachable"] = s.ssh_ok;
    o["io_running"] = s.io_running.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(s.io_running);
    o["sql_running"] = s.sql_running.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(s.sql_running);
    o["seconds_behind"] = s.seconds_behind ? nlohmann::ordered_json(*s.seconds_behind) : nlohmann::ordered_json();
    o["gtid_position"] = s.gtid_position;
    o["read_only"] = s.read_only ? nlohmann::ordered_json(*s.read_only) : nlohmann::ordered_json();
    o["semi_sync"] = s.semi_sync ? nlohmann::ordered_json(*s.semi_sync) : nlohmann::ordered_json();
    o["conditions"] = s.conditions;
    j["servers"].push_back(std::move(o));
  }
  j["apps"] = nlohmann::ordered_json::array();
  for (const AppLine& a : report.apps) {
    nlohmann::ordered_json o;
    o["app"] = a.app;
    o["host"] = a.host;
    if (a.error.empty()) {
      o["points_at"] = a.points_at;
      o["server"] = a.server.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(a.server);
    } else {
      o["error"] = a.error;
    }
    j["apps"].push_back(std::move(o));
  }
  j["conditions"] = nlohmann::ordered_json::array();
  for (size_t i = 0; i < report.conditions.size(); ++i) {
    const Condition& c = report.conditions[i];
    // Kubernetes' condition shape; "status" is the severity. "since" and "began_after" are null
    // unless this process saw earlier reads (ops/status.h): one read cannot tell when it began.
    const ConditionSeen seen = i < report.seen.size() ? report.seen[i] : ConditionSeen{};
    auto time = [](const std::string& t) { return t.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(t); };
    nlohmann::ordered_json o;
    o["type"] = c.type;
    o["status"] = ToString(c.severity);
    o["reason"] = c.reason;
    o["message"] = c.cause;
    o["host"] = c.host;
    o["error_number"] = c.error_number;
    o["evidence"] = c.evidence;
    o["since"] = time(seen.since);
    o["began_after"] = time(seen.began_after);
    j["conditions"].push_back(std::move(o));
  }
  return j.dump(-1, ' ', true, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace replplan::ops
