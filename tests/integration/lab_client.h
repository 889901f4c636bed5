// Helpers for integration tests that run against the lab (tests/lab/lab.sh): real mariadbd and
// sshd processes on 127.0.0.x. Tests reach the lab the way an operator would, through the
// `mariadb` and `ssh` clients and the lab script, so a test proves behaviour of real programs and
// never depends on replplan's own providers to check replplan.
//
// Every helper runs programs without a shell (no quoting bugs) and never puts a password on a
// command line: secrets travel through stdin, the environment or files under the lab dir.
// Free of doctest so any test executable (or a benchmark) can link it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "engine/topology.h"

namespace lab {

struct CommandResult {
  int exit_code = -1;  // the program's exit status, or 128 + signal number if a signal ended it
  std::string out;
  std::string err;
};

// fork/exec of argv[0] (looked up in PATH) without a shell; captures stdout and stderr, feeds
// `stdin_text` to its stdin, adds (or overrides) "K=V" entries of the environment. A program that
// cannot be started gives exit code 127 and the reason in err.
CommandResult Run(const std::vector<std::string>& argv, const std::string& stdin_text = "",
                  const std::vector<std::string>& extra_env = {});

// The lab directory: $REPLPLAN_LAB_DIR, or <repo>/.lab as lab.sh itself defaults.
std::string Dir();

// `bash tests/lab/lab.sh ARGS...` on Dir().
CommandResult Lab(const std::vector<std::string>& args);

// `lab.sh reset N`: N pristine fresh hosts. Throws std::runtime_error with the script's output.
void Reset(int hosts);

// The lab's /24 inside loopback: $REPLPLAN_LAB_NET or "127.0.0".
std::string Net();
// "mercury" -> "127.0.0.61". Throws std::invalid_argument for a name that is not a lab host.
std::string Address(const std::string& host);

// Dir() + "/lab.toml", the topology lab.sh writes on up/reset.
std::string TopologyPath();

// Whole file; throws std::runtime_error if it cannot be read.
std::string ReadFile(const std::string& path);

// Writes `text` to Dir()/tmp/NAME (creating the directory) and returns the path.
std::string WriteFile(const std::string& name, const std::string& text);

// A lab secret ("admin.pw", "repl.pw", "app.pw"): the first line of Dir()/secrets/NAME.
std::string SecretValue(const std::string& name);

// SQL as root over the host's unix socket with `mariadb -N -B` (statements go through stdin):
// rows of tab-separated columns, NULL as "NULL". Throws std::runtime_error carrying the client's
// stderr (not the statement, which may hold a password).
std::vector<std::vector<std::string>> Sql(const std::string& host, const std::string& sql);

// First column of the first row, "" if there is no row.
std::string SqlValue(const std::string& host, const std::string& sql);

// SQL over TCP to the host's own address as 'admin' (password from secrets/admin.pw, passed in
// MYSQL_PWD): what replplan's MySQL provider sees. Does not throw; look at exit_code and err.
CommandResult AdminSql(const std::string& host, const std::string& sql);

// OpenSSH client as replplan's SSH provider connects: root@ADDRESS -p 2222 with the lab key,
// strict host key checking against `known_hosts` (default: the lab's), batch mode, no user or
// system ssh config. Bounded by a 60 s timeout.
CommandResult Ssh(const std::string& host, const std::string& command, const std::string& known_hosts = "");

// Runs the replplan binary under test (REPLPLAN_BINARY) with ARGS, for 300 s at most (then exit 124).
CommandResult Replplan(const std::vector<std::string>& args);

// Where the cgroup v2 hierarchy is mounted ("" if nowhere): /sys/fs/cgroup on a pure v2 system
// (Debian 12's default), /sys/fs/cgroup/unified on a hybrid one. Tests cut one process alone off
// from a server with iptables' cgroup match.
std::string Cgroup2Root();

// One process (or a few) cut off from one server alone: a cgroup of its own under Cgroup2Root()
// ("<name>-<pid>"), and an iptables OUTPUT rule refusing that group's TCP packets to `address`
// with a reset (the cgroup match); the lab's servers and every other process still reach it. The
// rule and the group are the machine's, not the lab's: both go when the object does. Requires a
// cgroup v2 mount (check Cgroup2Root() first: throws std::runtime_error without one) and root.
class CgroupCutOff {
 public:
  CgroupCutOff(const std::string& name, const std::string& address);
  ~CgroupCutOff();  // Restore(), LeaveSelf(), then the group removed
  CgroupCutOff(const CgroupCutOff&) = delete;
  CgroupCutOff& operator=(const CgroupCutOff&) = delete;

