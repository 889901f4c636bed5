#include "engine/plan_compare.h"
#include "engine/text.h"

#include <map>
#include <set>

namespace replplan {
namespace {

// "a, b" or "(none)".
std::string ListOrNone(const std::vector<std::string>& items) { return items.empty() ? "(none)" : Join(items); }

std::string ParamsText(const std::map<std::string, std::string>& params) {
  std::vector<std::string> items;
  for (const auto& [key, value] : params) items.push_back(key + "=" + value);
  return ListOrNone(items);
}

std::vector<std::string> ChangedKeys(const Action& action) {
  std::vector<std::string> keys;
  for (const Change& c : action.changes) keys.push_back(c.key + (c.sensitive ? " (sensitive)" : ""));
  return keys;
}

void Compare(const PlannedAction& approved, const PlannedAction& now, std::vector<std::string>& out) {
  const Action& a = approved.action;
  const Action& b = now.action;
  const std::string& id = a.id;
  if (a.kind != b.kind) out.push_back(id + ": kind " + ToString(a.kind) + " approved, " + ToString(b.kind) + " now");
  if (a.host != b.host) out.push_back(id + ": host " + a.host + " approved, " + b.host + " now");
  if (a.destructive != b.destructive) {
    out.push_back(id + (a.destructive ? ": approved as destructive, not destructive now"
                                      : ": destructive now, approved as not destructive"));
  }
  if (a.args != b.args) {
    out.push_back(id + ": params " + ParamsText(RenderParams(a.args)) + " approved, " + ParamsText(RenderParams(b.args)) +
                  " now");
  }
  if (ChangedKeys(a) != ChangedKeys(b)) {
    out.push_back(id + ": changes " + ListOrNone(ChangedKeys(a)) + " approved, " + ListOrNone(ChangedKeys(b)) + " now");
  }
  std::set<std::string> deps_a(approved.depends_on.begin(), approved.depends_on.end());
  std::set<std::string> deps_b(now.depends_on.begin(), now.depends_on.end());
  if (deps_a != deps_b) {
    out.push_back(id + ": waits for " + ListOrNone({deps_a.begin(), deps_a.end()}) + " approved, " +
                  ListOrNone({deps_b.begin(), deps_b.end()}) + " now");
  }
}

}  // namespace

std::vector<std::string> ActionDifferences(const std::vector<PlannedAction>& approved,
                                           const std::vector<PlannedAction>& now) {
  std::vector<std::string> out;
  std::map<std::string, const PlannedAction*> by_id;
  for (const PlannedAction& p : now) by_id.emplace(p.action.id, &p);
  std::set<std::string> seen;
  for (const PlannedAction& p : approved) {
    if (!seen.insert(p.action.id).second) {
      out.push_back(p.action.id + ": approved twice");
      continue;
    }
    auto it = by_id.find(p.action.id);
    if (it == by_id.end()) {
      out.push_back(p.action.id + ": approved, but not in the plan computed now");
      continue;
    }
    Compare(p, *it->second, out);
  }
  for (const PlannedAction& p : now) {
    if (seen.count(p.action.id) == 0) out.push_back(p.action.id + ": in the plan computed now, but not approved");
  }
  return out;
}

}  // namespace replplan
