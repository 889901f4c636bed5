#include "providers/session_pool.h"

#include <poll.h>

#include <future>

#include "providers/connect_options.h"

namespace replplan {
namespace {

// True while the peer has not closed or reset the connection. POLLRDHUP, not POLLIN: an idle SSH
// session may hold unread messages the server sent on its own (OpenSSH announces its host keys
// right after login), which libssh2 handles on the next call; only the peer's FIN or RST says the
// connection is gone.
bool StillOpen(int socket) {
  if (socket < 0) return false;
  pollfd p{socket, POLLRDHUP, 0};
  int n = ::poll(&p, 1, 0);
  if (n < 0) return false;
  return n == 0 || (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) == 0;
}

// The most recently returned idle connection that is still open, or null; closed ones on the way
// are dropped (and counted).
template <typename T>
std::unique_ptr<T> TakeSound(std::vector<std::unique_ptr<T>>& idle, int& dropped) {
  while (!idle.empty()) {
    std::unique_ptr<T> c = std::move(idle.back());
    idle.pop_back();
    if (StillOpen(c->socket())) return c;
    ++dropped;
  }
  return nullptr;
}

template <typename T>
int DropClosed(std::map<std::string, std::vector<std::unique_ptr<T>>>& idle_by_key) {
  int dropped = 0;
  for (auto& [key, idle] : idle_by_key) {
    for (auto it = idle.begin(); it != idle.end();) {
      if (StillOpen((*it)->socket())) {
        ++it;
      } else {
        it = idle.erase(it);
        ++dropped;
      }
    }
  }
  return dropped;
}

// A started command is still standing by while its connection is open and its channel has not
// ended (as far as libssh2 has seen without a round trip).
bool StillStanding(const SessionPool::Started& started) {
  return StillOpen(started.session->socket()) && !started.stream->remote_closed();
}

}  // namespace

// The connect timeout is part of an SQL key: a caller that bounds the connect (a failover reading
// the old primary) wants to know whether the server answers NOW, which a connection made earlier
// cannot tell, and a frozen server would hold it for the whole read timeout.
std::string SessionPool::KeyOf(const MysqlOptions& o) {
  return o.user + "@" + o.host + ":" + std::to_string(o.port) + " c" + std::to_string(o.connect_timeout_ms) + " r" +
         std::to_string(o.read_timeout_ms) + " w" + std::to_string(o.write_timeout_ms);
}

std::string SessionPool::KeyOf(const SshOptions& o) {
  return o.user + "@" + o.host + ":" + std::to_string(o.port) + " " + o.identity + " " + o.known_hosts +
         (o.verify_host_key ? " verified" : " unverified");
}

Result<std::unique_ptr<MysqlConnection>> SessionPool::Sql(const MysqlOptions& options) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto c = TakeSound(sql_[KeyOf(options)], stats_.dropped)) {
      ++stats_.sql_lent;
      return c;
    }
  }
  auto c = MysqlConnection::Connect(options);
  if (c.ok()) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.sql_opened;
  }
  return c;
}

Result<std::unique_ptr<SshSession>> SessionPool::Ssh(const SshOptions& options) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto s = TakeSound(ssh_[KeyOf(options)], stats_.dropped)) {
      ++stats_.ssh_lent;
      s->set_command_timeout_ms(options.command_timeout_ms);
      return s;
    }
  }
  auto s = SshSession::Connect(options);
  if (s.ok()) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.ssh_opened;
  }
  return s;
}

void SessionPool::Return(std::unique_ptr<MysqlConnection> connection) {
  if (!connection) return;
  const std::string key = KeyOf(connection->options());
  std::lock_guard<std::mutex> lock(mutex_);
  sql_[key].push_back(std::move(connection));
}

void SessionPool::Return(std::unique_ptr<SshSession> session) {
  if (!session) return;
  const std::string key = KeyOf(session->options());
  std::lock_guard<std::mutex> lock(mutex_);
  ssh_[key].push_back(std::move(session));
}

void SessionPool::KeepStarted(const SshOptions& options, const std::string& what, Started started) {
  if (!started.session || !started.stream) return;
  std::lock_guard<std::mutex> lock(mutex_);
  started_[KeyOf(options) + " " + what].push_back(std::move(started));
}

SessionPool::Started SessionPool::TakeStarted(const SshOptions& options, const std::string& what) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& kept = started_[KeyOf(options) + " " + what];
  while (!kept.empty()) {
    Started s = std::move(kept.back());
    kept.pop_back();
    if (StillStanding(s)) return s;
    ++stats_.dropped;
  }
  return {};
}

