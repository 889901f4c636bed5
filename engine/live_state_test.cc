#include "engine/live_state.h"
#include "engine/sql_quote.h"

#include <doctest/doctest.h>

#include <string>

namespace replplan {
namespace {

// Values as a fresh MariaDB 10.11.19 (Debian 12) reports them over
// SHOW GLOBAL VARIABLES WHERE Variable_name IN (...).
std::map<std::string, std::string> FreshVariables() {
  return {{"bind_address", "127.0.0.90"}, {"binlog_format", "MIXED"},   {"gtid_binlog_pos", ""},
          {"gtid_current_pos", ""},       {"gtid_slave_pos", ""},       {"gtid_strict_mode", "OFF"},
          {"log_bin", "OFF"},             {"log_bin_basename", ""},     {"log_slave_updates", "OFF"},
          {"read_only", "OFF"},           {"report_host", ""},          {"server_id", "1"},
          {"version", "10.11.19-MariaDB-0+deb12u1"}};
}

// One row of SHOW ALL SLAVES STATUS from the same server, replicating from a source that refuses
// connections (column names and values copied from the server, a subset of its 60 columns).
Row ConnectingReplicaRow() {
  return {{"Connection_name", ""},
          {"Slave_SQL_State", "Slave has read all relay log; waiting for more updates"},
          {"Slave_IO_State", "Connecting to master"},
          {"Master_Host", "127.0.0.99"},
          {"Master_User", "repl"},
          {"Master_Port", "3306"},
          {"Connect_Retry", "1"},
          {"Master_Log_File", ""},
          {"Read_Master_Log_Pos", "4"},
          {"Relay_Log_File", "mysqld-relay-bin.000001"},
          {"Slave_IO_Running", "Connecting"},
          {"Slave_SQL_Running", "Yes"},
          {"Seconds_Behind_Master", ""},  // NULL
          {"Last_IO_Errno", "2003"},
          {"Last_IO_Error",
           "error connecting to master 'repl@127.0.0.99:3306' - retry-time: 1  maximum-retries: 100000  "
           "message: Can't connect to server on '127.0.0.99' (111 \"Connection refused\")"},
          {"Last_SQL_Errno", "0"},
          {"Last_SQL_Error", ""},
          {"Using_Gtid", "Slave_Pos"},
          {"Gtid_IO_Pos", ""},
          {"Gtid_Slave_Pos", ""}};
}

Row RunningReplicaRow() {
  return {{"Connection_name", "from_mercury"}, {"Master_Host", "127.0.0.61"},
          {"Master_User", "repl"},             {"Master_Port", "3306"},
          {"Master_Log_File", "mysql-bin.000002"}, {"Read_Master_Log_Pos", "1234567"},
          {"Slave_IO_Running", "Yes"},         {"Slave_SQL_Running", "Yes"},
          {"Seconds_Behind_Master", "0"},      {"Last_IO_Errno", "0"},
          {"Last_IO_Error", ""},               {"Last_SQL_Errno", "0"},
          {"Last_SQL_Error", ""},              {"Using_Gtid", "Slave_Pos"},
          {"Gtid_IO_Pos", "0-1-42"}};
}

RawServerState FreshRaw() {
  RawServerState raw;
  raw.name = "mercury";
  raw.sql_ok = true;
  raw.variables = FreshVariables();
  // SELECT schema_name, default_character_set_name, default_collation_name FROM SCHEMATA
  raw.databases = {{{"schema_name", "information_schema"}, {"default_character_set_name", "utf8mb3"},
                    {"default_collation_name", "utf8mb3_general_ci"}},
                   {{"schema_name", "secondhand_production"}, {"default_character_set_name", "utf8mb4"},
                    {"default_collation_name", "utf8mb4_general_ci"}},
                   {{"schema_name", "mysql"}, {"default_character_set_name", "latin1"},
                    {"default_collation_name", "latin1_swedish_ci"}},
                   {{"schema_name", "sys"}, {"default_character_set_name", "utf8mb3"},
                    {"default_collation_name", "utf8mb3_general_ci"}},
                   {{"schema_name", "performance_schema"}, {"default_character_set_name", "utf8mb3"},
                    {"default_collation_name", "utf8mb3_general_ci"}}};
  // SELECT user, host, plugin FROM mysql.user: the server names the columns User, Host, plugin.
  raw.users = {{{"User", "mariadb.sys"}, {"Host", "localhost"}, {"plugin", "mysql_native_password"}},
               {{"User", "admin"}, {"Host", "%"}, {"plugin", "mysql_native_password"}},
               {{"User", "pierre"}, {"Host", "%"}, {"plugin", "mysql_native_password"}}};
  raw.grants["'pierre'@'%'"] = {
      "GRANT USAGE ON *.* TO `pierre`@`%` IDENTIFIED BY PASSWORD '*DB14CBAE92D7CB2F84BD3AA7222415B564A4054A'",
      "GRANT ALL PRIVILEGES ON `secondhand_production`.* TO `pierre`@`%`"};
  raw.grants["'admin'@'%'"] = {
      "GRANT ALL PRIVILEGES ON *.* TO `admin`@`%` IDENTIFIED BY PASSWORD "
      "'*F8194ACF4E710BB539A44B2D9DBA9E2329F0990A' WITH GRANT OPTION"};
  return raw;
}

}  // namespace

TEST_CASE("variables of a fresh 10.11 server parse into typed fields") {
  ServerState s = ParseServerState(FreshRaw());
  CHECK(s.name == "mercury");
  CHECK(s.sql_ok);
  CHECK(s.version == "10.11.19-MariaDB-0+deb12u1");
  CHECK(s.server_id == 1u);
  CHECK(s.log_bin == false);
  CHECK(s.log_bin_basename == "");
  CHECK(s.binlog_format == "MIXED");
  CHECK(s.bind_address == "127.0.0.90");
  CHECK(s.read_only == false);
  CHECK(s.log_slave_updates == false);
  CHECK(s.gtid_strict_mode == false);
  CHECK(s.report_host == "");
  CHECK(s.gtid_binlog_pos == "");
  CHECK(s.channels.empty());
  CHECK(s.DefaultChannel() == nullptr);
}

TEST_CASE("variables of a configured primary parse, including gtid positions") {
  RawServerState raw = FreshRaw();
  raw.variables["server_id"] = "4294967295";
  raw.variables["log_bin"] = "ON";
  raw.variables["log_bin_basename"] = "/var/log/mysql/mysql-bin";
  raw.variables["read_only"] = "ON";
  raw.variables["log_slave_updates"] = "ON";
  raw.variables["gtid_strict_mode"] = "ON";
  raw.variables["gtid_binlog_pos"] = "0-1-42";
  raw.variables["gtid_current_pos"] = "0-1-42";
  ServerState s = ParseServerState(raw);
  CHECK(s.server_id == 4294967295u);
  CHECK(s.log_bin == true);
  CHECK(s.log_bin_basename == "/var/log/mysql/mysql-bin");
  CHECK(s.read_only == true);
  CHECK(s.log_slave_updates == true);
  CHECK(s.gtid_strict_mode == true);
  CHECK(s.gtid_binlog_pos == "0-1-42");
  CHECK(s.gtid_current_pos == "0-1-42");
}

TEST_CASE("a variable that was not read or is garbled stays unknown rather than false") {
  RawServerState raw = FreshRaw();
  raw.variables.erase("read_only");
  raw.variables["server_id"] = "-3";
  raw.variables["log_bin"] = "maybe";
  ServerState s = ParseServerState(raw);
  CHECK_FALSE(s.read_only.has_value());
  CHECK_FALSE(s.server_id.has_value());
  CHECK_FALSE(s.log_bin.has_value());
}

TEST_CASE("only user databases are kept, with charset and collation") {
  ServerState s = ParseServerState(FreshRaw());
  REQUIRE(s.databases.size() == 1);
  CHECK(s.databases[0].name == "secondhand_production");
  CHECK(s.databases[0].charset == "utf8mb4");
  CHECK(s.databases[0].collation == "utf8mb4_general_ci");
  CHECK(s.FindDatabase("secondhand_production") == &s.databases[0]);
  CHECK(s.FindDatabase("mysql") == nullptr);
}

TEST_CASE("users keep their grants but never a password hash") {
  ServerState s = ParseServerState(FreshRaw());
  REQUIRE(s.users.size() == 3);
  const LiveUser* pierre = s.FindUser("pierre", "%");
  REQUIRE(pierre != nullptr);
  CHECK(pierre->plugin == "mysql_native_password");
  REQUIRE(pierre->grants.size() == 2);
  CHECK(pierre->grants[0] == "GRANT USAGE ON *.* TO `pierre`@`%`");
  CHECK(pierre->grants[1] == "GRANT ALL PRIVILEGES ON `secondhand_production`.* TO `pierre`@`%`");
  const LiveUser* admin = s.FindUser("admin", "%");
  REQUIRE(admin != nullptr);
  REQUIRE(admin->grants.size() == 1);
  CHECK(admin->grants[0] == "GRANT ALL PRIVILEGES ON *.* TO `admin`@`%` WITH GRANT OPTION");
  // Accounts whose grants were not asked for have none, rather than someone else's.
  CHECK(s.FindUser("mariadb.sys", "localhost")->grants.empty());
  CHECK(s.FindUser("pierre", "localhost") == nullptr);
}

TEST_CASE("IDENTIFIED VIA ... USING auth strings are removed, REQUIRE and WITH kept") {
  RawServerState raw = FreshRaw();
  raw.grants["'pierre'@'%'"] = {
      "GRANT USAGE ON *.* TO `pierre`@`%` IDENTIFIED VIA ed25519 USING 'ZIgUREUg5PVgQ6LskhXmO+eZLS0nC8be6HPjYWR4YJY' "
      "OR unix_socket REQUIRE SSL WITH MAX_USER_CONNECTIONS 10",
      "GRANT SELECT ON `db`.* TO `pierre`@`%` IDENTIFIED BY PASSWORD 'with WITH inside'"};
  ServerState s = ParseServerState(raw);
  const LiveUser* pierre = s.FindUser("pierre", "%");
  REQUIRE(pierre != nullptr);
  REQUIRE(pierre->grants.size() == 2);
  CHECK(pierre->grants[0] == "GRANT USAGE ON *.* TO `pierre`@`%` REQUIRE SSL WITH MAX_USER_CONNECTIONS 10");
  CHECK(pierre->grants[1] == "GRANT SELECT ON `db`.* TO `pierre`@`%`");
}

TEST_CASE("an account name ending in a backslash does not shield its password hash") {
  // SHOW GRANTS quotes names with backticks and doubles only a backtick: a backslash inside one is
  // an ordinary character, not an escape. Read as an escape, the closing backtick was skipped, the
  // rest of the line looked quoted and the IDENTIFIED clause stayed (found by fuzz/server_rows).
  RawServerState raw = FreshRaw();
  raw.users.push_back({{"user", "a`b\\"}, {"host", "%"}, {"plugin", "mysql_native_password"}});
  raw.grants[QuoteAccount("a`b\\", "%")] = {
      "GRANT USAGE ON *.* TO `a``b\\`@`%` IDENTIFIED BY PASSWORD '*DB14CBAE92D7CB2F84BD3AA7222415B564A4054A' "
      "WITH GRANT OPTION"};
  ServerState s = ParseServerState(raw);
  const LiveUser* user = s.FindUser("a`b\\", "%");
  REQUIRE(user != nullptr);
  REQUIRE(user->grants.size() == 1);
  CHECK(user->grants[0] == "GRANT USAGE ON *.* TO `a``b\\`@`%` WITH GRANT OPTION");
}

TEST_CASE("a replica that cannot reach its source parses with its error and unknown lag") {
  RawServerState raw = FreshRaw();
  raw.replica_status = {ConnectingReplicaRow()};
  ServerState s = ParseServerState(raw);
  const ReplicaChannel* ch = s.DefaultChannel();
  REQUIRE(ch != nullptr);
  CHECK(ch->source_host == "127.0.0.99");
  CHECK(ch->source_port == 3306);
  CHECK(ch->source_user == "repl");
  CHECK(ch->io_running == "Connecting");
  CHECK(ch->sql_running);
  CHECK(ch->last_io_errno == 2003);
  CHECK(ch->last_io_error.find("Connection refused") != std::string::npos);
  CHECK(ch->last_sql_errno == 0);
  CHECK(ch->using_gtid == "Slave_Pos");
  CHECK_FALSE(ch->seconds_behind.has_value());
  CHECK(ch->source_log_file == "");
  CHECK(ch->read_source_log_pos == 4u);
}

TEST_CASE("named channels are kept apart from the default one") {
  RawServerState raw = FreshRaw();
  raw.replica_status = {RunningReplicaRow()};
  ServerState s = ParseServerState(raw);
  REQUIRE(s.channels.size() == 1);
  CHECK(s.DefaultChannel() == nullptr);
  const ReplicaChannel& ch = s.channels[0];
  CHECK(ch.connection_name == "from_mercury");
  CHECK(ch.io_running == "Yes");
  CHECK(ch.seconds_behind == 0);
  CHECK(ch.gtid_io_pos == "0-1-42");
  CHECK(ch.source_log_file == "mysql-bin.000002");
  CHECK(ch.read_source_log_pos == 1234567u);
}

// SHOW ALL SLAVES STATUS of a file/position replica (MariaDB 10.11): the executed coordinates
// lag the read ones, and the heartbeat period is spelled as this statement alone reports it.
Row FilePositionReplicaRow() {
  return {{"Connection_name", ""},
          {"Master_Host", "127.0.0.61"},
          {"Master_Port", "3306"},
          {"Master_Log_File", "mysql-bin.000003"},
          {"Read_Master_Log_Pos", "9120"},
          {"Relay_Log_File", "mysqld-relay-bin.000002"},
          {"Relay_Log_Pos", "1077"},
          {"Relay_Master_Log_File", "mysql-bin.000002"},
          {"Exec_Master_Log_Pos", "776"},
          {"Slave_IO_Running", "No"},
          {"Slave_SQL_Running", "No"},
          {"Using_Gtid", "No"},
          {"Slave_heartbeat_period", "1.000"}};
}

TEST_CASE("a replica's read, executed and relay log coordinates are read apart") {
  const ReplicaChannel ch = ParseReplicaChannel(FilePositionReplicaRow());
  CHECK(ch.source_log_file == "mysql-bin.000003");
  CHECK(ch.read_source_log_pos == 9120u);
  CHECK(ch.relay_source_log_file == "mysql-bin.000002");
  CHECK(ch.exec_source_log_pos == 776u);
  CHECK(ch.relay_log_file == "mysqld-relay-bin.000002");
  CHECK(ch.relay_log_pos == 1077u);
  CHECK(ch.heartbeat_period == doctest::Approx(1.0));
  CHECK_FALSE(ch.sql_running);
  CHECK(ch.io_running == "No");
}

TEST_CASE("a position the server leaves empty, or that is no number, is unknown rather than zero") {
  Row row = FilePositionReplicaRow();
  row["Read_Master_Log_Pos"] = "";
  row["Exec_Master_Log_Pos"] = "12x";
  row.erase("Relay_Log_Pos");
  row.erase("Relay_Master_Log_File");
  const ReplicaChannel ch = ParseReplicaChannel(row);
  CHECK_FALSE(ch.read_source_log_pos.has_value());
  CHECK_FALSE(ch.exec_source_log_pos.has_value());
  CHECK_FALSE(ch.relay_log_pos.has_value());
  CHECK(ch.relay_source_log_file.empty());
  row["Exec_Master_Log_Pos"] = "0";
  CHECK(ParseReplicaChannel(row).exec_source_log_pos == 0u);
}

TEST_CASE("a failed SQL read keeps the error and leaves every SQL field unknown") {
  RawServerState raw;
  raw.name = "venus";
  raw.sql_ok = false;
  raw.sql_error = "cannot connect to 127.0.0.67:3306: Can't connect to server on '127.0.0.67' (115) (2002)";
  raw.sql_errno = 2002;
  raw.variables = FreshVariables();  // stale leftovers must not leak into the state
  ServerState s = ParseServerState(raw);
  CHECK_FALSE(s.sql_ok);
  CHECK(s.sql_errno == 2002);
  CHECK(s.sql_error == raw.sql_error);
  CHECK_FALSE(s.server_id.has_value());
  CHECK_FALSE(s.log_bin.has_value());
  CHECK(s.version.empty());
}

TEST_CASE("the config file parses into the config map when SSH read it") {
  RawServerState raw = FreshRaw();
  raw.ssh_ok = true;
  raw.config_exists = true;
  raw.config_text = "[client]\nport=3307\n[mysqld]\nbind-address = 127.0.0.61\nlog-bin\nserver_id=1\n";
  ServerState s = ParseServerState(raw);
  CHECK(s.ssh_ok);
  CHECK(s.config_exists);
  CHECK(s.config.at("bind_address") == "127.0.0.61");
  CHECK(s.config.at("log_bin") == "");
  CHECK(s.config.at("server_id") == "1");
  CHECK(s.config.count("port") == 0);
}

TEST_CASE("a missing config file and a failed SSH read are told apart") {
  RawServerState missing = FreshRaw();
  missing.ssh_ok = true;
  missing.config_exists = false;
  ServerState a = ParseServerState(missing);
  CHECK(a.ssh_ok);
  CHECK_FALSE(a.config_exists);
  CHECK(a.config.empty());

  RawServerState failed = FreshRaw();
  failed.ssh_ok = false;
  failed.ssh_error = "ssh 127.0.0.61:2222: connection refused";
  ServerState b = ParseServerState(failed);
  CHECK_FALSE(b.ssh_ok);
  CHECK(b.ssh_error == failed.ssh_error);
  CHECK(b.sql_ok);  // SQL side unaffected
}

TEST_CASE("LiveState::Find looks servers up by name") {
  LiveState live;
  live.servers["mercury"] = ParseServerState(FreshRaw());
  REQUIRE(live.Find("mercury") != nullptr);
  CHECK(live.Find("mercury")->server_id == 1u);
  CHECK(live.Find("pluto") == nullptr);
}


TEST_CASE("the transaction a row event error stopped at: its GTID from the relay log events at Relay_Log_Pos") {
  ReplicaChannel c;
  c.sql_running = false;
  c.last_sql_errno = 1032;
  CHECK(StoppedOnDataError(c));
  c.relay_log_file = "mysqld-relay-bin.000002";
  c.relay_log_pos = 1077;
  CHECK(RelayEventsAtSql(c) == "SHOW RELAYLOG EVENTS IN 'mysqld-relay-bin.000002' FROM 1077 LIMIT 4");
  c.relay_log_file = "x' OR 1; --";
  CHECK(RelayEventsAtSql(c).empty());  // not a file name: nothing is read
  c.relay_log_file = "mysqld-relay-bin.000002";
  c.relay_log_pos.reset();
  CHECK(RelayEventsAtSql(c).empty());
  c.sql_running = true;
  CHECK_FALSE(StoppedOnDataError(c));
  c.sql_running = false;
  c.last_sql_errno = 1146;
  CHECK_FALSE(StoppedOnDataError(c));

  std::vector<Row> events = {
      {{"Log_name", "mysqld-relay-bin.000002"}, {"Pos", "1077"}, {"Event_type", "Gtid"}, {"Info", "BEGIN GTID 0-1-42"}},
      {{"Log_name", "mysqld-relay-bin.000002"}, {"Pos", "1119"}, {"Event_type", "Annotate_rows"}, {"Info", "UPDATE t"}}};
  CHECK(GtidOfEventGroup(events) == "0-1-42");
  events[0]["Info"] = "GTID 3-7-9";  // DDL: no BEGIN
  CHECK(GtidOfEventGroup(events) == "3-7-9");
  events[0]["Info"] = "BEGIN GTID 0-1-42,1-1-1";
  CHECK(GtidOfEventGroup(events).empty());
  events.erase(events.begin());
  CHECK(GtidOfEventGroup(events).empty());

  RawServerState raw;
  raw.name = "venus";
  raw.sql_ok = true;
  raw.failed_group = {{{"Event_type", "Gtid"}, {"Info", "BEGIN GTID 0-1-5"}}};
  CHECK(ParseServerState(raw).failed_gtid == "0-1-5");
}

}  // namespace replplan
