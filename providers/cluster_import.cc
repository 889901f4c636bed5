#include "providers/cluster_import.h"

#include <algorithm>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

#include "engine/cluster_epoch.h"
#include "engine/database_yml.h"
#include "engine/desired_config.h"
#include "engine/effective_config.h"
#include "engine/shell_quote.h"
#include "engine/sql_quote.h"
#include "engine/text.h"
#include "engine/topology_parser.h"
#include "engine/topology_render.h"

namespace replplan {
namespace {

constexpr const char* kDefaultConfigFile = "/etc/mysql/my.cnf";

// What every server is asked first, in the fake's SELECT @@GLOBAL.x AS a form.
const std::vector<std::pair<std::string, std::string>>& IdentityVariables() {
  static const std::vector<std::pair<std::string, std::string>> vars = {
      {"server_id", "server_id"},   {"hostname", "hostname"},     {"report_host", "report_host"},
      {"datadir", "datadir"},       {"log_bin", "log_bin"},
      {"log_bin_basename", "log_bin_basename"},                  {"read_only", "read_only"},
      {"binlog_format", "binlog_format"},                        {"pid_file", "pid_file"},
      {"rpl_semi_sync_master_enabled", "semi_sync"},
      {"slave_net_timeout", "slave_net_timeout"}, {"bind_address", "bind_address"}};
  return vars;
}

struct Endpoint {
  std::string host;  // lower case
  int port = 3306;
  bool operator<(const Endpoint& o) const { return std::tie(host, port) < std::tie(o.host, o.port); }
  std::string Text() const { return host + ":" + std::to_string(port); }
};

// How a server was found; `via` is the endpoint host of the server that led there.
enum class How { kNamed, kSourceOf, kListedBy, kDumpThread };

// Where to look next, and why.
struct Lead {
  Endpoint at;
  How how = How::kNamed;
  std::string via;
  uint32_t listed_id = 0;  // kListedBy: the server_id SHOW SLAVE HOSTS gives it
  bool seed() const { return how == How::kNamed; }
};

struct Found {
  Endpoint at;
  How how = How::kNamed;
  std::string via;
  Row vars;
  std::vector<ReplicaChannel> channels;
  std::vector<Row> slave_hosts;         // SHOW SLAVE HOSTS: Server_id, Host, Port
  std::vector<std::string> dump_peers;  // PROCESSLIST HOST of binlog dump threads, port removed
  std::string name;
  uint32_t server_id = 0;
  std::string Identity() const { return vars.at("server_id") + "|" + vars.at("hostname") + "|" + vars.at("datadir"); }
};

bool IsOn(const std::string& value) { return value == "1" || Upper(value) == "ON"; }

// An IPv4 address or anything of digits and dots: an address, not a name.
bool LooksLikeAddress(const std::string& s) {
  return s.find_first_not_of("0123456789.") == std::string::npos || s.find(':') != std::string::npos;
}

Endpoint ParseEndpoint(const std::string& text, int default_port) {
  Endpoint e{Lower(text), default_port};
  size_t colon = text.rfind(':');
  if (colon != std::string::npos && text.find(':') == colon && IsDigits(text.substr(colon + 1))) {
    e.host = Lower(text.substr(0, colon));
    e.port = std::stoi(text.substr(colon + 1));
  }
  return e;
}

// "127.0.0.1:51798" or "[::1]:51798" as PROCESSLIST shows a TCP client: the host part.
std::string PeerHost(const std::string& host) {
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    return close == std::string::npos ? host : host.substr(1, close - 1);
  }
  size_t colon = host.rfind(':');
  return colon == std::string::npos || host.find(':') != colon ? host : host.substr(0, colon);
}

ServerSpec SessionSpec(const ImportRequest& request, const Endpoint& at) {
  ServerSpec spec;
  spec.name = at.host;
  spec.address = at.host;
  spec.ssh = request.ssh;
  spec.mysql = request.mysql;
  spec.mysql.port = at.port;
  return spec;
}

Result<Found> ReadServer(ServerSession& session, const Lead& lead) {
  Found found;
  found.at = lead.at;
  found.how = lead.how;
  found.via = lead.via;
  // The version first: a MySQL server would refuse the MariaDB variables below, and say less.
  auto version = session.Global("version");
  if (!version.ok()) return version.status();
  if (version->find("MariaDB") == std::string::npos) {
    return Status::FailedPrecondition(session.name() + " is not MariaDB (version " + *version +
                                      "): replplan import reads MariaDB servers only");
  }
  std::string select = "SELECT ";
  for (size_t i = 0; i < IdentityVariables().size(); ++i) {
    const auto& [variable, alias] = IdentityVariables()[i];
    select += (i > 0 ? ", @@GLOBAL." : "@@GLOBAL.") + variable + " AS " + alias;
  }
  auto vars = session.Query(select, {}, "reading who it is (server_id, hostname, datadir, log_bin, ...)");
  if (!vars.ok()) return vars.status();
  if (vars->empty()) return Status::Internal(session.name() + ": reading server_id gave no row");
  found.vars = vars->front();
  for (const auto& [variable, alias] : IdentityVariables()) found.vars.emplace(alias, "");
  if (!IsDigits(found.vars["server_id"])) {
    return Status::Internal(session.name() + ": server_id '" + found.vars["server_id"] + "' is not a number");
  }
  found.server_id = static_cast<uint32_t>(std::stoul(found.vars["server_id"]));
  auto channels = session.AllReplicaChannels();
  if (!channels.ok()) return channels.status();
  found.channels = std::move(*channels);
  auto hosts = session.Query("SHOW SLAVE HOSTS");
  if (!hosts.ok()) return hosts.status();
  found.slave_hosts = std::move(*hosts);
  auto dumps = session.Query(
      "SELECT HOST FROM information_schema.PROCESSLIST WHERE COMMAND IN ('Binlog Dump', 'Binlog Dump GTID')");
  if (!dumps.ok()) return dumps.status();
  for (const Row& row : *dumps) {
    auto host = row.find("HOST");
    found.dump_peers.push_back(PeerHost(host == row.end() ? "" : host->second));
  }
  return found;
}

// The process's --defaults-file over SSH (from the pid file the server names); "" when it runs
// without one. Errors: SSH, or the process cannot be read.
Result<std::string> DefaultsFileOf(ServerSession& session, const std::string& pid_file) {
  auto run = session.Run("tr '\\0' '\\n' < /proc/\"$(cat -- " + ShellQuote(pid_file) + ")\"/cmdline");
  if (!run.ok()) return run.status();
  if (run->exit_status != 0) {
    return Status::FailedPrecondition("the command line of the process in " + pid_file +
                                      " cannot be read: " + std::string(TrimEnd(run->err)));
  }
  for (std::string_view rest = run->out; !rest.empty();) {
    size_t end = rest.find('\n');
    std::string_view arg = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    if (arg.starts_with("--defaults-file=")) return std::string(arg.substr(16));
  }
  return std::string();
}

// config_file and what it includes, resolved (engine/effective_config.h). Directories are listed
// with ls, files read in one ReadFiles per level.
Result<EffectiveConfig> ReadEffectiveConfig(ServerSession& session, const std::string& config_file) {
  auto main = session.ReadFile(config_file);
  if (!main.ok()) return main.status();
  if (!main->has_value()) return Status::NotFound(config_file + " does not exist");
  OptionFiles included;
  EffectiveConfig config;
  for (int round = 0; round <= 10; ++round) {
    config = ResolveEffectiveConfig(config_file, **main, included);
    if (config.complete()) break;
    for (const std::string& dir : config.unread_dirs) {
      auto listed = session.Run("ls -1A -- " + ShellQuote(dir));
      if (!listed.ok()) return listed.status();
      OptionDirRead read;
      read.read_ok = true;
      read.exists = listed->exit_status == 0;
      for (std::string_view rest = listed->out; !rest.empty();) {
        size_t end = rest.find('\n');
        if (end > 0) read.names.emplace_back(rest.substr(0, end));
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
      }
      included.dirs[dir] = std::move(read);
    }
    config = ResolveEffectiveConfig(config_file, **main, included);
    if (config.unread_files.empty()) continue;
    auto files = session.ReadFiles(config.unread_files);
    if (!files.ok()) return files.status();
    for (size_t i = 0; i < config.unread_files.size() && i < files->size(); ++i) {
      FileRead& f = (*files)[i];
      included.files[config.unread_files[i]] = {f.read_ok, f.exists, std::move(f.text), std::move(f.error)};
    }
  }
  return config;
}

// The server's name in the file: --name, else report_host when it is a name, else its hostname's
// first label when no other server shares it, else server-<server_id>.
void NameServers(std::vector<Found>& servers, const ImportRequest& request) {
  std::map<std::string, int> hostnames;
  for (const Found& f : servers) hostnames[Lower(f.vars.at("hostname").substr(0, f.vars.at("hostname").find('.')))]++;
  std::set<std::string> taken;
  for (Found& f : servers) {
    std::string name;
    auto named = request.names.find(f.at.host);
    std::string report = f.vars.at("report_host");
    std::string host = f.vars.at("hostname").substr(0, f.vars.at("hostname").find('.'));
    if (named != request.names.end()) {
      name = named->second;
    } else if (IsTopologyServerName(report) && !LooksLikeAddress(report) && Lower(report) != "localhost") {
      name = report;
    } else if (IsTopologyServerName(host) && !LooksLikeAddress(host) && hostnames[Lower(host)] == 1 &&
               Lower(host) != "localhost") {
      name = host;
    } else {
      name = "server-" + std::to_string(f.server_id);
    }
    if (taken.count(name) != 0) name += "-" + std::to_string(f.server_id);
    taken.insert(name);
    f.name = name;
  }
}

std::string MostCommon(const std::vector<std::string>& values) {
  std::map<std::string, int> count;
  for (const std::string& v : values) count[v]++;
  std::string best;
  int most = 0;
  for (const auto& [value, n] : count) {
    if (n > most) best = value, most = n;
  }
  return best;
}

// The [[server]] of one server found: its option file read over SSH (what SSH cannot read leaves
// the defaults, and a note), log_bin and bind_address as the operator wrote them.
Result<ServerSpec> ServerFrom(SessionFactory& sessions, const ImportRequest& request, Found& f, bool primary,
                              const std::string& address, std::vector<std::string>& notes) {
  ServerSpec spec;
  spec.name = f.name;
  spec.address = address;
  spec.server_id = f.server_id;
  spec.ssh = request.ssh;
  spec.mysql = request.mysql;
  spec.mysql.port = f.at.port;
  if (!IsTopologyAddress(spec.address)) {
    return Status::FailedPrecondition(f.name + " is reached at '" + spec.address +
                                      "', which a topology file cannot hold (an IPv4 address or a hostname): name it "
                                      "on the command line by one");
  }

  std::optional<EffectiveConfig> config;
  auto session = sessions.Open(SessionSpec(request, f.at));
  auto defaults_file = f.vars["pid_file"].empty() ? Result<std::string>(Status::NotFound("@@pid_file is empty"))
                                                  : DefaultsFileOf(*session, f.vars["pid_file"]);
  if (!defaults_file.ok()) {
    notes.push_back(f.name + ": config_file is the default " + spec.config_file + ": the server's command line " +
                    "was not read (" + defaults_file.status().message() + ")");
  } else {
    spec.config_file = defaults_file->empty() ? kDefaultConfigFile : *defaults_file;
    auto read = ReadEffectiveConfig(*session, spec.config_file);
    if (read.ok()) {
      config = std::move(*read);
    } else {
      notes.push_back(f.name + ": " + spec.config_file + " was not read (" + read.status().message() +
                      "): log_bin and bind_address are written as the server runs them");
    }
  }
  auto configured = [&](const std::string& key, const std::string& otherwise) {
    if (!config || config->settings.count(key) == 0) return otherwise;
    return config->settings.at(key);
  };

  // bind_address as the option file writes it, else as the server runs it; the address itself
  // (replplan's default) is not written.
  std::string bind = configured("bind_address", f.vars["bind_address"]);
  if (!bind.empty() && bind != spec.address) {
    if (IsTopologyAddress(bind)) {
      spec.bind_address = bind;
    } else {
      notes.push_back(f.name + " listens on bind_address '" + bind + "', which a topology file cannot say (an IPv4 "
                      "address or a hostname): plan sets it to " + spec.address + " (a restart)");
    }
  }

  const std::string basename = f.vars["log_bin_basename"];
  const std::string datadir = f.vars["datadir"];
  const std::string log_bin = configured("log_bin", "");
  if (IsOn(f.vars["log_bin"]) && !log_bin.empty() && BinlogBasenameMatches(log_bin, basename, datadir)) {
    spec.log_bin = log_bin;
  } else if (IsOn(f.vars["log_bin"]) && !basename.empty()) {
    spec.log_bin = LogBinAsWritten(basename, datadir);
  } else {
    spec.log_bin = "mysql-bin";
    notes.push_back(f.name + ": log_bin is OFF; the file says mysql-bin (in the datadir), which plan turns on "
                    "(a restart)");
  }
  if (primary && IsOn(f.vars["read_only"])) {
    notes.push_back(f.name + " (the primary) is read-only now: apply makes it writable");
  }
  if (!primary && !IsOn(f.vars["read_only"])) {
    notes.push_back(f.name + " (a replica) is writable now: plan makes it read-only");
  }
  return spec;
}

// The primary's databases, without the system ones and replplan's own (`replplan_schema` says
// whether that one is there); the collation only where it is not the charset's default.
Result<std::vector<DatabaseSpec>> DatabasesOn(ServerSession& session, bool* replplan_schema) {
  auto schemata = session.Query(
      "SELECT s.SCHEMA_NAME AS name, s.DEFAULT_CHARACTER_SET_NAME AS charset, s.DEFAULT_COLLATION_NAME AS "
      "collation, c.IS_DEFAULT AS is_default FROM information_schema.SCHEMATA s JOIN information_schema.COLLATIONS c "
      "ON c.COLLATION_NAME = s.DEFAULT_COLLATION_NAME ORDER BY s.SCHEMA_NAME");
  if (!schemata.ok()) return schemata.status();
  static const std::set<std::string> kSystem = {"information_schema", "mysql", "performance_schema", "sys",
                                                "replplan"};
  std::vector<DatabaseSpec> out;
  *replplan_schema = false;
  for (Row& row : *schemata) {
    if (row["name"] == kEpochSchema) *replplan_schema = true;
    if (row["name"].empty() || kSystem.count(row["name"]) != 0) continue;
    DatabaseSpec db;
    db.name = row["name"];
    db.charset = row["charset"].empty() ? db.charset : row["charset"];
    if (row["is_default"] != "Yes") db.collation = row["collation"];
    out.push_back(std::move(db));
  }
  return out;
}

// The walk over the cluster: every server reached from the seeds, by endpoint, and what each
// said. Discover() finds them; Check() refuses what is not one complete cluster.
class ClusterWalk {
 public:
  ClusterWalk(SessionFactory& sessions, const ImportRequest& request)
      : sessions_(sessions), request_(request), default_port_(request.mysql.port) {
    // A host a server names (a channel's source, a SHOW SLAVE HOSTS entry) that --name gives as a
    // server's name is looked for at that server's address: replplan sets report_host to the
    // name, which need not resolve where import runs.
    for (const auto& [address, name] : request.names) address_of_name_[Lower(name)] = Lower(address);
  }