bool SessionPool::HasStarted(const SshOptions& options, const std::string& what) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& kept = started_[KeyOf(options) + " " + what];
  for (auto it = kept.begin(); it != kept.end();) {
    if (StillStanding(*it)) {
      ++it;
    } else {
      it = kept.erase(it);
      ++stats_.dropped;
    }
  }
  return !kept.empty();
}

int SessionPool::KeepStartedEverywhere(const Topology& topology, const std::string& what, const std::string& command,
                                       const SessionCheck& check, std::vector<Status>* refused) {
  std::vector<std::future<int>> starting;
  std::mutex refused_mutex;
  for (const ServerSpec& server : topology.servers) {
    const SshOptions options = SshOptionsFor(server);
    if (HasStarted(options, what)) continue;
    starting.push_back(std::async(std::launch::async, [&, options]() {
      auto session = SshSession::Connect(options);
      if (!session.ok()) return 0;
      if (check) {
        Status checked = check(**session);
        if (!checked.ok()) {
          std::lock_guard<std::mutex> lock(refused_mutex);
          if (refused != nullptr) refused->push_back(checked);
          return 0;
        }
      }
      auto stream = (*session)->Start(command);
      if (!stream.ok()) return 0;
      KeepStarted(options, what, Started{std::move(*session), std::move(*stream)});
      return 1;
    }));
  }
  int started = 0;
  for (auto& f : starting) started += f.get();
  return started;
}

size_t SessionPool::IdleSql(const std::string& key) const {
  auto it = sql_.find(key);
  return it == sql_.end() ? 0 : it->second.size();
}

size_t SessionPool::IdleSsh(const std::string& key) const {
  auto it = ssh_.find(key);
  return it == ssh_.end() ? 0 : it->second.size();
}

int SessionPool::Warm(const Topology& topology, int ssh_per_server) {
  // Drop what the servers closed first, so the counts below are of sound connections.
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.dropped += DropClosed(sql_) + DropClosed(ssh_);
  }
  std::vector<std::future<int>> opening;
  for (const ServerSpec& server : topology.servers) {
    auto sql_options = MysqlOptionsFor(server);
    SshOptions ssh_options = SshOptionsFor(server);
    size_t sql_missing = 0, ssh_missing = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (sql_options.ok()) sql_missing = IdleSql(KeyOf(*sql_options)) == 0 ? 1 : 0;
      size_t have = IdleSsh(KeyOf(ssh_options));
      ssh_missing = have < static_cast<size_t>(ssh_per_server) ? ssh_per_server - have : 0;
    }
    for (size_t i = 0; i < sql_missing; ++i) {
      opening.push_back(std::async(std::launch::async, [this, o = *sql_options]() {
        auto c = MysqlConnection::Connect(o);
        if (!c.ok()) return 0;
        Return(std::move(*c));
        return 1;
      }));
    }
    for (size_t i = 0; i < ssh_missing; ++i) {
      opening.push_back(std::async(std::launch::async, [this, ssh_options]() {
        auto s = SshSession::Connect(ssh_options);
        if (!s.ok()) return 0;
        // Its SFTP channel too, so a failover's first file read starts no process on the server.
        if (!(*s)->StartSftp().ok()) return 0;
        Return(std::move(*s));
        return 1;
      }));
    }
  }
  int opened = 0;
  for (auto& f : opening) opened += f.get();
  return opened;
}

SessionPool::Stats SessionPool::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

size_t SessionPool::idle_sql() const {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t n = 0;
  for (const auto& [key, idle] : sql_) n += idle.size();
  return n;
}

size_t SessionPool::idle_ssh() const {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t n = 0;
  for (const auto& [key, idle] : ssh_) n += idle.size();
  return n;
}

Result<std::unique_ptr<MysqlConnection>> BorrowSql(SessionPool* pool, const MysqlOptions& options) {
  return pool != nullptr ? pool->Sql(options) : MysqlConnection::Connect(options);
}

Result<std::unique_ptr<SshSession>> BorrowSsh(SessionPool* pool, const SshOptions& options) {
  return pool != nullptr ? pool->Ssh(options) : SshSession::Connect(options);
}

void GiveBack(SessionPool* pool, std::unique_ptr<MysqlConnection> connection, bool sound) {
  if (pool != nullptr && sound) pool->Return(std::move(connection));
}

void GiveBack(SessionPool* pool, std::unique_ptr<SshSession> session, bool sound) {
  if (pool != nullptr && sound) pool->Return(std::move(session));
}

}  // namespace replplan
