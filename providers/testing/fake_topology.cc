#include "providers/testing/fake_topology.h"

#include <cstdlib>
#include <stdexcept>
#include <string>

#include "engine/topology_parser.h"

namespace replplan {
namespace {

constexpr const char* kTopology = R"(
[cluster]
name    = "fake"
flavor  = "mariadb"
primary = "mercury"

[replication]
user          = "repl"
password      = { env = "REPLPLAN_FAULT_TEST_REPL_PW" }
mode          = "gtid"
binlog_format = "ROW"

[defaults]
ssh   = { user = "root", port = 22, identity = "/nonexistent/id_ed25519", known_hosts = "/nonexistent/known_hosts" }
mysql = { port = 3306, user = "admin", password = { env = "REPLPLAN_FAULT_TEST_ADMIN_PW" } }

[[server]]
name      = "mercury"
address   = "127.0.0.1"
server_id = 1
log_bin   = "/var/log/mysql/mysql-bin.log"

[[server]]
name      = "uranus"
address   = "127.0.0.2"
server_id = 2
log_bin   = "/var/log/mysql/mysql-bin.log"

[[app]]
name        = "shop"
kind        = "rails"
hosts       = ["uranus"]
root        = "/srv/shop"
environment = "production"
restart     = "touch /srv/shop/tmp/restart.txt"
)";

}  // namespace

Topology FakeTopology() {
  setenv("REPLPLAN_FAULT_TEST_ADMIN_PW", kFakeAdminPassword, 1);
  setenv("REPLPLAN_FAULT_TEST_REPL_PW", kFakeReplPassword, 1);
  TopologyParse parse = ParseTopology(kTopology, "fake.toml");
  if (!parse.ok()) throw std::logic_error("providers/testing/fake_topology.cc does not parse");
  return parse.topology;
}

}  // namespace replplan