  std::vector<Found>& servers() { return servers_; }
  const std::vector<Found>& servers() const { return servers_; }
  const std::vector<std::string>& leftovers() const { return leftovers_; }

  // Reads the seeds, every source up to the primary, every listed replica, then the addresses of
  // dump threads no replica found accounts for; names the servers.
  Status Discover() {
    for (const std::string& host : request_.hosts) {
      leads_.push_back({ParseEndpoint(host, default_port_), How::kNamed, ""});
    }
    Status walked = Follow();
    if (!walked.ok()) return walked;
    for (size_t s = 0; s < servers_.size(); ++s) {
      if (Missing(s, nullptr) == 0) continue;
      for (const std::string& peer : servers_[s].dump_peers) {
        Endpoint e{Lower(peer), default_port_};
        if (tried_.count(e) == 0) leads_.push_back({e, How::kDumpThread, servers_[s].at.host});
      }
      walked = Follow();
      if (!walked.ok()) return walked;
    }
    // A server listed by a former source (a leftover after a switchover) and by its source now is
    // said to be found through the latter, whichever was read first.
    for (Found& f : servers_) {
      if (f.how != How::kListedBy) continue;
      for (const ReplicaChannel& channel : f.channels) {
        std::optional<size_t> source = SourceOf(channel);
        if (source && Lists(servers_[*source], f.server_id)) f.via = servers_[*source].at.host;
      }
    }
    NameServers(servers_, request_);
    return Status::OK();
  }

