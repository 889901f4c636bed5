// The mysql_native_password hash of a password, computed here so the password itself never
// reaches a server: a statement that carries it in clear (SELECT PASSWORD('...'), CREATE USER ...
// IDENTIFIED BY '...') is written as sent to the general and slow query logs and shows in the
// process list. Only the hash, which mysql.global_priv holds on every node anyway, is sent.
#pragma once

#include <string>
#include <string_view>

namespace replplan {

// "*" and the 40 upper-case hex digits of SHA1(SHA1(password)): what MariaDB's PASSWORD() gives,
// for IDENTIFIED BY PASSWORD '<hash>'. PASSWORD('') is '' in MariaDB; so is this.
std::string MysqlNativePasswordHash(std::string_view password);

}  // namespace replplan
