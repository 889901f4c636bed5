// Reads a saved plan (schemas/plan.schema.json) back into a Plan, so `apply plan.json` runs
// exactly what was reviewed. The reader is strict: a plan that was hand-edited, truncated or
// written by another format version is refused with the JSON path of the first problem, because
// applying a plan that means something other than what the reviewer read is the failure to avoid.
// The derived members ("complete", "summary") are type-checked and recomputed by PlanToJson.
#include "engine/plan.h"

#include <algorithm>
#include <map>
#include <set>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/did_you_mean.h"
#include "engine/gtid.h"
#include "engine/text.h"
#include "engine/secret.h"

namespace replplan {
namespace {

using nlohmann::json;

// "a string", "an object", "null": for "expected a string, got a number".
std::string Described(const json& value) {
  switch (value.type()) {
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    case json::value_t::number_float: return "a number";
    case json::value_t::null: return "null";
    default: return value.type_name();
  }
}

bool IsHexDigest(const std::string& s) {
  if (s.size() != 64) return false;  // SHA-256
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string Index(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

// Reads the members of one JSON object. The first problem anywhere in the document is kept in the
// shared `error` and every later read is a no-op, so the parse code reads straight through without
// checking after each field. Members never read are reported by Finish() as unknown keys.
class Fields {
 public:
  Fields(const json& object, std::string path, Status& error) : object_(object), path_(std::move(path)), error_(error) {
    if (error_.ok() && !object_.is_object()) {
      Fail(path_.empty() ? "(document)" : path_, "expected an object, got " + Described(object_));
    }
  }

  bool ok() const { return error_.ok(); }
  std::string PathOf(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  void Fail(const std::string& path, const std::string& message) {
    if (error_.ok()) error_ = Status::InvalidArgument(path + ": " + message);
  }

  // The member if present with the wanted type; nullptr (with the error recorded) otherwise.
  const json* Get(std::string_view key, bool (json::*is)() const noexcept, const char* want, bool required = true) {
    if (!error_.ok()) return nullptr;
    read_.insert(std::string(key));
    auto it = object_.find(std::string(key));
    if (it == object_.end()) {
      if (required) Fail(PathOf(key), std::string("missing; expected ") + want);
      return nullptr;
    }
    if (!((*it).*is)()) {
      Fail(PathOf(key), std::string("expected ") + want + ", got " + Described(*it));
      return nullptr;
    }
    return &*it;
  }

  std::string String(std::string_view key) {
    const json* v = Get(key, &json::is_string, "a string");
    return v ? v->get<std::string>() : std::string();
  }
  std::string OptionalString(std::string_view key) {
    const json* v = Get(key, &json::is_string, "a string", /*required=*/false);
    return v ? v->get<std::string>() : std::string();
  }
  bool Bool(std::string_view key) {
    const json* v = Get(key, &json::is_boolean, "a boolean");
    return v ? v->get<bool>() : false;
  }
  const json& Array(std::string_view key) {
    const json* v = Get(key, &json::is_array, "an array");
    return v ? *v : Empty();
  }
  const json& Object(std::string_view key) {
    const json* v = Get(key, &json::is_object, "an object");
    return v ? *v : Empty();
  }
  std::vector<std::string> Strings(std::string_view key) {
    std::vector<std::string> out;
    const json& items = Array(key);
    for (size_t i = 0; i < items.size() && ok(); ++i) {
      if (!items[i].is_string()) {
        Fail(Index(PathOf(key), i), "expected a string, got " + Described(items[i]));
      } else {
        out.push_back(items[i].get<std::string>());
      }
    }
    return out;
  }
  // The object's members (empty when it is not an object: that was reported).
  const json& Members() const { return object_.is_object() ? object_ : Empty(); }

  // A member outside the format: a typo or a field from another version, either way not what the
  // reviewer saw rendered.
  void Finish(const std::vector<std::string>& known) {
    if (!error_.ok()) return;
    for (auto it = object_.begin(); it != object_.end(); ++it) {
      if (read_.count(it.key()) == 0) {
        Fail(PathOf(it.key()), "unknown key" + DidYouMeanSuffix(it.key(), known));
        return;
      }
    }
  }

 private:
  static const json& Empty() {
    static const json empty;
    return empty;
  }

  const json& object_;
  std::string path_;
  Status& error_;
  std::set<std::string> read_;
};

std::string OneOf(const std::string& value, const std::vector<std::string>& allowed) {
  std::string list;
  for (size_t i = 0; i < allowed.size(); ++i) list += (i ? ", " : "") + allowed[i];
  return "'" + value + "' is not one of " + list + DidYouMeanSuffix(value, allowed);
}

void ReadEnum(Fields& f, std::string_view key, const std::vector<std::string>& allowed, std::string& out) {
  out = f.String(key);
  if (f.ok() && std::find(allowed.begin(), allowed.end(), out) == allowed.end()) {
    f.Fail(f.PathOf(key), OneOf(out, allowed));
  }
}

void ReadDigest(Fields& f, std::string_view key, bool required, std::string& out) {
  out = required ? f.String(key) : f.OptionalString(key);
  if (f.ok() && (required || !out.empty()) && !IsHexDigest(out)) {
    f.Fail(f.PathOf(key), "'" + out + "' is not a digest (64 lower-case hex digits, SHA-256)");
  }
}

// Optional: only plans that move the primary carry it.
void ReadPrimaryChange(Fields& top, Plan& plan, Status& error) {
  const json* value = top.Get("primary_change", &json::is_object, "an object", /*required=*/false);
  if (value == nullptr) return;
  Fields f(*value, top.PathOf("primary_change"), error);
  PrimaryChange c;
  ReadEnum(f, "kind", {"switchover", "failover"}, c.kind);
  c.from = f.String("from");
  c.to = f.String("to");
  f.Finish({"kind", "from", "to"});
  if (f.ok()) plan.primary_change = std::move(c);
}

HostReport ReadHost(const json& value, const std::string& path, Status& error) {
  Fields f(value, path, error);
  HostReport h;
  h.name = f.String("name");
  h.address = f.String("address");
  ReadEnum(f, "role", {"primary", "replica"}, h.role);
  h.sql_ok = f.Bool("sql_ok");
  h.sql_error = f.String("sql_error");
  h.ssh_ok = f.Bool("ssh_ok");
  h.ssh_error = f.String("ssh_error");
  h.notes = f.Strings("notes");
  if (f.Members().contains("unresolved")) h.unresolved = f.Strings("unresolved");
  f.Finish({"name", "address", "role", "sql_ok", "sql_error", "ssh_ok", "ssh_error", "notes", "unresolved"});
  return h;
}

// Informational (apply acts on the actions): optional, so a plan from before they were listed reads.
void ReadConditions(Fields& top, Plan& plan, Status& error) {
  const json* value = top.Get("conditions", &json::is_array, "an array", /*required=*/false);
  if (value == nullptr) return;
  for (size_t i = 0; i < value->size() && error.ok(); ++i) {
    Fields f((*value)[i], Index("conditions", i), error);
    Condition c;
    c.type = f.String("type");
    std::string severity;
    ReadEnum(f, "severity", {"degraded", "broken"}, severity);
    c.severity = severity == "degraded" ? Severity::kDegraded : Severity::kBroken;
    c.host = f.String("host");
    const json* number = f.Get("error_number", &json::is_number_integer, "an integer");
    if (number != nullptr) c.error_number = number->get<int>();
    c.reason = f.String("reason");
    c.evidence = f.Strings("evidence");
    c.cause = f.String("cause");
    f.Finish({"type", "severity", "host", "error_number", "reason", "evidence", "cause"});
    if (f.ok() && std::none_of(plan.hosts.begin(), plan.hosts.end(),
                               [&](const HostReport& h) { return h.name == c.host; })) {
      f.Fail(f.PathOf("host"), "'" + c.host + "' is not among hosts");
    }
    plan.conditions.push_back(std::move(c));
  }
}

// A sensitive change reads "(sensitive)" both ways and the Action keeps nothing: a plan file never
// holds a secret, and one that seems to is refused rather than carried into apply.
Change ReadChange(const json& value, const std::string& path, Status& error) {
  Fields f(value, path, error);
  Change c;
  c.key = f.String("key");
  c.from = f.String("from");
  c.to = f.String("to");
  c.sensitive = f.Bool("sensitive");
  f.Finish({"key", "from", "to", "sensitive"});
  if (f.ok() && c.sensitive) {
    if (c.from != kSensitive || c.to != kSensitive) {
      f.Fail(path, "a sensitive change must read \"(sensitive)\" in from and to (a plan never holds a secret)");
    }
    c.from.clear();
    c.to.clear();
  }
  return c;
}

const std::vector<std::string>& KindNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const ActionKindName& entry : ActionKindNames()) out.push_back(entry.name);
    return out;
  }();
  return names;
}

// An action's "params", decoded into the args of its kind: every key the kind has, of its type and
// in its range, and no other. A problem is reported once, here, with the JSON path of the key and
// the action's id; the executor gets values that were checked.
class ParamsReader {
 public:
  ParamsReader(Fields& action, const std::string& id, Status& error)
      : p_(action.Object("params"), action.PathOf("params"), error), id_(id) {}