  // Every replica a server serves found, every source answered.
  Status Check() {
    for (size_t s = 0; s < servers_.size(); ++s) {
      std::vector<std::string> why;
      int count = Missing(s, &why);
      if (count == 0) continue;
      std::vector<std::string> peers;
      const std::set<std::string> distinct(servers_[s].dump_peers.begin(), servers_[s].dump_peers.end());
      for (const std::string& peer : distinct) {
        auto f = failed_.find({Lower(peer), default_port_});
        peers.push_back(peer + (f != failed_.end() && why.empty() ? " (does not answer: " + f->second + ")" : ""));
      }
      return Status::FailedPrecondition(
          servers_[s].name + " serves " + std::to_string(count) + " replica(s) that were not found" +
          (why.empty() ? "" : ": " + Join(why, "; ")) +
          (peers.empty() ? "" : "; its binlog dump threads come from " + Join(peers)) +
          ". Name each missing replica on the command line (replplan import " + servers_[s].at.host +
          " REPLICA_ADDRESS ...)");
    }
    for (const Found& f : servers_) {
      for (const ReplicaChannel& channel : f.channels) {
        if (SourceOf(channel)) continue;
        Endpoint e = SourceEndpoint(channel);
        auto why = failed_.find(e);
        return Status::FailedPrecondition(f.name + " replicates from " + e.Text() + ", which does not answer" +
                                          (why != failed_.end() ? " (" + why->second + ")" : "") +
                                          ": import reads a running cluster; start it, or name its address on the "
                                          "command line if the replica reaches it by another name");
      }
    }
    return Status::OK();
  }

