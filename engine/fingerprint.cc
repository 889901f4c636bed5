#include "engine/fingerprint.h"

#include "engine/sha256.h"

#include <cstdint>
#include <optional>
#include <string_view>

namespace replplan {
namespace {

// Feeds length-prefixed fields into a canonical serialization, so ("ab","c") and ("a","bc") differ;
// the digest is SHA-256 of it. A saved plan is a file anyone may edit: the digests it carries must
// not be forgeable by a collision (FNV-1a was; issue 11).
class Hasher {
 public:
  void Add(std::string_view field) {
    buffer_ += std::to_string(field.size());
    buffer_ += ':';
    buffer_ += field;
  }
  void Add(bool b) { Add(std::string_view(b ? "1" : "0")); }
  void Add(int64_t n) { Add(std::string_view(std::to_string(n))); }
  template <typename T>
  void Add(const std::optional<T>& v) {
    if (!v) {
      Add(std::string_view("?"));
    } else {
      Add(static_cast<int64_t>(*v));
    }
  }
  std::string Hex() const { return Sha256Hex(buffer_); }

 private:
  std::string buffer_;
};

void AddChannel(Hasher& h, const ReplicaChannel& c) {
  h.Add(c.connection_name);
  h.Add(c.source_host);
  h.Add(static_cast<int64_t>(c.source_port));
  h.Add(c.source_user);
  h.Add(c.io_running);
  h.Add(c.sql_running);
  h.Add(static_cast<int64_t>(c.last_io_errno));
  h.Add(static_cast<int64_t>(c.last_sql_errno));
  h.Add(c.using_gtid);
  h.Add(static_cast<int64_t>(c.heartbeat_period * 1000));
  // Left out on purpose: seconds_behind, gtid_io_pos, source_log_file, read_source_log_pos and the
  // error texts (they carry timestamps and positions; the errno is what the plan depends on).
}

void AddServer(Hasher& h, const ServerState& s) {
  h.Add(s.name);
  h.Add(s.sql_ok);
  h.Add(static_cast<int64_t>(s.sql_errno));
  if (s.sql_ok) {
    h.Add(s.version);
    h.Add(s.server_id);
    h.Add(s.log_bin);
    h.Add(s.log_bin_basename);
    h.Add(s.binlog_format);
    h.Add(s.bind_address);
    h.Add(s.read_only);
    h.Add(s.log_slave_updates);
    h.Add(s.gtid_strict_mode);
    h.Add(s.report_host);
    h.Add(s.slave_net_timeout);
    h.Add(s.semi_sync_master_enabled);
    h.Add(s.semi_sync_slave_enabled);
    h.Add(s.semi_sync_master_wait_point);
    h.Add(s.semi_sync_master_timeout);
    // Empty or not only (the position itself moves): a former primary's rejoin depends on it.
    h.Add(s.gtid_current_pos.empty());
    h.Add(static_cast<int64_t>(s.databases.size()));
    for (const auto& d : s.databases) {
      h.Add(d.name);
      h.Add(d.charset);
      h.Add(d.collation);
    }
    h.Add(static_cast<int64_t>(s.users.size()));
    for (const auto& u : s.users) {
      h.Add(u.name);
      h.Add(u.host);
      h.Add(u.plugin);
      h.Add(static_cast<int64_t>(u.grants.size()));
      for (const auto& g : u.grants) h.Add(g);
    }
    h.Add(static_cast<int64_t>(s.channels.size()));
    for (const auto& c : s.channels) AddChannel(h, c);
  }
  h.Add(s.ssh_ok);
  if (s.ssh_ok) {
    h.Add(s.config_exists);
    h.Add(static_cast<int64_t>(s.config.size()));
    for (const auto& [key, value] : s.config) {
      h.Add(key);
      h.Add(value);
      // The file an edit goes to (engine/effective_config.h): a key moved to another file changes
      // the plan's edit. (A key of config_file itself adds nothing: digests stay what they were.)
      auto origin = s.config_origin.find(key);
      if (origin != s.config_origin.end() && !origin->second.file.empty()) h.Add(origin->second.file);
    }
    h.Add(static_cast<int64_t>(s.app_configs.size()));
    for (const LiveAppConfig& a : s.app_configs) {
      h.Add(a.app);
      h.Add(a.read_ok);
      h.Add(a.exists);
      h.Add(a.text);
      h.Add(a.restarted_digest);
    }
  }
}

}  // namespace

std::string StateFingerprint(const LiveState& live) {
  Hasher h;
  // std::map: servers come in name order whatever order they were read in.
  h.Add(static_cast<int64_t>(live.servers.size()));
  for (const auto& [name, server] : live.servers) AddServer(h, server);
  return h.Hex();
}

std::string ContentDigest(std::string_view bytes) { return Sha256Hex(bytes); }

}  // namespace replplan