  std::string Text(std::string_view key) { return p_.String(key); }
  bool ok() const { return p_.ok(); }
  // An optional key: "" when absent; present, it must not be empty (the planner leaves it out).
  std::string OptionalText(std::string_view key) {
    std::string value = p_.OptionalString(key);
    if (p_.ok() && value.empty() && p_.Members().contains(std::string(key))) Bad(key, "empty; leave the key out");
    return value;
  }
  // Every key starting with `prefix` (without it) and its text; a value that is not a string is
  // reported.
  std::map<std::string, std::string> Prefixed(std::string_view prefix) {
    std::map<std::string, std::string> out;
    const json& members = p_.Members();
    for (auto it = members.begin(); it != members.end() && p_.ok(); ++it) {
      if (it.key().starts_with(prefix)) out[it.key().substr(prefix.size())] = Text(it.key());
    }
    return out;
  }
  void Bad(std::string_view key, const std::string& why) {
    p_.Fail(p_.PathOf(key), why + " (in " + id_ + ")");
  }
  // One of `allowed`, else reported.
  std::string Word(std::string_view key, const std::vector<std::string>& allowed) {
    std::string value = Text(key);
    if (p_.ok() && std::find(allowed.begin(), allowed.end(), value) == allowed.end()) Bad(key, OneOf(value, allowed));
    return value;
  }
  ReplicationMode Mode() {
    return Word("mode", {"gtid", "file"}) == "file" ? ReplicationMode::kFile : ReplicationMode::kGtid;
  }
  int Seconds(std::string_view key) {
    std::string text = Text(key);
    if (!p_.ok()) return 0;
    if (!IsDigits(text) || text.size() > 5 || std::stoi(text) < 1 || std::stoi(text) > kMaxWaitSeconds) {
      Bad(key, "'" + text + "' is not a whole number of seconds in 1.." + std::to_string(kMaxWaitSeconds));
      return 0;
    }
    return std::stoi(text);
  }
  // "a; b" as the planner joins grants, or "a,b" as it joins settings: the items, trimmed.
  std::vector<std::string> List(std::string_view key, char separator) {
    std::vector<std::string> out;
    std::string text = Text(key);
    size_t begin = 0;
    while (p_.ok() && begin <= text.size()) {
      size_t end = text.find(separator, begin);
      if (end == std::string::npos) end = text.size();
      std::string item(Trim(std::string_view(text).substr(begin, end - begin)));
      if (!item.empty()) out.push_back(std::move(item));
      begin = end + 1;
    }
    return out;
  }
  SetGlobalArgs Globals() {
    SetGlobalArgs args;
    std::vector<std::string> names(GlobalVariableNames().begin(), GlobalVariableNames().end());
    const json& members = p_.Members();
    for (auto it = members.begin(); it != members.end() && p_.ok(); ++it) {
      const std::string& key = it.key();
      if (std::find(names.begin(), names.end(), key) == names.end()) {
        p_.Fail(p_.PathOf(key), "unknown key" + DidYouMeanSuffix(key, names));
        break;
      }
      std::string text = Text(key);
      if (!p_.ok()) break;
      std::string why = SetGlobalFromText(args, key, text);
      if (!why.empty()) Bad(key, why);
    }
    return args;
  }
  void Finish(const std::vector<std::string>& known) { p_.Finish(known); }

