#include "providers/connect_options.h"

#include "providers/local/secrets.h"

namespace replplan {

SshOptions SshOptionsFor(const ServerSpec& server) {
  SshOptions options;
  options.host = server.address;
  options.port = server.ssh.port;
  options.user = server.ssh.user;
  options.identity = server.ssh.identity;
  options.known_hosts = server.ssh.known_hosts;
  options.verify_host_key = server.ssh.verify_host_key;
  options.connect_timeout_ms = server.ssh.connect_timeout_ms;
  options.command_timeout_ms = server.ssh.command_timeout_ms;
  return options;
}

Result<MysqlOptions> MysqlOptionsFor(const ServerSpec& server) {
  auto password = ResolveSecret(server.mysql.password);
  if (!password.ok()) return password.status().WithContext("mysql password");
  MysqlOptions options;
  options.host = server.address;
  options.port = server.mysql.port;
  options.user = server.mysql.user;
  options.password = std::move(password.value());
  options.connect_timeout_ms = server.mysql.connect_timeout_ms;
  return options;
}

}  // namespace replplan