  // The server a channel replicates from; nullopt when its source did not answer.
  std::optional<size_t> SourceOf(const ReplicaChannel& channel) const {
    auto it = at_.find(SourceEndpoint(channel));
    if (it == at_.end()) return std::nullopt;
    return it->second;
  }

  // Whether import read a server at this endpoint.
  bool Reached(const Endpoint& e) const { return at_.count(e) != 0; }

  std::string HowFound(const Found& f) const {
    switch (f.how) {
      case How::kNamed: return "named on the command line";
      case How::kSourceOf: return "the source of " + NameAt(f.via);
      case How::kListedBy: return "listed by SHOW SLAVE HOSTS on " + NameAt(f.via);
      case How::kDumpThread:
        return "a binlog dump thread on " + NameAt(f.via) +
               " comes from this address (SHOW SLAVE HOSTS did not lead here: report_host unset, or not an address "
               "that answers)";
    }
    return "";
  }

 private:
  Endpoint Named(const std::string& host, int port) const {
    auto it = address_of_name_.find(Lower(host));
    return Endpoint{it == address_of_name_.end() ? Lower(host) : it->second, port > 0 ? port : default_port_};
  }
  Endpoint SourceEndpoint(const ReplicaChannel& channel) const {
    Endpoint e = ParseEndpoint(channel.source_host, channel.source_port > 0 ? channel.source_port : default_port_);
    return Named(e.host, e.port);
  }
  // Whether a channel of `f` replicates from the server read at host `via` (its source may be a
  // name of that server not read yet: it is read now to tell).
  bool ReplicatesFrom(const Found& f, const std::string& via) {
    for (const ReplicaChannel& channel : f.channels) {
      std::optional<size_t> source = Identify(SourceEndpoint(channel));
      if (source && servers_[*source].at.host == via) return true;
    }
    return false;
  }
  // The server found that answers at `e`, reading it when it was not tried; nullopt when it is none
  // of them (then it is left to be followed as any lead).
  std::optional<size_t> Identify(const Endpoint& e) {
    auto it = at_.find(e);
    if (it != at_.end()) return it->second;
    if (tried_.count(e) != 0) return std::nullopt;
    auto session = sessions_.Open(SessionSpec(request_, e));
    auto found = ReadServer(*session, Lead{e, How::kSourceOf, ""});
    if (!found.ok()) return std::nullopt;
    for (size_t i = 0; i < servers_.size(); ++i) {
      if (servers_[i].Identity() == found->Identity()) {
        tried_.insert(e);
        at_[e] = i;
        return i;
      }
    }
    return std::nullopt;
  }
  static bool Lists(const Found& server, uint32_t server_id) {
    return std::any_of(server.slave_hosts.begin(), server.slave_hosts.end(), [&](const Row& row) {
      auto id = row.find("Server_id");
      return id != row.end() && id->second == std::to_string(server_id);
    });
  }
  std::string NameAt(const std::string& host) const {
    for (const Found& f : servers_) {
      if (f.at.host == host) return f.name;
    }
    return host;
  }

