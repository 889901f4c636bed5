// Warm SQL connections and SSH sessions kept from one operation to the next, for `replplan watch`:
// when the primary dies, the failover must not spend its first tens of milliseconds on TCP
// handshakes, SSH key exchanges and logins to every server. The watcher opens them while all is
// well (Warm), and the failover's readers, lock and executor borrow them.
//
// Invariants:
// - A connection is lent to one user at a time: neither a libmariadb MYSQL nor a libssh2 session
//   may be used from two threads. The user gives it back (Return) when done, and only if it is
//   still sound: a connection that failed mid-use (timeout, broken protocol) is dropped by its user.
// - Lent only when still sound: an idle connection has nothing to read, so a readable socket means
//   the server closed it (killed, restarted, idle timeout) and it is dropped. The check is a poll()
//   with no wait and no round trip, so borrowing costs microseconds.
// - Keys are the endpoint and the identity it authenticated with (user@address:port; for SQL the
//   connect, read and write timeouts; for SSH the key file and known_hosts), so a caller never gets
//   a connection made for another account or under other bounds. An SSH session takes the
//   borrower's command timeout when lent.
// - A null SessionPool* everywhere means "no pool": connect afresh and close after use.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/status.h"
#include "engine/topology.h"
#include "providers/mysql/mysql_connection.h"
#include "providers/ssh/ssh_session.h"

namespace replplan {

class SessionPool {
 public:
  // How the pool served its borrowers since it was made: a failover that had to open connections
  // on its hot path shows it here (the watcher reports it).
  struct Stats {
    int sql_lent = 0, sql_opened = 0;
    int ssh_lent = 0, ssh_opened = 0;
    int dropped = 0;  // idle connections found closed by their server
  };

  SessionPool() = default;
  SessionPool(const SessionPool&) = delete;
  SessionPool& operator=(const SessionPool&) = delete;

  // An idle sound connection for `options`, or a new one.
  Result<std::unique_ptr<MysqlConnection>> Sql(const MysqlOptions& options);
  // An idle sound session for `options` (its command timeout set to options'), or a new one.
  Result<std::unique_ptr<SshSession>> Ssh(const SshOptions& options);

  // Takes back a connection its user is done with and found sound.
  void Return(std::unique_ptr<MysqlConnection> connection);
  void Return(std::unique_ptr<SshSession> session);

  // Opens what is missing so that every server of `topology` has one idle SQL connection and
  // `ssh_per_server` idle SSH sessions (a failover's lock holds one while the reads and actions use
  // another), all in parallel. Errors are not kept: a server that cannot be reached now is
  // reported by whoever needs it later. Returns how many connections it opened.
  int Warm(const Topology& topology, int ssh_per_server);

  // A command started ahead of need on a session of its own and waiting on its stdin (the
  // cluster lock's standby holder, providers/cluster_lock.h), kept under `what` for the session's
  // endpoint. Lent once, since using it uses it up; only while its connection is open.
  struct Started {
    std::unique_ptr<SshSession> session;
    std::unique_ptr<SshStream> stream;  // declared after the session: destroyed before it
  };
  void KeepStarted(const SshOptions& options, const std::string& what, Started started);
  // The kept command, or one with null members when there is none still open.
  Started TakeStarted(const SshOptions& options, const std::string& what);
  // Whether one is kept and still open (closed ones are dropped on the way).
  bool HasStarted(const SshOptions& options, const std::string& what);
  // On every server of `topology` that has none kept under `what`, starts `command` on an SSH
  // session of its own and keeps it, all servers at once (one that does not answer costs its own
  // connect timeout only; it is skipped, and reported by whoever needs it). Returns how many.
  // `check`, when given, runs first on each new session: a server it refuses gets no command,
  // and its error is added to `refused` (when given).
  using SessionCheck = std::function<Status(SshSession&)>;
  int KeepStartedEverywhere(const Topology& topology, const std::string& what, const std::string& command,
                            const SessionCheck& check = nullptr, std::vector<Status>* refused = nullptr);

  Stats stats() const;
  // Idle connections now held (tests).
  size_t idle_sql() const;
  size_t idle_ssh() const;

 private:
  static std::string KeyOf(const MysqlOptions& options);
  static std::string KeyOf(const SshOptions& options);
  size_t IdleSsh(const std::string& key) const;
  size_t IdleSql(const std::string& key) const;

  mutable std::mutex mutex_;
  std::map<std::string, std::vector<std::unique_ptr<MysqlConnection>>> sql_;
  std::map<std::string, std::vector<std::unique_ptr<SshSession>>> ssh_;
  std::map<std::string, std::vector<Started>> started_;
  Stats stats_;
};

// A connection from `pool`, or a new one when `pool` is null.
Result<std::unique_ptr<MysqlConnection>> BorrowSql(SessionPool* pool, const MysqlOptions& options);
Result<std::unique_ptr<SshSession>> BorrowSsh(SessionPool* pool, const SshOptions& options);
// Back to `pool` when there is one and `sound`; closed otherwise.
void GiveBack(SessionPool* pool, std::unique_ptr<MysqlConnection> connection, bool sound);
void GiveBack(SessionPool* pool, std::unique_ptr<SshSession> session, bool sound);

}  // namespace replplan
