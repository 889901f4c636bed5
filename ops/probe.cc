#include "ops/probe.h"

#include <algorithm>
#include <thread>
#include <utility>


namespace replplan::ops {
namespace {

constexpr std::chrono::seconds kPendingFor{2};

long long Ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

class SessionLink : public ProbeLink {
 public:
  explicit SessionLink(std::unique_ptr<ServerSession> session) : session_(std::move(session)) {}
  Status Send(const std::string& sql) override { return session_->SendQuery(sql); }
  bool AnswerWaiting(int timeout_ms) override { return session_->AnswerWaiting(timeout_ms); }
  Status ReadAnswer() override {
    auto rows = session_->ReadAnswer();
    return rows.ok() ? Status::OK() : rows.status();
  }

 private:
  std::unique_ptr<ServerSession> session_;
};

}  // namespace

Probe::Probe(std::string primary, std::chrono::milliseconds timeout, ProbeConnect connect,
             std::chrono::milliseconds silent_connect)
    : primary_(std::move(primary)), timeout_(timeout), connect_(std::move(connect)), silent_connect_(silent_connect) {}

Status Probe::Check() {
  if (link_ && pending_) {
    if (AnsweredAgain()) return Status::OK();
    if (link_ && Steady::now() - pending_since_ < kPendingFor) {
      return Status::Unavailable("no answer from " + primary_ + " for " +
                                 std::to_string(Ms(Steady::now() - pending_since_)) + " ms");
    }
    link_.reset();
    pending_ = false;
  }
  silent_ = false;
  if (link_) {
    if (link_->Send("SELECT 1").ok()) {
      if (!link_->AnswerWaiting(static_cast<int>(timeout_.count()))) {
        pending_ = true;
        pending_since_ = Steady::now() - timeout_;
        silent_ = true;
        return Status::Unavailable("no answer from " + primary_ + " within " + std::to_string(timeout_.count()) +
                                   " ms");
      }
      if (link_->ReadAnswer().ok()) return Status::OK();
    }
    link_.reset();  // closed or reset at once: reopened once below
  }
  auto start = Steady::now();
  ++connects_;
  auto link = connect_();
  if (!link.ok()) {
    silent_ = Steady::now() - start >= silent_connect_;
    return link.status();
  }
  link_ = std::move(*link);
  return Status::OK();
}

bool Probe::AnsweredAgain() {
  if (!link_ || !pending_ || !link_->AnswerWaiting(0)) return false;
  pending_ = false;
  if (link_->ReadAnswer().ok()) {
    silent_ = false;
    return true;
  }
  link_.reset();  // it closed instead: not an answer
  return false;
}

void Probe::Wait(std::chrono::milliseconds interval, const std::atomic<bool>& stop) {
  auto until = Steady::now() + interval;
  while (!stop) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Steady::now());
    if (left.count() <= 0) return;
    // Slices of at most 200 ms so a stop request is seen in time.
    int slice = static_cast<int>(std::min<long long>(left.count(), 200));
    if (!link_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(slice));
      continue;
    }
    if (link_->AnswerWaiting(slice)) return;
  }
}

ProbeConnect SessionProbeConnect(SessionFactory& sessions, const ServerSpec& primary, std::chrono::milliseconds timeout) {
  return [&sessions, &primary, timeout]() -> Result<std::unique_ptr<ProbeLink>> {
    SessionLimits limits;
    const int ms = static_cast<int>(timeout.count());
    limits.sql_connect_timeout_ms = ms;
    limits.sql_read_timeout_ms = ms;
    limits.sql_write_timeout_ms = ms;
    limits.fresh = true;
    std::unique_ptr<ServerSession> session = sessions.Open(primary, limits);
    Status connected = session->ConnectSql();
    if (!connected.ok()) return connected;
    return std::unique_ptr<ProbeLink>(std::make_unique<SessionLink>(std::move(session)));
  };
}

}  // namespace replplan::ops