  // Reads every lead not tried yet, adding the leads each server gives.
  Status Follow() {
    while (!leads_.empty()) {
      Lead lead = std::move(leads_.front());
      leads_.pop_front();
      if (!tried_.insert(lead.at).second) continue;
      auto session = sessions_.Open(SessionSpec(request_, lead.at));
      auto found = ReadServer(*session, lead);
      if (!found.ok()) {
        if (lead.seed()) return found.status();
        failed_[lead.at] = found.status().message();
        continue;
      }
      // A listed host or a dump thread's address must answer as the replica it stands for, not as
      // some other server there (a "localhost" that is another server on this machine).
      if (lead.how == How::kListedBy && found->server_id != lead.listed_id) {
        failed_[lead.at] = "answers as server_id " + std::to_string(found->server_id);
        continue;
      }
      if (lead.how == How::kDumpThread && !ReplicatesFrom(*found, lead.via)) {
        failed_[lead.at] = "answers as a server that does not replicate from " + lead.via;
        continue;
      }
      size_t index = servers_.size();
      for (size_t i = 0; i < servers_.size(); ++i) {
        if (servers_[i].Identity() == found->Identity()) index = i;
      }
      at_[lead.at] = index;
      if (index < servers_.size()) continue;  // the same server under another name
      for (const Found& other : servers_) {
        if (other.server_id == found->server_id) {
          return Status::FailedPrecondition(
              lead.at.Text() + " and " + other.at.Text() + " both have server_id " + std::to_string(found->server_id) +
              ": replication needs a distinct server_id on every server; give each its own first");
        }
      }
      servers_.push_back(std::move(*found));
      const Found& f = servers_.back();
      for (const ReplicaChannel& channel : f.channels) {
        leads_.push_back({SourceEndpoint(channel), How::kSourceOf, f.at.host});
      }
      for (const Row& row : f.slave_hosts) {
        auto host = row.find("Host");
        auto port = row.find("Port");
        if (host == row.end() || host->second.empty()) continue;
        auto id = row.find("Server_id");
        if (id == row.end() || !IsDigits(id->second) || id->second.size() > 10) continue;
        int p = port != row.end() && IsDigits(port->second) ? std::stoi(port->second) : default_port_;
        leads_.push_back({Named(host->second, p), How::kListedBy, f.at.host,
                          static_cast<uint32_t>(std::stoul(id->second))});
      }
    }
    return Status::OK();
  }

  // How many replicas server `s` serves that were not found: SHOW SLAVE HOSTS server_ids not found,
  // and binlog dump threads beyond the replicas found. A server found that replicates from
  // elsewhere now (after a switchover) may still be listed, with its dump thread: MariaDB ends that
  // thread only when it next sends an event. Not missing; noted (with `why`, the reasons).
  int Missing(size_t s, std::vector<std::string>* why) {
    std::set<uint32_t> found_ids;
    for (const Found& f : servers_) {
      for (const ReplicaChannel& channel : f.channels) {
        if (SourceOf(channel) == s) found_ids.insert(f.server_id);
      }
    }
    int unfound = 0, left_over = 0;
    for (const Row& row : servers_[s].slave_hosts) {
      auto id = row.find("Server_id");
      if (id == row.end() || !IsDigits(id->second) || found_ids.count(std::stoul(id->second)) != 0) continue;
      auto elsewhere = std::find_if(servers_.begin(), servers_.end(),
                                    [&](const Found& f) { return std::to_string(f.server_id) == id->second; });
      if (elsewhere != servers_.end()) {
        ++left_over;
        if (why != nullptr) {
          leftovers_.push_back(servers_[s].name + " still lists " + elsewhere->name + " (server_id " + id->second +
                               ") in SHOW SLAVE HOSTS, which replicates from elsewhere now: a dump thread left over, "
                               "ended at the next event " + servers_[s].name + " sends");
        }
        continue;
      }
      ++unfound;
      if (why != nullptr) {
        auto host = row.find("Host");
        auto port = row.find("Port");
        Endpoint e = Named(host == row.end() ? "" : host->second,
                           port != row.end() && IsDigits(port->second) ? std::stoi(port->second) : default_port_);
        auto f = failed_.find(e);
        why->push_back("SHOW SLAVE HOSTS lists server_id " + id->second + " as " + e.Text() +
                       (f != failed_.end() ? ", which does not answer as that replica (" + f->second + ")"
                                           : ", which is another server"));
      }
    }
    int beyond = static_cast<int>(servers_[s].dump_peers.size()) - static_cast<int>(found_ids.size()) - left_over;
    return std::max(unfound, beyond);
  }

