#include "engine/topology.h"

#include <stdexcept>
#include <string>
#include <vector>

namespace replplan {

const char* ToString(Flavor f) {
  switch (f) {
    case Flavor::kMariaDB: return "mariadb";
    case Flavor::kMySQL: return "mysql";
  }
  return "unknown";
}

const char* ToString(ReplicationMode m) {
  switch (m) {
    case ReplicationMode::kGtid: return "gtid";
    case ReplicationMode::kFile: return "file";
  }
  return "unknown";
}

const char* ToString(Promotion p) {
  switch (p) {
    case Promotion::kNormal: return "normal";
    case Promotion::kPrefer: return "prefer";
    case Promotion::kNever: return "never";
  }
  return "unknown";
}

const char* ToString(ErrantRemedy remedy) {
  switch (remedy) {
    case ErrantRemedy::kRefuse: return "refuse";
    case ErrantRemedy::kInjectEmpty: return "inject-empty";
    case ErrantRemedy::kReseed: return "reseed";
  }
  return "unknown";
}

const std::vector<std::string>& DeferrableRestartSettings() {
  static const std::vector<std::string> settings = {"report_host"};
  return settings;
}

bool ClusterSpec::DefersRestartFor(const std::string& setting) const {
  for (const std::string& s : on_next_restart) {
    if (s == setting) return true;
  }
  return false;
}

const ServerSpec* Topology::FindServer(const std::string& name) const {
  for (const ServerSpec& server : servers) {
    if (server.name == name) return &server;
  }
  return nullptr;
}

const ServerSpec& Topology::Primary() const {
  const ServerSpec* primary = FindServer(cluster.primary);
  // Validation guarantees the primary is declared; reaching this is a bug in the caller, and
  // continuing with some other server as "primary" could point writes at a replica.
  if (primary == nullptr) throw std::logic_error("Topology::Primary: '" + cluster.primary + "' is not declared");
  return *primary;
}

}  // namespace replplan
