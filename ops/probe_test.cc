// watch's probe (ops/probe.h) over a fake connection: a probe that never returns is silence within
// the timeout, with no reconnect; a stall's late answer is seen; a connection closed at once is
// reopened once, and a refused reconnect is a dead primary, not a silent one.
#include "ops/probe.h"

#include <doctest/doctest.h>

#include <memory>
#include <mutex>
#include <thread>

namespace replplan::ops {
namespace {

using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The far end of a fake connection: it answers each statement once `stalled_until` has passed
// (never, by default: a frozen server), or breaks.
struct Far {
  std::mutex mutex;
  Steady::time_point stalled_until = Steady::time_point::min();
  bool broken = false;
  int sent = 0;
  int read = 0;
};

class FakeLink : public ProbeLink {
 public:
  explicit FakeLink(std::shared_ptr<Far> far) : far_(std::move(far)) {}
  Status Send(const std::string&) override {
    std::lock_guard<std::mutex> lock(far_->mutex);
    if (far_->broken) return Status::Unavailable("Lost connection to server during query (2013)");
    ++far_->sent;
    return Status::OK();
  }
  bool AnswerWaiting(int timeout_ms) override {
    auto until = Steady::now() + milliseconds(timeout_ms);
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(far_->mutex);
        if (far_->broken || Steady::now() >= far_->stalled_until) return true;
      }
      if (Steady::now() >= until) return false;
      std::this_thread::sleep_for(milliseconds(2));
    }
  }
  Status ReadAnswer() override {
    std::lock_guard<std::mutex> lock(far_->mutex);
    if (far_->broken) return Status::Unavailable("Lost connection to server during query (2013)");
    ++far_->read;
    return Status::OK();
  }

 private:
  std::shared_ptr<Far> far_;
};

// Connects to `far` (each connect gets the same far end), or fails as told, after `connect_takes`.
struct Connector {
  std::shared_ptr<Far> far = std::make_shared<Far>();
  bool refuse = false;
  milliseconds connect_takes{0};
  ProbeConnect connect() {
    return [this]() -> Result<std::unique_ptr<ProbeLink>> {
      std::this_thread::sleep_for(connect_takes);
      if (refuse) return Status::Unavailable("cannot connect to 127.0.0.61:3306: Connection refused (2002)");
      return std::unique_ptr<ProbeLink>(std::make_unique<FakeLink>(far));
    };
  }
};

constexpr milliseconds kTimeout{50};

TEST_CASE("a probe that never returns: silent within the timeout, no reconnect, and the probe left in flight") {
  Connector c;
  Probe probe("mercury", kTimeout, c.connect());
  REQUIRE(probe.Check().ok());  // connects
  REQUIRE(probe.Check().ok());  // a round trip on the warm connection
  CHECK(c.far->sent == 1);
  c.far->stalled_until = Steady::time_point::max();  // frozen for good

  auto start = Steady::now();
  Status first = probe.Check();
  CHECK(Steady::now() - start < std::chrono::seconds(5));  // returned: it never waits for the answer
  CHECK(first.code() == Status::Code::kUnavailable);
  CHECK(first.message() == "no answer from mercury within 50 ms");
  CHECK(probe.silent());
  CHECK(probe.connects() == 1);  // no reconnect to a silent server
  CHECK(c.far->sent == 2);
  // Asked again at once: still silent, nothing more sent, no connect, no wait.
  start = Steady::now();
  Status again = probe.Check();
  CHECK(Steady::now() - start < kTimeout);
  CHECK_FALSE(again.ok());
  CHECK(probe.silent());
  CHECK(c.far->sent == 2);
  CHECK(probe.connects() == 1);
  CHECK_FALSE(probe.AnsweredAgain());
}

TEST_CASE("a primary that stalls and wakes: suspected, then its late answer is seen and probing goes on") {
  Connector c;
  Probe probe("mercury", kTimeout, c.connect());
  REQUIRE(probe.Check().ok());
  c.far->stalled_until = Steady::now() + milliseconds(300);
  CHECK_FALSE(probe.Check().ok());
  CHECK(probe.silent());
  CHECK_FALSE(probe.AnsweredAgain());  // still stalled
  std::this_thread::sleep_for(milliseconds(350));
  CHECK(probe.AnsweredAgain());
  CHECK_FALSE(probe.silent());
  CHECK(c.far->read == 1);  // the late answer, read
  CHECK(probe.Check().ok());  // a new probe on the same connection
  CHECK(c.far->sent == 2);
  CHECK(probe.connects() == 1);
}

TEST_CASE("a connection broken at once is reopened once; a refused reconnect is a dead primary, not a silent one") {
  Connector c;
  Probe probe("mercury", kTimeout, c.connect(), /*silent_connect=*/milliseconds(100));
  REQUIRE(probe.Check().ok());
  c.far->broken = true;
  c.refuse = true;
  Status dead = probe.Check();
  CHECK(dead.message() == "cannot connect to 127.0.0.61:3306: Connection refused (2002)");
  CHECK(probe.connects() == 2);
  CHECK_FALSE(probe.silent());

  SUBCASE("a reconnect that gets no answer within its bound is silent") {
    c.connect_takes = milliseconds(120);
    CHECK_FALSE(probe.Check().ok());
    CHECK(probe.connects() == 3);
    CHECK(probe.silent());
  }
  SUBCASE("a reconnect that succeeds: the primary answers") {
    c.far->broken = false;
    c.refuse = false;
    CHECK(probe.Check().ok());
    CHECK(probe.connects() == 3);
    CHECK_FALSE(probe.silent());
  }
}

}  // namespace
}  // namespace replplan::ops