  // iptables -I: the group's packets to the address are refused from now on.
  CommandResult Cut();
  // iptables -D of the rule Cut() inserted (nothing when none is in).
  void Restore();
  // `argv` run inside the group (bash writes its pid into the group, then execs argv): cut off
  // while the rule is in.
  CommandResult RunInside(const std::vector<std::string>& argv);
  // This test process into the group (so what it forks now starts there) and back to the group
  // it came from; false when the move failed.
  bool JoinSelf();
  bool LeaveSelf();

 private:
  CommandResult Iptables(const std::string& op);

  const std::string group_;  // the group's path below the root, as the cgroup match takes it
  const std::string dir_;    // its directory
  const std::string address_;
  std::string home_;         // this process's group before JoinSelf(), "" when not inside
  bool rule_in_ = false;
};

// The replplan binary under test running in the background (REPLPLAN_BINARY ARGS...), stdin from
// /dev/null, stdout and stderr into one file under Dir()/tmp that a test can watch. The process is
// its own: stopped by pid, never by a pattern that could match another; and killed and reaped when
// the object goes, so a test that stops early leaves no watcher behind to act on the next test's lab.
class Background {
 public:
  explicit Background(const std::vector<std::string>& args);  // throws std::runtime_error
  ~Background();
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  std::string Output() const;
  bool WaitForOutput(const std::string& needle, std::chrono::milliseconds limit) const;
  // Waits until it exits by itself; its exit code (128 + signal if a signal ended it). Still there
  // after `limit`: killed, and -1.
  int Wait(std::chrono::milliseconds limit = std::chrono::minutes(10));
  // SIGTERM, then SIGKILL if it is still there after `grace`; its exit code as Wait's.
  int Terminate(std::chrono::milliseconds grace = std::chrono::seconds(10));
  void Kill9();
  // Sends `signal` (SIGHUP: read the file again) while it runs; false when it no longer does.
  bool Signal(int signal);
  // Whether it still runs (one that exited is reaped: Wait then returns -1).
  bool Running();

 private:
  pid_t pid_ = -1;
  std::string log_;
};

// A second sshd for mercury, from mercury's own sshd_config and host keys, listening on `port`
// (tests of what another sshd setup does: no SFTP subsystem, a login shell that prints). `edit`
// sees each line of the config (PidFile and ListenAddress are already handled) and returns it
// changed, or "" to drop it. known_hosts() lists mercury's host keys under [address]:port. Killed by
// its pid when the object goes; `name` tells its files apart under Dir()/tmp.
class ExtraSshd {
 public:
  ExtraSshd(const std::string& name, int port, const std::function<std::string(const std::string&)>& edit);
  ~ExtraSshd();
  ExtraSshd(const ExtraSshd&) = delete;
  ExtraSshd& operator=(const ExtraSshd&) = delete;
  int port() const { return port_; }
  const std::string& known_hosts() const { return known_hosts_; }

 private:
  std::string Pid() const;
  int port_;
  std::string pid_file_, known_hosts_;
};

// The replplan binary under test on a pseudo-terminal (approval prompts): once "Enter a value:"
// shows, `while_prompted` runs, then the operator answers `answer`. What the terminal showed,
// whether it prompted, and the wait status.
struct TerminalRun {
  std::string out;
  bool prompted = false;
  int status = 0;
};
TerminalRun ReplplanOnTerminal(const std::vector<std::string>& args, const std::function<void()>& while_prompted,
                               const std::string& answer = "yes");

// Polls `condition` every 20 ms until it holds or `limit` passes; returns whether it held. A
// std::runtime_error thrown by the condition (lab::Sql on a table not replicated yet) counts as
// "not yet"; only the last try's error propagates.
bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds limit);

// The value of the first `primary = "..."` line of a topology file (what switchover, failover and
// watch rewrite). Throws std::runtime_error when the file has none.
std::string PrimaryIn(const std::string& path);

// The lab topology ($LAB/lab.toml) parsed and validated; throws std::runtime_error with the first
// diagnostic when it does not validate.
replplan::Topology LoadTopology();

// The 1201 family, as an operator meets it: replication stopped on `host`, mariadbd stopped, its
// relay log files (mysqld-relay-bin.*) deleted, mariadbd started again. Throws std::runtime_error
// when a step fails or there was no relay log to delete.
void LoseRelayLogOverRestart(const std::string& host);

// A my.cnf with its bind-address line set to `address`.
std::string WithBindAddress(const std::string& cnf, const std::string& address);

// mariadbd started on `host`'s my.cnf as lab.sh starts it (so lab.sh stops it), without waiting
// for it to answer over TCP (it may be configured not to); waits until it answers on its socket.
void StartMariadbdWithoutWaiting(const std::string& host);

}  // namespace lab
