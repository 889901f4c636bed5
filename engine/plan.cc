// Plan rendering. The text is for a person deciding whether to apply: grouped by host in file
// order, each action with its why and what it waits for, destructive ones impossible to miss. The
// JSON (schemas/plan.schema.json) is for machines and for `apply` of a saved plan. Both are built
// only from Action fields, which never hold a secret; sensitive changes print as "(sensitive)".
// Every line of the text is built whole and then passed through TerminalSafe: names, values and
// error messages come from servers and files, and a control character in one of them must not be
// able to move the cursor, erase a line or start a new one.
#include "engine/plan.h"
#include "engine/text.h"

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "engine/secret.h"
#include "engine/terminal_text.h"

namespace replplan {
namespace {

bool IsCreate(ActionKind kind) {
  return kind == ActionKind::kCreateReplicationUser || kind == ActionKind::kCreateDatabase ||
         kind == ActionKind::kCreateUser || kind == ActionKind::kGrantPrivileges ||
         kind == ActionKind::kSeedReplica;
}

// "!" overwrites or forgets something, "+" adds, "~" changes in place.
char Symbol(const Action& a) {
  if (a.destructive) return '!';
  return IsCreate(a.kind) ? '+' : '~';
}

std::string Plural(size_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string RenderChange(const Action& a, const Change& c) {
  if (c.sensitive) return c.key + ": " + std::string(kSensitive);
  if (c.from.empty() && IsCreate(a.kind)) return c.key + ": " + c.to;
  return c.key + ": " + (c.from.empty() ? "(absent)" : c.from) + " -> " + (c.to.empty() ? "(none)" : c.to);
}

// Appends `text` as one line of output: control characters in it are shown, never acted on.
void AddLine(std::string& out, const std::string& text) {
  out += TerminalSafe(text);
  out += '\n';
}

void RenderAction(const PlannedAction& pa, std::string& out) {
  const Action& a = pa.action;
  AddLine(out, std::string("  ") + Symbol(a) + " " + ToString(a.kind) + (a.destructive ? " (DESTRUCTIVE)" : "") +
                   ": " + a.summary);
  for (const Change& c : a.changes) AddLine(out, "      " + RenderChange(a, c));
  for (const std::string& why : a.reasons) AddLine(out, "      why: " + why);
  if (!pa.depends_on.empty()) AddLine(out, "      after: " + Join(pa.depends_on, ", "));
}

// "condition: binlog-gone (broken, error 1236): <cause>", then its evidence, one fact a line.
void RenderCondition(const Condition& c, std::string& out) {
  AddLine(out, "  condition: " + c.type + " (" + ToString(c.severity) +
                   (c.error_number != 0 ? ", error " + std::to_string(c.error_number) : std::string()) + "): " + c.cause);
  for (const std::string& e : c.evidence) AddLine(out, "      evidence: " + e);
}

// "in sync" only for a host with neither actions nor conditions.
std::string HostHeading(const Plan& plan, const HostReport& h, bool has_actions) {
  std::string line = h.name + " (" + h.address + "), " +
                     (h.role == "primary" ? std::string("primary") : "replica of " + plan.primary);
  if (!h.sql_ok && !h.ssh_ok) return line + ": could not read";
  if (!h.sql_ok || !h.ssh_ok) return line + ": partly read";
  return has_actions ? line : line + ": in sync";
}

std::vector<std::string> UnreadableHosts(const Plan& plan) {
  std::vector<std::string> names;
  for (const HostReport& h : plan.hosts) {
    if (!h.sql_ok || !h.ssh_ok) names.push_back(h.name);
  }
  return names;
}

int DestructiveCount(const Plan& plan) {
  int n = 0;
  for (const PlannedAction& pa : plan.actions) n += pa.action.destructive ? 1 : 0;
  return n;
}

std::string SummaryLine(const Plan& plan) {
  std::vector<std::string> unreadable = UnreadableHosts(plan);
  std::string unread;
  if (!unreadable.empty()) {
    unread = " " + Plural(unreadable.size(), "host", "hosts") + " could not be read: " + Join(unreadable, ", ") +
             " (the plan covers only what could be read).";
  }
  std::vector<std::string> unresolved;
  for (const HostReport& h : plan.hosts) {
    if (!h.unresolved.empty()) unresolved.push_back(h.name);
  }
  if (!unresolved.empty()) {
    unread += " Unresolved on " + Join(unresolved, ", ") +
              " (see 'unresolved' above): the plan is incomplete until the file chooses a remedy.";
  }
  if (!plan.has_changes()) {
    if (unreadable.empty() && unresolved.empty()) return "No changes. The live servers match " + BaseName(plan.topology_file) + ".";
    return "No changes planned." + unread;
  }
  std::string line = "Plan: " + std::to_string(plan.actions.size()) + " to change on " +
                     Plural(static_cast<size_t>(plan.hosts_changed()), "host", "hosts") + ".";
  int destructive = DestructiveCount(plan);
  if (destructive > 0) line += " " + std::to_string(destructive) + " DESTRUCTIVE.";
  return line + unread;
}

}  // namespace

Status DestructiveApproval(const Plan& plan, bool allow_destructive, const std::string& command) {
  if (allow_destructive) return Status::OK();
  std::string ids;
  int n = 0;
  for (const PlannedAction& pa : plan.actions) {
    if (!pa.action.destructive) continue;
    ids += (ids.empty() ? "" : ", ") + pa.action.id;
    ++n;
  }
  if (n == 0) return Status::OK();
  return Status::FailedPrecondition(command + " refused: the plan has " + std::to_string(n) + " DESTRUCTIVE action" +
                                    (n == 1 ? "" : "s") + " (" + ids + "); nothing was changed. Review " +
                                    (n == 1 ? "it" : "them") + ", then pass --allow-destructive to approve " +
                                    (n == 1 ? "it" : "them") + " (--yes alone never does)");
}

bool Plan::incomplete() const {
  for (const HostReport& h : hosts) {
    if (!h.sql_ok || !h.ssh_ok || !h.unresolved.empty()) return true;
  }
  return false;
}

int Plan::hosts_changed() const {
  std::set<std::string> names;
  for (const PlannedAction& pa : actions) names.insert(pa.action.host);
  return static_cast<int>(names.size());
}

std::string RenderPlanText(const Plan& plan) {
  std::string out;
  AddLine(out, "replplan plan for cluster \"" + plan.cluster + "\" (" + plan.flavor + ", " + plan.replication_mode +
                   " replication) from " + plan.topology_file + "; primary: " + plan.primary);
  if (plan.primary_change) {
    const PrimaryChange& c = *plan.primary_change;
    out += "\n";
    AddLine(out, Upper(c.kind) + ": " + c.from + " -> " + c.to +
                     (c.kind == "switchover"
                          ? " (" + c.from + " is fenced read-only, " + c.to + " applies all of it, then is promoted)"
                          : " (" + c.from + " is down; " + c.to + " applies its relay log, then is promoted)"));
  }
  for (const HostReport& h : plan.hosts) {
    std::vector<const PlannedAction*> mine;
    for (const PlannedAction& pa : plan.actions) {
      if (pa.action.host == h.name) mine.push_back(&pa);
    }
    out += "\n";
    bool has_conditions = std::any_of(plan.conditions.begin(), plan.conditions.end(),
                                      [&](const Condition& c) { return c.host == h.name; });
    AddLine(out, HostHeading(plan, h, !mine.empty() || has_conditions));
    if (!h.sql_ok) AddLine(out, "  sql: " + h.sql_error);
    if (!h.ssh_ok) AddLine(out, "  ssh: " + h.ssh_error);
    for (const Condition& c : plan.conditions) {
      if (c.host == h.name) RenderCondition(c, out);
    }
    for (const PlannedAction* pa : mine) RenderAction(*pa, out);
    for (const std::string& note : h.notes) AddLine(out, "  note: " + note);
    for (const std::string& u : h.unresolved) AddLine(out, "  unresolved: " + u);
    if (mine.empty() && !h.sql_ok && !h.ssh_ok) {
      AddLine(out, "  (no actions planned for " + h.name + ": its state is unknown)");
    }
  }
  out += "\n";
  AddLine(out, SummaryLine(plan));
  return out;
}

Result<std::string> PlanJsonText(const Plan& plan) {
  try {
    return PlanToJson(plan).dump(2, ' ', /*ensure_ascii=*/true);
  } catch (const nlohmann::json::type_error& e) {
    return Status::InvalidArgument("the plan cannot be written as JSON: a name or message read from a server is not "
                                   "UTF-8 (" + std::string(e.what()) + ")");
  }
}

nlohmann::json PlanToJson(const Plan& plan) {
  using nlohmann::json;
  json hosts = json::array();
  for (const HostReport& h : plan.hosts) {
    hosts.push_back({{"name", h.name}, {"address", h.address}, {"role", h.role}, {"sql_ok", h.sql_ok},
                     {"sql_error", h.sql_error}, {"ssh_ok", h.ssh_ok}, {"ssh_error", h.ssh_error},
                     {"notes", h.notes}});
    // Only when there is some: plans without keep their exact bytes.
    if (!h.unresolved.empty()) hosts.back()["unresolved"] = h.unresolved;
  }
  json conditions = json::array();
  for (const Condition& c : plan.conditions) {
    conditions.push_back({{"type", c.type}, {"severity", ToString(c.severity)}, {"host", c.host},
                          {"error_number", c.error_number}, {"reason", c.reason}, {"evidence", c.evidence},
                          {"cause", c.cause}});
  }
  json actions = json::array();
  for (const PlannedAction& pa : plan.actions) {
    const Action& a = pa.action;
    json changes = json::array();
    for (const Change& c : a.changes) {
      changes.push_back({{"key", c.key},
                         {"from", c.sensitive ? std::string(kSensitive) : c.from},
                         {"to", c.sensitive ? std::string(kSensitive) : c.to},
                         {"sensitive", c.sensitive}});
    }
    actions.push_back({{"id", a.id}, {"kind", ToString(a.kind)}, {"host", a.host}, {"summary", a.summary},
                       {"reasons", a.reasons}, {"changes", changes}, {"destructive", a.destructive},
                       {"params", RenderParams(a.args)}, {"depends_on", pa.depends_on}});
  }
  json out = {{"format_version", 1},
              {"topology_file", plan.topology_file},
              {"cluster", plan.cluster},
              {"primary", plan.primary},
              {"flavor", plan.flavor},
              {"replication_mode", plan.replication_mode},
              {"complete", !plan.incomplete()},
              {"state_fingerprint", plan.state_fingerprint},
              {"summary",
               {{"actions", plan.actions.size()},
                {"hosts_changed", plan.hosts_changed()},
                {"hosts_unreadable", UnreadableHosts(plan).size()},
                {"destructive", DestructiveCount(plan)}}},
              {"hosts", hosts},
              {"conditions", conditions},
              {"actions", actions}};
  // Set by the CLI; absent from plans that never had them, so those keep their exact bytes.
  if (!plan.topology_digest.empty()) out["topology_digest"] = plan.topology_digest;
  if (!plan.created_at.empty()) out["created_at"] = plan.created_at;
  if (plan.primary_change) {
    out["primary_change"] = {{"kind", plan.primary_change->kind},
                             {"from", plan.primary_change->from},
                             {"to", plan.primary_change->to}};
  }
  return out;
}

}  // namespace replplan