 private:
  Fields p_;
  const std::string& id_;
};

ActionArgs ReadArgs(Fields& action, ActionKind kind, const std::string& id, Status& error) {
  ParamsReader p(action, id, error);
  switch (kind) {
    case ActionKind::kEditConfig: {
      EditConfigArgs a{p.Text("config_file"), {}};
      p.Word("section", {"mysqld"});
      std::vector<std::string> known = {"config_file", "section"};
      // "file.<key>": the included option file where that key is edited, an absolute path.
      for (const auto& [key, file] : p.Prefixed("file.")) {
        known.push_back("file." + key);
        if (key.empty() || !file.starts_with('/')) {
          p.Bad("file." + key, key.empty() ? "names no key" : "'" + file + "' is not an absolute path");
          break;
        }
        a.files[key] = file;
      }
      p.Finish(known);
      return a;
    }
    case ActionKind::kRestartServer: {
      RestartServerArgs a;
      a.settings = p.List("settings", ',');
      std::vector<std::string> known(RestartSettingNames().begin(), RestartSettingNames().end());
      for (const std::string& setting : a.settings) {
        if (std::find(known.begin(), known.end(), setting) == known.end()) {
          p.Bad("settings", "'" + setting + "' is not a static setting replplan restarts for (" + Join(known) + ")");
          break;
        }
      }
      a.catch_up_from = p.OptionalText("catch_up_from");
      if (!a.catch_up_from.empty()) a.catch_up_timeout_s = p.Seconds("catch_up_timeout_s");
      a.switchover_to = p.OptionalText("switchover_to");
      if (!a.switchover_to.empty()) {
        std::string back = p.OptionalText("switch_back");
        if (!back.empty() && back != "no") p.Bad("switch_back", "'" + back + "' is not no");
        a.switch_back = back.empty();
      }
      p.Finish({"settings", "catch_up_from", "catch_up_timeout_s", "switchover_to", "switch_back"});
      return a;
    }
    case ActionKind::kSetGlobal: return p.Globals();
    case ActionKind::kCreateReplicationUser: {
      CreateReplicationUserArgs a{p.Text("user"), p.Text("host")};
      p.Word("binlog", {"off"});
      p.Finish({"user", "host", "binlog"});
      return a;
    }
    case ActionKind::kCreateDatabase: {
      CreateDatabaseArgs a{p.Text("database"), p.Text("charset"), p.Text("collation")};
      p.Finish({"database", "charset", "collation"});
      return a;
    }
    case ActionKind::kCreateUser: {
      CreateUserArgs a{p.Text("user"), p.Text("host"), p.List("grants", ';'), false};
      std::string binlog = p.OptionalText("binlog");
      if (!binlog.empty() && binlog != "off") p.Bad("binlog", "'" + binlog + "' is not off");
      a.binlog_off = binlog == "off";
      p.Finish({"user", "host", "grants", "binlog"});
      return a;
    }
    case ActionKind::kGrantPrivileges: {
      GrantPrivilegesArgs a{p.Text("user"), p.Text("host"), p.List("grants", ';'), false};
      std::string binlog = p.OptionalText("binlog");
      if (!binlog.empty() && binlog != "off") p.Bad("binlog", "'" + binlog + "' is not off");
      a.binlog_off = binlog == "off";
      p.Finish({"user", "host", "grants", "binlog"});
      return a;
    }
    case ActionKind::kSeedReplica: {
      SeedReplicaArgs a{p.Text("source"), p.Mode(), p.OptionalText("drops")};
      p.Finish({"source", "mode", "drops"});
      return a;
    }
    case ActionKind::kChangeSource: {
      ChangeSourceArgs a;
      a.source = p.Text("source");
      a.mode = p.Mode();
      a.use_gtid = UseGtidFromString(p.Word("use_gtid", {"slave_pos", "current_pos", "no"})).value_or(UseGtid::kNo);
      a.position = StartPositionFromString(p.Word("position", {"keep", "from-seed", "from-binlog", "at"}))
                       .value_or(StartPosition::kKeep);
      if (a.position == StartPosition::kAt) {
        a.log_file = p.Text("log_file");
        std::string pos = p.Text("log_pos");
        if (!IsDigits(pos) || pos.size() > 19 || std::stoull(pos) == 0) {
          p.Bad("log_pos", "'" + pos + "' is not a binlog position (a whole number from 1)");
        } else {
          a.log_pos = std::stoull(pos);
        }
        p.Finish({"source", "mode", "use_gtid", "position", "log_file", "log_pos"});
      } else {
        p.Finish({"source", "mode", "use_gtid", "position"});
      }
      return a;
    }
    case ActionKind::kResetReplica: {
      ResetReplicaArgs a{p.Text("connection_name")};
      p.Finish({"connection_name"});
      return a;
    }
    case ActionKind::kInjectEmptyTransactions: {
      InjectEmptyTransactionsArgs a{p.Text("replica"), {}};
      for (const std::string& text : p.List("gtids", ',')) {
        auto range = GtidRange::Parse(text);
        if (!range.ok()) {
          p.Bad("gtids", range.status().message());
          break;
        }
        a.gtids.push_back(*range);
      }
      p.Finish({"replica", "gtids"});
      return a;
    }
    case ActionKind::kWaitForCatchUp: {
      WaitForCatchUpArgs a{p.Text("source"), p.Seconds("timeout_s")};
      p.Finish({"source", "timeout_s"});
      return a;
    }
    case ActionKind::kApplyRelayLog: {
      ApplyRelayLogArgs a{p.Text("source"), p.Seconds("timeout_s")};
      p.Finish({"source", "timeout_s"});
      return a;
    }
    case ActionKind::kPromoteReplica: {
      PromoteReplicaArgs a{p.Text("source")};
      p.Finish({"source"});
      return a;
    }
    case ActionKind::kRewriteAppConfig: {
      RewriteAppConfigArgs a{p.Text("app"), p.Text("primary")};
      p.Finish({"app", "primary"});
      return a;
    }
    case ActionKind::kRestartApp: {
      RestartAppArgs a{p.Text("app")};
      p.Finish({"app"});
      return a;
    }
    case ActionKind::kSkipTransaction: {
      // File/position: the event group at log_file:log_pos, its GTID (optional) only named.
      SkipTransactionArgs a;
      a.log_file = p.OptionalText("log_file");
      const bool at_position = !a.log_file.empty();
      a.gtid = at_position ? p.OptionalText("gtid") : p.Text("gtid");
      auto gtid = GtidPosition::Parse(a.gtid);
      if (p.ok() && (!at_position || !a.gtid.empty()) &&
          (!gtid.ok() || gtid->entries().size() != 1 || a.gtid.find(',') != std::string::npos)) {
        p.Bad("gtid", "'" + a.gtid + "' is not one GTID (domain-server_id-seq)");
      }
      if (at_position) {
        std::string pos = p.Text("log_pos");
        if (!IsDigits(pos) || pos.size() > 19 || std::stoull(pos) == 0) {
          p.Bad("log_pos", "'" + pos + "' is not a binlog position (a whole number from 1)");
        } else {
          a.log_pos = std::stoull(pos);
        }
      }
      p.Finish({"gtid", "log_file", "log_pos"});
      return a;
    }
    case ActionKind::kCheckHealth: {
      CheckHealthArgs a{p.Text("app")};
      p.Finish({"app"});
      return a;
    }
    case ActionKind::kStartReplica:
    case ActionKind::kFencePrimary: break;
  }
  p.Finish({});
  return DefaultArgs(kind);
}

// What an action may refer to: the hosts of the plan and the actions before it.
struct Known {
  std::vector<std::string> hosts;
  std::vector<std::string> earlier_ids;
  std::set<std::string> all_ids;  // every id in the plan, to tell "later" from "unknown"
};

void ReadDependencies(Fields& f, const std::string& path, const Known& known, std::vector<std::string>& out) {
  out = f.Strings("depends_on");
  for (size_t i = 0; i < out.size() && f.ok(); ++i) {
    const std::string& id = out[i];
    std::string where = Index(f.PathOf("depends_on"), i);
    if (std::find(known.earlier_ids.begin(), known.earlier_ids.end(), id) != known.earlier_ids.end()) continue;
    if (known.all_ids.count(id) != 0) {
      f.Fail(where, "'" + id + "' does not come before " + path +
                        " (an action must come after everything it depends on)");
    } else {
      f.Fail(where, "unknown action id '" + id + "'" + DidYouMeanSuffix(id, known.earlier_ids));
    }
  }
}

PlannedAction ReadAction(const json& value, const std::string& path, const Known& known, Status& error) {
  Fields f(value, path, error);
  PlannedAction pa;
  Action& a = pa.action;
  a.id = f.String("id");
  if (f.ok() && a.id.empty()) f.Fail(f.PathOf("id"), "empty; an action needs an id");
  std::string kind = f.String("kind");
  if (f.ok()) {
    auto parsed = ActionKindFromString(kind);
    if (!parsed) f.Fail(f.PathOf("kind"), "unknown action kind '" + kind + "'" + DidYouMeanSuffix(kind, KindNames()));
    a.kind = parsed.value_or(ActionKind::kEditConfig);
  }
  a.host = f.String("host");
  if (f.ok() && std::find(known.hosts.begin(), known.hosts.end(), a.host) == known.hosts.end()) {
    f.Fail(f.PathOf("host"), "'" + a.host + "' is not among hosts" + DidYouMeanSuffix(a.host, known.hosts));
  }
  a.summary = f.String("summary");
  a.reasons = f.Strings("reasons");
  const json& changes = f.Array("changes");
  for (size_t i = 0; i < changes.size() && f.ok(); ++i) {
    a.changes.push_back(ReadChange(changes[i], Index(f.PathOf("changes"), i), error));
  }
  a.destructive = f.Bool("destructive");
  a.SetArgs(ReadArgs(f, a.kind, a.id, error));
  ReadDependencies(f, path, known, pa.depends_on);
  f.Finish({"id", "kind", "host", "summary", "reasons", "changes", "destructive", "params", "depends_on"});
  return pa;
}

void ReadHosts(Fields& top, Plan& plan, Status& error) {
  const json& hosts = top.Array("hosts");
  for (size_t i = 0; i < hosts.size() && error.ok(); ++i) {
    std::string path = Index("hosts", i);
    HostReport h = ReadHost(hosts[i], path, error);
    if (!error.ok()) return;
    for (const HostReport& other : plan.hosts) {
      if (other.name == h.name) top.Fail(path + ".name", "duplicate host '" + h.name + "'");
    }
    plan.hosts.push_back(std::move(h));
  }
}

void ReadActions(Fields& top, Plan& plan, Status& error) {
  const json& actions = top.Array("actions");
  Known known;
  for (const HostReport& h : plan.hosts) known.hosts.push_back(h.name);
  for (const json& a : actions) {
    if (a.is_object() && a.contains("id") && a["id"].is_string()) known.all_ids.insert(a["id"].get<std::string>());
  }
  for (size_t i = 0; i < actions.size() && error.ok(); ++i) {
    std::string path = Index("actions", i);
    PlannedAction pa = ReadAction(actions[i], path, known, error);
    if (!error.ok()) return;
    const std::string& id = pa.action.id;
    if (std::find(known.earlier_ids.begin(), known.earlier_ids.end(), id) != known.earlier_ids.end()) {
      top.Fail(path + ".id", "duplicate action id '" + id + "'");
      return;
    }
    known.earlier_ids.push_back(id);
    plan.actions.push_back(std::move(pa));
  }
}

// Read before anything else: a plan from another format version should say so, not fail on the
// first field that moved.
void ReadFormatVersion(Fields& top) {
  const json* v = top.Get("format_version", &json::is_number_integer, "an integer");
  if (v != nullptr && *v != 1) {
    top.Fail("format_version", v->dump() + " is not supported: this replplan reads format_version 1 "
                               "(make the plan again with this version)");
  }
}

Plan ReadPlan(const json& document, Status& error) {
  Fields top(document, "", error);
  Plan plan;
  ReadFormatVersion(top);
  plan.topology_file = top.String("topology_file");
  plan.cluster = top.String("cluster");
  ReadEnum(top, "flavor", {"mariadb", "mysql"}, plan.flavor);
  ReadEnum(top, "replication_mode", {"gtid", "file"}, plan.replication_mode);
  ReadDigest(top, "state_fingerprint", /*required=*/true, plan.state_fingerprint);
  ReadDigest(top, "topology_digest", /*required=*/false, plan.topology_digest);
  plan.created_at = top.OptionalString("created_at");
  top.Bool("complete");  // derived from hosts
  top.Object("summary");  // derived from hosts and actions
  ReadHosts(top, plan, error);
  plan.primary = top.String("primary");
  if (top.ok() && std::none_of(plan.hosts.begin(), plan.hosts.end(),
                               [&](const HostReport& h) { return h.name == plan.primary; })) {
    std::vector<std::string> names;
    for (const HostReport& h : plan.hosts) names.push_back(h.name);
    top.Fail("primary", "'" + plan.primary + "' is not among hosts" + DidYouMeanSuffix(plan.primary, names));
  }
  ReadConditions(top, plan, error);
  ReadActions(top, plan, error);
  ReadPrimaryChange(top, plan, error);
  top.Finish({"format_version", "topology_file", "cluster", "primary", "flavor", "replication_mode", "complete",
              "state_fingerprint", "topology_digest", "created_at", "summary", "hosts", "conditions",
              "actions", "primary_change"});
  return plan;
}

}  // namespace

Result<Plan> PlanFromJson(const nlohmann::json& json) {
  Status error;
  try {
    Plan plan = ReadPlan(json, error);
    if (!error.ok()) return error;
    return plan;
  } catch (const nlohmann::json::exception& e) {
    // The reader checks every type before converting, so this is a bug here, not in the plan.
    return Status::Internal(std::string("reading plan JSON: ") + e.what());
  }
}

}  // namespace replplan
