// `replplan import`: a topology read from a live MariaDB cluster, over the ServerSession seam (so
// the discovery is unit-tested on fake servers, providers/testing/fake_server.h).
//
// Discovery, from the hosts named (seeds): each server answers who it is (server_id, hostname,
// report_host, datadir, log_bin, read_only, ...), its replica channels (SHOW ALL SLAVES STATUS:
// each source is visited in turn, up to the primary) and its replicas (SHOW SLAVE HOSTS: each
// listed host is visited). A replica SHOW SLAVE HOSTS lists under a host that does not answer as
// that server (report_host unset: MariaDB then lists the primary's name for its connection, e.g.
// "localhost"), or that it does not list at all, is looked for at the address its binlog dump
// thread connects from (information_schema.PROCESSLIST), and `found` says so. A server is known
// by server_id, hostname and datadir, so one reached under two names is imported once; a listed
// server found replicating elsewhere (a switchover's leftover dump thread) is noted. Over SSH: the
// process's command line (its --defaults-file, else /etc/mysql/my.cnf) and that option file with
// what it includes, for log_bin and bind_address as the operator wrote them. On the primary: the
// replication account's host, the databases, the newest failover epoch, and the accounts an
// operator manages as [[user]]s (every account but the system ones, roles, the replication account
// and import's own login), each with its grants from SHOW GRANTS (what the file cannot hold, as WITH
// GRANT OPTION or a role, left out and noted). Each app named: its database.yml read over SSH,
// written as [[app]] without the restart command and health URL, which cannot be discovered (the
// renderer comments such an [[app]] out). Only SELECT and SHOW.
//
// The result is refused (FailedPrecondition, naming the fix) when it could not be one topology: a
// named host does not answer or is not MariaDB, a source does not answer, a replica the primary
// serves was not found (name it on the command line), no server or two servers replicate from no
// one (circular replication; two clusters), two servers share a server_id, an address or --name
// the file cannot hold.
//
// Passwords are never read or written: the admin, replication and [[user]] passwords are
// environment variable names in the result ({ env = "NAME" }, a user's from PasswordEnvFor); the
// sessions resolve the admin one to connect.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "engine/status.h"
#include "engine/topology.h"
#include "providers/server_session.h"

namespace replplan {

// An app the operator names (`--app NAME=HOST:ROOT`): a Rails app whose ROOT/config/database.yml
// on HOST (a server of the cluster, by name or address) connects it to the cluster.
struct AppLead {
  std::string name;
  std::string host;
  std::string root;
  std::string environment = "production";
};

struct ImportRequest {
  std::vector<std::string> hosts;            // "ADDRESS" or "ADDRESS:PORT": where discovery starts
  std::map<std::string, std::string> names;  // address -> server name (else report_host, hostname)
  SshSettings ssh;                           // how every host is reached over SSH
  MysqlSettings mysql;                       // admin user, default port, password as { env = ... }
  std::string replication_password_env = "REPL_PASSWORD";
  std::string cluster_name;                  // "" : the primary's name
  std::vector<AppLead> apps;
};

struct ImportedCluster {
  Topology topology;
  // One line per server: "mercury 127.0.0.61:3306: named on the command line" / "the source of
  // uranus" / "listed by SHOW SLAVE HOSTS on mercury" / "a binlog dump thread on mercury comes
  // from it (SHOW SLAVE HOSTS lists it as localhost: report_host unset)".
  std::vector<std::string> found;
  // What the operator should know before committing the file (cascaded replicas, mixed modes,
  // log_bin OFF, a config_file not read, ...).
  std::vector<std::string> notes;
};

Result<ImportedCluster> ImportCluster(SessionFactory& sessions, const ImportRequest& request);

}  // namespace replplan