  SessionFactory& sessions_;
  const ImportRequest& request_;
  const int default_port_;
  std::map<std::string, std::string> address_of_name_;
  std::vector<Found> servers_;
  std::map<Endpoint, size_t> at_;          // every endpoint that answered -> its server
  std::map<Endpoint, std::string> failed_;  // endpoint -> why it did not answer as a server
  std::set<Endpoint> tried_;
  std::deque<Lead> leads_;
  std::vector<std::string> leftovers_;
};

// [replication]: the account and mode the replicas use, the primary's binlog format and
// semi-sync, failure detection a whole cluster keeps tighter than replplan's defaults.
Status ImportReplication(const ClusterWalk& walk, size_t primary, const ImportRequest& request,
                         ServerSession& primary_session, ImportedCluster& out) {
  const std::vector<Found>& servers = walk.servers();
  const Found& p = servers[primary];
  Topology& t = out.topology;
  // Replication: the account and mode the replicas use.
  std::vector<std::string> users, modes;
  for (const Found& f : servers) {
    for (const ReplicaChannel& channel : f.channels) {
      users.push_back(channel.source_user);
      modes.push_back(channel.using_gtid == "No" ? "file" : "gtid");
      if (!channel.connection_name.empty()) {
        out.notes.push_back(f.name + ": channel '" + channel.connection_name +
                            "' (multi-source): the file describes one default channel per replica; plan will not "
                            "keep this one as it is");
      }
      if (walk.SourceOf(channel) != primary) {
        out.notes.push_back(f.name + " replicates from " + servers[*walk.SourceOf(channel)].name +
                            ", not from the primary " +
                            p.name + ": a replplan topology has every replica on the primary, so plan repoints it");
      }
    }
  }
  if (!users.empty()) t.replication.user = MostCommon(users);
  const std::set<std::string> distinct_users(users.begin(), users.end());
  if (distinct_users.size() > 1) {
    out.notes.push_back("the replicas use different replication accounts (" +
                        Join(std::vector<std::string>(distinct_users.begin(), distinct_users.end())) +
                        "); the file says '" + t.replication.user + "', the most used");
  }
  if (users.empty()) out.notes.push_back("no replica: the replication account is replplan's default 'repl'");
  std::string mode = modes.empty() ? "gtid" : MostCommon(modes);
  t.replication.mode = mode == "file" ? ReplicationMode::kFile : ReplicationMode::kGtid;
  if (std::set<std::string>(modes.begin(), modes.end()).size() > 1) {
    out.notes.push_back("some replicas replicate by GTID and some by file and position; the file says '" + mode +
                        "', the most used, and plan repoints the others");
  }
  t.replication.password = {SecretRef::Kind::kEnv, request.replication_password_env, {}};
  // Failure detection: a bound every server already keeps tighter than replplan's default is kept
  // (someone chose it, and plan would only loosen it); a looser one, MariaDB's default (60 s, the
  // heartbeat half of it) among them, is left to replplan's default, which plan then sets, with why.
  std::set<std::string> timeouts;
  std::set<double> heartbeats;
  for (const Found& f : servers) {
    timeouts.insert(f.vars.at("slave_net_timeout"));
    for (const ReplicaChannel& channel : f.channels) heartbeats.insert(channel.heartbeat_period);
  }
  if (timeouts.size() == 1 && IsDigits(*timeouts.begin()) && timeouts.begin()->size() < 9) {
    int timeout = std::stoi(*timeouts.begin());
    if (timeout >= 1 && timeout < t.replication.slave_net_timeout) t.replication.slave_net_timeout = timeout;
  }
  if (heartbeats.size() == 1 && *heartbeats.begin() >= 0.001 && *heartbeats.begin() < t.replication.heartbeat_period &&
      *heartbeats.begin() < t.replication.slave_net_timeout) {
    t.replication.heartbeat_period = *heartbeats.begin();
  }
  const std::string& format = p.vars.at("binlog_format");
  t.replication.binlog_format = Upper(format.empty() ? "ROW" : format);
  t.replication.semi_sync = IsOn(p.vars.at("semi_sync"));
  auto account_hosts =
      primary_session.Query("SELECT Host FROM mysql.user WHERE User = " + QuoteString(t.replication.user));
  if (!account_hosts.ok()) return account_hosts.status();
  std::vector<std::string> hosts;
  for (const Row& row : *account_hosts) hosts.push_back(row.count("Host") ? row.at("Host") : "");
  std::sort(hosts.begin(), hosts.end());
  if (hosts.empty()) {
    if (!users.empty()) {
      out.notes.push_back("the replication account '" + t.replication.user + "' does not exist on " + p.name +
                          ": plan creates it");
    }
  } else if (std::find(hosts.begin(), hosts.end(), "%") == hosts.end()) {
    t.replication.host = hosts.front();
    if (hosts.size() > 1) {
      out.notes.push_back("the replication account '" + t.replication.user + "' exists for several hosts (" +
                          Join(hosts) + "); the file names '" + hosts.front() + "'");
    }
  }

  return Status::OK();
}

// [[user]]s: the primary's accounts an operator manages, each with its grants and its password
// named by PasswordEnvFor. Not the system accounts, roles, the replication account (that is
// [replication]) nor import's own login (the [defaults] mysql user).
Status ImportUsers(ServerSession& session, const ImportRequest& request, ImportedCluster& out) {
  Topology& t = out.topology;
  auto accounts = session.Query(
      "SELECT User AS user, Host AS host FROM mysql.user WHERE is_role <> 'Y' ORDER BY User, Host", {},
      "reading the accounts");
  if (!accounts.ok()) return accounts.status();
  static const std::set<std::string> kSystem = {"", "root", "mariadb.sys", "mysql", "PUBLIC"};
  for (Row& row : *accounts) {
    const std::string user = row["user"], host = row["host"];
    if (kSystem.count(user) != 0 || user == t.replication.user || user == request.mysql.user) continue;
    const std::string account = QuoteString(user) + "@" + QuoteString(host);
    auto shown = session.Query("SHOW GRANTS FOR " + account, {}, "reading the grants of " + account);
    if (!shown.ok()) return shown.status();
    std::vector<std::string> lines;
    for (const Row& line : *shown) {
      if (!line.empty()) lines.push_back(line.begin()->second);
    }
    ImportedGrants grants = GrantsFromShowGrants(lines);
    for (const std::string& left : grants.left_out) out.notes.push_back(account + ": " + left + "; left out");
    UserSpec spec;
    spec.name = user;
    spec.host = host;
    spec.password = {SecretRef::Kind::kEnv, PasswordEnvFor(user), {}};
    spec.grants = std::move(grants.grants);
    t.users.push_back(std::move(spec));
  }
  return Status::OK();
}

// [[app]]s the operator named: each host a server of the cluster, its database.yml read there
// over SSH (refused, naming the fix, when it cannot be read or has no such environment); where it
// does not point at the primary, or names a database or account the file lacks, a note says so.
Status ImportApps(SessionFactory& sessions, const ImportRequest& request, ImportedCluster& out) {
  Topology& t = out.topology;
  const ServerSpec* primary = t.FindServer(t.cluster.primary);
  for (const AppLead& lead : request.apps) {
    const ServerSpec* server = nullptr;
    for (const ServerSpec& s : t.servers) {
      if (s.name == lead.host || s.address == Lower(lead.host)) server = &s;
    }
    const std::string owner = "--app " + lead.name + "=" + lead.host + ":" + lead.root;
    if (server == nullptr) {
      std::vector<std::string> names;
      for (const ServerSpec& s : t.servers) names.push_back(s.name + " (" + s.address + ")");
      return Status::FailedPrecondition(owner + ": " + lead.host + " is not a server of the cluster (" + Join(names) +
                                        "): an [[app]] runs on the cluster's servers");
    }
    AppSpec app;
    app.name = lead.name;
    app.hosts = {server->name};
    app.root = lead.root;
    while (app.root.size() > 1 && app.root.back() == '/') app.root.pop_back();
    app.environment = lead.environment;
    const std::string path = app.DatabaseYmlPath();
    auto session = sessions.Open(SessionSpec(request, Endpoint{server->address, server->mysql.port}));
    auto read = session->ReadFile(path);
    if (!read.ok()) {
      return Status::FailedPrecondition(owner + ": " + path + " on " + server->name + " cannot be read (" +
                                        read.status().message() + ")");
    }
    if (!read->has_value()) {
      return Status::FailedPrecondition(owner + ": " + path + " does not exist on " + server->name +
                                        ": ROOT is the app's directory, the one with config/database.yml");
    }
    DatabaseYmlSettings yml = ReadDatabaseYml(**read, app.environment);
    if (!yml.section_exists) {
      return Status::FailedPrecondition(owner + ": " + path + " on " + server->name + " has no '" +
                                        app.environment + "' section");
    }
    const std::string prefix = "app " + app.name + " on " + server->name + ": ";
    if (!yml.error.empty()) out.notes.push_back(prefix + yml.error);
    if (primary != nullptr && !yml.host.erb && yml.host.value != primary->address && yml.host.value != primary->name) {
      out.notes.push_back(prefix + path + " connects to '" + yml.host.value + "', not the primary " + primary->name +
                          " (" + primary->address + "): plan points it there");
    }
    if (yml.database.present() && !yml.database.erb &&
        std::none_of(t.databases.begin(), t.databases.end(),
                     [&](const DatabaseSpec& d) { return d.name == yml.database.value; })) {
      out.notes.push_back(prefix + "database " + yml.database.value + " is not on the primary");
    }
    if (yml.username.present() && !yml.username.erb &&
        std::none_of(t.users.begin(), t.users.end(), [&](const UserSpec& u) { return u.name == yml.username.value; })) {
      out.notes.push_back(prefix + "username " + yml.username.value + " is not an account imported as a [[user]]");
    }
    auto same = std::find_if(t.apps.begin(), t.apps.end(), [&](const AppSpec& a) { return a.name == app.name; });
    if (same == t.apps.end()) {
      t.apps.push_back(std::move(app));
    } else if (same->root != app.root || same->environment != app.environment) {
      return Status::InvalidArgument(owner + ": app " + app.name + " was named with root " + same->root +
                                     " already; one [[app]] has one root on all its hosts (give this one another "
                                     "name)");
    } else if (std::find(same->hosts.begin(), same->hosts.end(), server->name) == same->hosts.end()) {
      same->hosts.push_back(server->name);
    }
  }
  return Status::OK();
}

}  // namespace

Result<ImportedCluster> ImportCluster(SessionFactory& sessions, const ImportRequest& request) {
  if (request.hosts.empty()) return Status::InvalidArgument("name at least one host to import from");
  for (const auto& [address, name] : request.names) {
    if (!IsTopologyServerName(name)) {
      return Status::InvalidArgument("--name " + name + "=" + address +
                                     ": a server name is letters, digits, '-', '_' or '.', starting with a letter or "
                                     "digit");
    }
  }
  ClusterWalk walk(sessions, request);
  Status discovered = walk.Discover();
  if (!discovered.ok()) return discovered;
  Status complete = walk.Check();
  if (!complete.ok()) return complete;
  std::vector<Found>& servers = walk.servers();

  // The primary: the one server that replicates from no one.
  std::vector<size_t> roots;
  for (size_t s = 0; s < servers.size(); ++s) {
    if (servers[s].channels.empty()) roots.push_back(s);
  }
  if (roots.empty()) {
    std::vector<std::string> names;
    for (const Found& f : servers) names.push_back(f.name);
    return Status::FailedPrecondition("every server found replicates from another (" + Join(names) +
                                      "): circular replication has no primary; a replplan topology has one. Stop "
                                      "replication on the server that is to be the primary first");
  }
  if (roots.size() > 1) {
    std::vector<std::string> names;
    for (size_t s : roots) names.push_back(servers[s].name);
    return Status::FailedPrecondition(Join(names, " and ") +
                                      " replicate from no one: two clusters (or a detached server); import one "
                                      "cluster at a time, naming only its hosts");
  }
  const size_t primary = roots.front();
  Found& p = servers[primary];

  ImportedCluster out;
  out.notes = walk.leftovers();
  Topology& t = out.topology;
  t.cluster.name = request.cluster_name.empty() ? p.name : request.cluster_name;
  t.cluster.flavor = Flavor::kMariaDB;
  t.cluster.primary = p.name;

  // The primary's address: the name its replicas use (the most used), when import reached it by
  // that name too; else where import reached it (a name --name mapped does not resolve here, and
  // replplan connects from here).
  std::vector<std::string> source_hosts;
  for (const Found& f : servers) {
    for (const ReplicaChannel& channel : f.channels) {
      if (walk.SourceOf(channel) == primary) source_hosts.push_back(channel.source_host);
    }
  }
  std::string primary_address = source_hosts.empty() ? p.at.host : MostCommon(source_hosts);
  if (!walk.Reached(Endpoint{Lower(primary_address), p.at.port})) primary_address = p.at.host;

  auto primary_session = sessions.Open(SessionSpec(request, p.at));
  Status replication = ImportReplication(walk, primary, request, *primary_session, out);
  if (!replication.ok()) return replication;

  bool replplan_schema = false;
  auto databases = DatabasesOn(*primary_session, &replplan_schema);
  if (!databases.ok()) return databases.status();
  t.databases = std::move(*databases);
  Status users = ImportUsers(*primary_session, request, out);
  if (!users.ok()) return users;
  // The failover epoch replplan recorded (engine/cluster_epoch.h), as the file a promotion
  // rewrote would say it.
  if (replplan_schema) {
    auto epochs = primary_session->Query(ReadLatestEpochSql(), {}, "reading the failover epoch");
    if (!epochs.ok()) return epochs.status();
    std::optional<EpochRecord> latest = epochs->empty() ? std::nullopt : ParseEpochRow(epochs->front());
    if (latest) {
      t.cluster.epoch = latest->epoch;
      if (latest->primary != p.name) {
        out.notes.push_back("the newest failover epoch (" + std::to_string(latest->epoch) + ") names " +
                            latest->primary + " the primary; " + p.name + " is the primary now, under that name here");
      }
    }
  }

  // Servers: the primary first, then the others by server_id (the same file from any seed).
  std::vector<size_t> order;
  for (size_t s = 0; s < servers.size(); ++s) {
    if (s != primary) order.push_back(s);
  }
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return servers[a].server_id < servers[b].server_id; });
  order.insert(order.begin(), primary);
  for (size_t s : order) {
    Found& f = servers[s];
    out.found.push_back(f.name + " " + f.at.Text() + ": " + walk.HowFound(f));
    if (f.how == How::kDumpThread) {
      out.notes.push_back(f.name + " (" + f.at.host + ") was found through its binlog dump thread, not SHOW SLAVE " +
                          "HOSTS (report_host unset or not an address that answers); check its address");
    }
    auto spec = ServerFrom(sessions, request, f, s == primary, s == primary ? primary_address : f.at.host, out.notes);
    if (!spec.ok()) return spec.status();
    t.servers.push_back(std::move(*spec));
  }
  Status apps = ImportApps(sessions, request, out);
  if (!apps.ok()) return apps;
  return out;
}

}  // namespace replplan
