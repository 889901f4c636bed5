#include "engine/failover_choice.h"

#include <doctest/doctest.h>

#include <chrono>
#include <functional>

namespace replplan {
namespace {

// A healthy replica of a dead primary (mercury, server_id 1): reachable, read-only, its IO thread
// retrying mercury as MariaDB shows it after a kill -9 (measured on the lab), binlog on with
// log_slave_updates, everything it received applied.
ReplicaFacts Replica(std::string name, std::string received) {
  ReplicaFacts r;
  r.name = std::move(name);
  r.reachable = true;
  r.read_only = true;
  r.has_channel = true;
  r.source = "mercury";
  r.source_is_primary = true;
  r.io_running = "Connecting";
  r.io_state = "Reconnecting after a failed master event read";
  r.last_io_errno = 2003;
  r.gtid_io_pos = received;
  r.gtid_current_pos = received;
  r.gtid_binlog_pos = received;
  r.log_bin = true;
  r.log_slave_updates = true;
  return r;
}

ReplicaFacts With(ReplicaFacts r, Promotion p) {
  r.promotion = p;
  return r;
}

// Its IO thread as SHOW SLAVE STATUS shows it.
ReplicaFacts Io(ReplicaFacts r, std::string running, int errno_, std::string state = "") {
  r.io_running = std::move(running);
  r.last_io_errno = errno_;
  r.io_state = std::move(state);
  return r;
}

// Still receiving from the primary.
ReplicaFacts Connected(ReplicaFacts r) { return Io(std::move(r), "Yes", 0, "Waiting for master to send event"); }

// STOP SLAVE by hand: both threads No, no error (measured on the lab).
ReplicaFacts StoppedByHand(ReplicaFacts r) { return Io(std::move(r), "No", 0); }

ReplicaFacts Unreachable(ReplicaFacts r) {
  r.reachable = false;
  return r;
}

// Answers, but SHOW SLAVE STATUS is empty: not seeded yet, or promoted.
ReplicaFacts NoChannel(ReplicaFacts r, bool writable) {
  r.has_channel = false;
  r.source.clear();
  r.source_is_primary = false;
  r.gtid_io_pos.clear();
  r.read_only = !writable;
  return Io(std::move(r), "", 0);
}

FailoverDecision Decide(const std::vector<ReplicaFacts>& replicas) {
  return DecideFailover(replicas, /*primary_reachable_from_tool=*/false, kMajorityOfReplicas);
}

std::string Refusal(const FailoverDecision& d) {
  CHECK_FALSE(d.proceed);
  CHECK(d.candidate.empty());
  return d.refusal;
}

}  // namespace

TEST_CASE("the replica that received the most wins and the others' shortfall is reported") {
  const FailoverDecision d =
      Decide({Replica("uranus", "0-1-42"), Replica("venus", "0-1-45"), Replica("mars", "0-1-44")});
  REQUIRE(d.proceed);
  CHECK(d.refusal.empty());
  CHECK(d.candidate == "venus");
  CHECK(d.target_position == "0-1-45");
  CHECK(d.lagging == std::map<std::string, std::string>{{"uranus", "0-1-43..0-1-45"}, {"mars", "0-1-45"}});
  CHECK(d.reasons ==
        std::vector<std::string>{"venus has received the most: 0-1-45 (everything every other promotable "
                                 "replica has received)"});
}

TEST_CASE("the received position counts, not the applied one, and the relay log is applied first") {
  ReplicaFacts uranus = Replica("uranus", "0-1-44");
  ReplicaFacts venus = Replica("venus", "0-1-46");
  venus.gtid_current_pos = "0-1-43";  // slower SQL thread, but it holds more in its relay log
  venus.gtid_binlog_pos = "0-1-43";
  const FailoverDecision d = Decide({uranus, venus});
  REQUIRE(d.proceed);
  CHECK(d.candidate == "venus");
  CHECK(d.target_position == "0-1-46");
  CHECK(d.reasons.at(1) == "venus applies its relay log up to 0-1-46 first (received, not yet applied: "
                           "0-1-44..0-1-46)");
}

TEST_CASE("the applied position stands in when the IO position is empty") {
  ReplicaFacts uranus = Replica("uranus", "0-1-44");
  uranus.gtid_io_pos.clear();
  const FailoverDecision d = Decide({Replica("venus", "0-1-43"), uranus});
  REQUIRE(d.proceed);
  CHECK(d.candidate == "uranus");
  CHECK(d.target_position == "0-1-44");
}

TEST_CASE("with several domains the candidate must hold every domain's most") {
  const FailoverDecision d = Decide({Replica("uranus", "0-1-45"), Replica("venus", "0-1-45,1-3-7")});
  REQUIRE(d.proceed);
  CHECK(d.candidate == "venus");
  CHECK(d.target_position == "0-1-45,1-3-7");
  CHECK(d.lagging == std::map<std::string, std::string>{{"uranus", "1-3-1..1-3-7"}});
}

TEST_CASE("equal positions go to the first replica in the file") {
  const FailoverDecision d = Decide({Replica("uranus", "0-1-45"), Replica("venus", "0-1-45")});
  REQUIRE(d.proceed);
  CHECK(d.candidate == "uranus");
  CHECK(d.lagging.empty());
  CHECK(d.reasons.at(1) == "tied with venus; chosen for coming first in the file");
}

TEST_CASE("promotion = prefer breaks a tie but never beats a more advanced replica") {
  const FailoverDecision tie =
      Decide({Replica("uranus", "0-1-45"), With(Replica("venus", "0-1-45"), Promotion::kPrefer)});
  REQUIRE(tie.proceed);
  CHECK(tie.candidate == "venus");
  CHECK(tie.reasons.at(1) == "tied with uranus; chosen for promotion = \"prefer\"");

  const FailoverDecision ahead =
      Decide({Replica("uranus", "0-1-46"), With(Replica("venus", "0-1-45"), Promotion::kPrefer)});
  REQUIRE(ahead.proceed);
  CHECK(ahead.candidate == "uranus");
}

TEST_CASE("a never replica is skipped even when most advanced, with a warning of what is lost") {
  const FailoverDecision d = Decide({With(Replica("uranus", "0-1-47"), Promotion::kNever),
                                     Replica("venus", "0-1-45"), Replica("mars", "0-1-44")});
  REQUIRE(d.proceed);
  CHECK(d.candidate == "venus");
  CHECK(d.target_position == "0-1-45");
  CHECK(d.lagging == std::map<std::string, std::string>{{"mars", "0-1-45"}});
  CHECK(d.reasons == std::vector<std::string>{
                         "venus has received the most: 0-1-45 (everything every other promotable replica "
                         "has received)",
                         "warning: uranus has promotion = \"never\" and has received 0-1-47, which venus "
                         "lacks: 0-1-46..0-1-47 will be lost"});
}

TEST_CASE("a replica without a binlog cannot be promoted") {
  ReplicaFacts uranus = Replica("uranus", "0-1-47");
  uranus.log_bin = false;
  const FailoverDecision d = Decide({uranus, Replica("venus", "0-1-47")});
  REQUIRE(d.proceed);
  CHECK(d.candidate == "venus");
}

TEST_CASE("the tool reaching the primary is a switchover, refused as a failover") {
  const FailoverDecision d =
      DecideFailover({Replica("uranus", "0-1-45")}, /*primary_reachable_from_tool=*/true,
                     kMajorityOfReplicas);
  CHECK(Refusal(d) == "the primary answers from here: this is a switchover, not a failover (use `replplan "
                      "switchover FILE --to NAME`)");
}

TEST_CASE("replicas still connected to the primary mean the tool alone is cut off") {
  CHECK(Refusal(Decide({Connected(Replica("uranus", "0-1-45")), Connected(Replica("venus", "0-1-45"))})) ==
        "the tool alone is cut off: no failover (0 confirmed, 2 needed: a majority of 2 replicas; still connected "
        "to the primary: uranus, venus)");
}

TEST_CASE("a replica still connected to the primary vetoes the failover even when a majority confirms") {
  CHECK(Refusal(Decide({Replica("uranus", "0-1-45"), Connected(Replica("venus", "0-1-45")),
                        Replica("mars", "0-1-45")})) ==
        "the primary is alive for venus: the tool and some replicas are cut off: no failover (2 confirmed, 2 "
        "needed: a majority of 3 replicas; confirmed: uranus, mars; still connected to the primary: venus)");
}

TEST_CASE("--min-confirmations overrides the majority and the veto of a connected replica") {
  ReplicaFacts venus = Connected(Replica("venus", "0-1-45"));
  const FailoverDecision d = DecideFailover({Replica("uranus", "0-1-45"), venus}, false, 1);
  REQUIRE(d.proceed);
  CHECK(d.candidate == "uranus");
  CHECK(d.confirmation == "1 confirmed, 1 needed (--min-confirmations); confirmed: uranus; still "
                          "connected to the primary: venus");
  CHECK(Refusal(DecideFailover({Replica("uranus", "0-1-45"), venus}, false, 3)) ==
        "too few replicas confirm the primary is down: no failover (1 confirmed, 3 needed (--min-confirmations); "
        "confirmed: uranus; still connected to the primary: venus)");
}

// The audit's split brain: replplan and one replica cut off from the primary and the other replicas.
// Counting only the reachable replicas, one confirmation out of one was enough.
TEST_CASE("a majority of the declared replicas must confirm: a replica that does not answer does not confirm") {
  CHECK(Refusal(Decide({Replica("uranus", "0-1-45"), Unreachable(Replica("venus", "0-1-45"))})) ==
        "too few replicas confirm the primary is down: no failover (1 confirmed, 2 needed: a majority of 2 "
        "replicas; confirmed: uranus; did not answer: venus)");
  CHECK(Refusal(Decide({Replica("uranus", "0-1-45"), Unreachable(Replica("venus", "0-1-45")),
                        Unreachable(Replica("mars", "0-1-45"))})) ==
        "too few replicas confirm the primary is down: no failover (1 confirmed, 2 needed: a majority of 3 "
        "replicas; confirmed: uranus; did not answer: venus, mars)");
  // Half is not a majority.
  CHECK(Refusal(Decide({Replica("uranus", "0-1-45"), Replica("venus", "0-1-45"),
                        Unreachable(Replica("mars", "0-1-45")), Unreachable(Replica("jupiter", "0-1-45"))})) ==
        "too few replicas confirm the primary is down: no failover (2 confirmed, 3 needed: a majority of 4 "
        "replicas; confirmed: uranus, venus; did not answer: mars, jupiter)");
  // The operator's override, at the operator's risk.
  const FailoverDecision forced =
      DecideFailover({Replica("uranus", "0-1-45"), Unreachable(Replica("venus", "0-1-45"))}, false, 1);
  REQUIRE(forced.proceed);
  CHECK(forced.candidate == "uranus");
}

TEST_CASE("with a single replica the majority is that replica") {
  const FailoverDecision d = Decide({Replica("uranus", "0-1-45")});
  REQUIRE(d.proceed);
  CHECK(d.candidate == "uranus");
  CHECK(d.confirmation == "1 confirmed, 1 needed: a majority of 1 replica; confirmed: uranus");
  CHECK(Refusal(Decide({Connected(Replica("uranus", "0-1-45"))})) ==
        "the tool alone is cut off: no failover (0 confirmed, 1 needed: a majority of 1 replica; still connected "
        "to the primary: uranus)");
}

TEST_CASE("an unreachable replica does not block a confirmed majority, and its unknown position is a warning") {
  ReplicaFacts venus = Unreachable(Connected(Replica("venus", "0-1-99")));
  const FailoverDecision d = Decide({Replica("uranus", "0-1-45"), venus, Replica("mars", "0-1-44")});
  REQUIRE(d.proceed);
  CHECK(d.candidate == "uranus");
  CHECK(d.lagging == std::map<std::string, std::string>{{"mars", "0-1-45"}});
  CHECK(d.confirmation == "2 confirmed, 2 needed: a majority of 3 replicas; confirmed: uranus, mars; "
                          "did not answer: venus");
  CHECK(d.reasons.back() ==
        "warning: venus did not answer: its position is unknown, it may hold transactions uranus lacks");
}

TEST_CASE("no answering replica means nobody confirms the primary is down") {
  ReplicaFacts uranus = Replica("uranus", "0-1-45");
  uranus.reachable = false;
  CHECK(Refusal(Decide({uranus})) ==
        "no replica answered: nobody confirms the primary is down and there is nothing to promote: "
        "no failover");
  CHECK(Refusal(Decide({})) ==
        "no replica answered: nobody confirms the primary is down and there is nothing to promote: "
        "no failover");
}

TEST_CASE("no promotable replica is refused with each one's reason") {
  ReplicaFacts venus = Replica("venus", "0-1-45");
  venus.log_bin = false;
  ReplicaFacts mars = Replica("mars", "0-1-45");
  mars.reachable = false;
  CHECK(Refusal(Decide({With(Replica("uranus", "0-1-45"), Promotion::kNever), venus, mars})) ==
        "no replica can be promoted: uranus has promotion = \"never\", venus has log_bin off, mars did not "
        "answer");
}

TEST_CASE("diverged domains are refused with the positions") {
  CHECK(Refusal(Decide({Replica("uranus", "0-1-45,1-3-6"), Replica("venus", "0-1-44,1-3-7")})) ==
        "the replicas have diverged: none has received everything the others have "
        "(uranus 0-1-45,1-3-6, venus 0-1-44,1-3-7): no failover; compare them and promote one by hand");
}

TEST_CASE("the same seq written by two servers is divergence, not a tie") {
  CHECK(Refusal(Decide({Replica("uranus", "0-1-45"), Replica("venus", "0-2-45")})) ==
        "the replicas have diverged: none has received everything the others have (uranus 0-1-45, venus "
        "0-2-45): no failover; compare them and promote one by hand");
}

TEST_CASE("a malformed position refuses, naming the replica") {
  CHECK(Refusal(Decide({Replica("uranus", "0-1-45"), Replica("venus", "0-1")})) ==
        "venus: invalid GTID position '0-1': entry '0-1' is not domain-server_id-seq (e.g. 0-1-42): cannot "
        "compare positions: no failover");
}

TEST_CASE("errant transactions in the candidate's binlog are a warning") {
  ReplicaFacts uranus = Replica("uranus", "0-1-45");
  uranus.gtid_binlog_pos = "0-1-45,5-2-3";
  const FailoverDecision d = Decide({uranus, Replica("venus", "0-1-44")});
  REQUIRE(d.proceed);
  CHECK(d.candidate == "uranus");
  CHECK(d.reasons.back() == "warning: uranus's binlog holds transactions it did not receive from the primary "
                            "(errant): 5-2-1..5-2-3");
}

TEST_CASE("a candidate without log_slave_updates warns that lagging replicas must be reseeded") {
  ReplicaFacts uranus = Replica("uranus", "0-1-45");
  uranus.log_slave_updates = false;
  uranus.gtid_binlog_pos = "";
  const FailoverDecision d = Decide({uranus, Replica("venus", "0-1-44"), Replica("mars", "0-1-45")});
  REQUIRE(d.proceed);
  CHECK(d.reasons.back() ==
        "warning: uranus has log_slave_updates off: its binlog lacks what it replicated, so venus cannot "
        "catch up from it and must be reseeded");
}

// --- what counts as a confirmation (TestimonyOf) ----------------------------------------------

TEST_CASE("only an IO thread retrying the primary, or failed on a connection error, confirms its loss") {
  const std::string reconnecting = "Reconnecting after a failed master event read";
  struct Row {
    std::string running;
    int errno_;
    std::string state;
    Testimony expected;
  };
  // SHOW SLAVE STATUS as MariaDB 10.11 shows it (the first four measured on the lab).
  const std::vector<Row> rows = {
      {"Connecting", 2003, reconnecting, Testimony::kLost},           // kill -9: connection refused
      {"Connecting", 0, reconnecting, Testimony::kLost},              // frozen: reads timed out, reconnecting
      {"Connecting", 2013, reconnecting, Testimony::kLost},           // frozen: the handshake timed out
      {"No", 0, "", Testimony::kNotReplicating},                      // STOP SLAVE by hand
      {"Connecting", 2003, "Connecting to master", Testimony::kLost},  // START SLAVE after the kill
      {"Connecting", 2002, "Connecting to master", Testimony::kLost},
      {"Connecting", 2006, reconnecting, Testimony::kLost},
      {"No", 2003, "", Testimony::kLost},                             // master_retry_count ran out
      {"No", 2013, "", Testimony::kLost},
      {"No", 1236, "", Testimony::kNotReplicating},                   // the primary answered: GTID not found
      {"Connecting", 1045, "Connecting to master", Testimony::kNotReplicating},  // it answered: access denied
      {"No", 1045, "", Testimony::kNotReplicating},
      {"Connecting", 2005, "Connecting to master", Testimony::kNotReplicating},  // the replica's resolver
      {"Connecting", 0, "Connecting to master", Testimony::kNotReplicating},     // just started: nothing yet
      {"Yes", 0, "Waiting for master to send event", Testimony::kConnected},
      {"Yes", 2013, "Waiting for master to send event", Testimony::kConnected},  // an old error, reconnected
  };
  for (const Row& row : rows) {
    INFO(row.running << " " << row.errno_ << " " << row.state);
    CHECK(TestimonyOf(Io(Replica("uranus", "0-1-45"), row.running, row.errno_, row.state)) == row.expected);
  }
  ReplicaFacts elsewhere = Replica("uranus", "0-1-45");
  elsewhere.source = "venus";
  elsewhere.source_is_primary = false;
  CHECK(TestimonyOf(elsewhere) == Testimony::kOtherSource);
  CHECK(TestimonyOf(NoChannel(Replica("uranus", ""), false)) == Testimony::kNoChannel);
  CHECK(TestimonyOf(Unreachable(Replica("uranus", "0-1-45"))) == Testimony::kUnreachable);
}

TEST_CASE("a replica stopped by hand, or failed on an error the primary sent, does not confirm") {
  CHECK(Refusal(Decide({Replica("uranus", "0-1-45"), StoppedByHand(Replica("venus", "0-1-45"))})) ==
        "too few replicas confirm the primary is down: no failover (1 confirmed, 2 needed: a majority of 2 "
        "replicas; confirmed: uranus; not confirming: venus (Slave_IO_Running No, no IO error: stopped by hand))");
  CHECK(Refusal(Decide({Io(Replica("uranus", "0-1-45"), "No", 1236), Io(Replica("venus", "0-1-45"), "Connecting", 1045,
                                                                          "Connecting to master")})) ==
        "too few replicas confirm the primary is down: no failover (0 confirmed, 2 needed: a majority of 2 "
        "replicas; not confirming: uranus (Slave_IO_Running No, IO error 1236), venus (Slave_IO_Running "
        "Connecting, IO error 1045))");
}

TEST_CASE("a stopped replica that lags is no candidate, even when it is the only promotable one") {
  const FailoverDecision d =
      Decide({With(Replica("uranus", "0-1-45"), Promotion::kNever), StoppedByHand(Replica("venus", "0-1-40")),
              With(Replica("mars", "0-1-45"), Promotion::kNever)});
  CHECK(Refusal(d) == "no replica can be promoted: uranus has promotion = \"never\", venus does not confirm "
                      "(Slave_IO_Running No, no IO error: stopped by hand), mars has promotion = \"never\"");
}

TEST_CASE("a stopped replica that lags is not chosen over a confirming one, whatever its promotion, and the reasons say so") {
  const FailoverDecision d = Decide({With(StoppedByHand(Replica("venus", "0-1-40")), Promotion::kPrefer),
                                     Replica("uranus", "0-1-45"), Replica("mars", "0-1-44")});
  REQUIRE(d.proceed);
  CHECK(d.candidate == "uranus");
  CHECK(d.lagging == std::map<std::string, std::string>{{"venus", "0-1-41..0-1-45"}, {"mars", "0-1-45"}});
  CHECK(d.reasons == std::vector<std::string>{
                         "uranus has received the most: 0-1-45 (everything every other promotable replica has "
                         "received)",
                         "venus does not confirm the loss (Slave_IO_Running No, no IO error: stopped by hand) and "
                         "has not received everything the others have: not a candidate"});
}

TEST_CASE("among equally advanced replicas one that confirms is chosen before a stopped one") {
  const FailoverDecision d = Decide({With(StoppedByHand(Replica("venus", "0-1-45")), Promotion::kPrefer),
                                     Replica("uranus", "0-1-45"), Replica("mars", "0-1-45")});
  REQUIRE(d.proceed);
  CHECK(d.candidate == "uranus");
  CHECK(d.reasons.at(1) == "tied with venus, mars; chosen for coming first in the file");
  const FailoverDecision alone = Decide({StoppedByHand(Replica("venus", "0-1-45")), Replica("uranus", "0-1-45"),
                                         Replica("mars", "0-1-44")});
  REQUIRE(alone.proceed);
  CHECK(alone.candidate == "uranus");
  CHECK(alone.reasons.at(1) == "tied with venus; chosen for confirming the loss (the others do not)");
}

TEST_CASE("a stopped replica that received more than everyone else is promoted, and the reasons say it did not confirm") {
  const FailoverDecision d = Decide({StoppedByHand(Replica("venus", "0-1-46")), Replica("uranus", "0-1-45"),
                                     Replica("mars", "0-1-45")});
  REQUIRE(d.proceed);
  CHECK(d.candidate == "venus");
  CHECK(d.reasons.at(1) == "venus does not confirm the loss (Slave_IO_Running No, no IO error: stopped by hand) "
                           "but has received everything every other replica has: promoted all the same");
}

// --- servers with no replication channel, and the interrupted failover ------------------------------

TEST_CASE("a replica not seeded yet is left out of the count instead of passing for one still connected") {
  for (bool writable : {false, true}) {  // a fresh server may not have its read_only yet
    CAPTURE(writable);
    const FailoverDecision d = Decide({Replica("uranus", "0-1-45"), NoChannel(Replica("venus", ""), writable)});
    REQUIRE_MESSAGE(d.proceed, d.refusal);
    CHECK(d.candidate == "uranus");
    CHECK_FALSE(d.resumed);
    CHECK(d.confirmation == "1 confirmed, 1 needed: a majority of 1 replica; confirmed: uranus; left "
                            "out, replicating from nobody: venus");
    CHECK(d.reasons.at(1) == "venus replicates from nobody: left out of the confirmations");
  }
  CHECK(Refusal(Decide({NoChannel(Replica("venus", ""), false)})) ==
        "no replica replicates from the primary: nobody can confirm it is down: no failover (left out, replicating "
        "from nobody: venus)");
}

TEST_CASE("a failover interrupted after the promotion is completed: the promoted server stays the candidate") {
  // uranus was promoted (writable, no channel) and took two writes; the file still names mercury.
  ReplicaFacts uranus = NoChannel(Replica("uranus", "0-1-47"), /*writable=*/true);
  const FailoverDecision d = Decide({Replica("venus", "0-1-45"), uranus, Replica("mars", "0-1-44")});
  REQUIRE_MESSAGE(d.proceed, d.refusal);
  CHECK(d.resumed);
  CHECK(d.candidate == "uranus");
  CHECK(d.target_position == "0-1-47");
  CHECK(d.lagging == std::map<std::string, std::string>{{"venus", "0-1-46..0-1-47"}, {"mars", "0-1-45..0-1-47"}});
  CHECK(d.confirmation == "2 confirmed, 2 needed: a majority of 2 replicas; confirmed: venus, mars; "
                          "left out, replicating from nobody: uranus");
  CHECK(d.reasons.front() == "uranus is writable already and replicates from nobody, and holds everything every "
                             "other replica has received (it has 0-1-47): a failover to it was interrupted after its "
                             "promotion; it is completed, nobody else is promoted");

  // venus was repointed to it before the interruption: that counts for the failover that moved it.
  ReplicaFacts venus = Connected(Replica("venus", "0-1-47"));
  venus.source = "uranus";
  venus.source_is_primary = false;
  const FailoverDecision later = Decide({venus, uranus, Replica("mars", "0-1-44")});
  REQUIRE_MESSAGE(later.proceed, later.refusal);
  CHECK(later.resumed);
  CHECK(later.candidate == "uranus");
  CHECK(later.confirmation == "2 confirmed, 2 needed: a majority of 2 replicas; confirmed: venus "
                              "(already replicating from uranus), mars; left out, replicating from nobody: uranus");
}

TEST_CASE("a writable server without a channel that lacks what another replica received is refused, not doubled") {
  ReplicaFacts uranus = NoChannel(Replica("uranus", "0-1-44"), /*writable=*/true);
  CHECK(Refusal(Decide({Replica("venus", "0-1-45"), uranus, Replica("mars", "0-1-45")})) ==
        "uranus is writable and replicates from nobody, but lacks what venus has received (0-1-45): promoting "
        "another replica would leave two writable servers: no failover; make it read-only (SET GLOBAL read_only=1) "
        "and run failover again, or, if it is the primary now, set primary = \"uranus\" in the file");
  CHECK(Refusal(Decide({NoChannel(Replica("venus", "0-1-45"), true), NoChannel(Replica("uranus", "0-1-45"), true),
                        Replica("mars", "0-1-45")})) ==
        "several servers are writable and replicate from nobody (venus, uranus): no failover; decide which one is "
        "the primary, make the others read-only (SET GLOBAL read_only=1) and run failover again");
}

TEST_CASE("an interrupted failover with no replica left to confirm is refused with the fix") {
  CHECK(Refusal(Decide({NoChannel(Replica("uranus", "0-1-45"), true)})) ==
        "no replica replicates from the primary: nobody can confirm it is down: no failover (left out, replicating "
        "from nobody: uranus); if a failover to uranus was interrupted after its promotion, set primary = "
        "\"uranus\" in the file by hand");
}

// --- the silence rule: a connected IO thread that received nothing for longer than B ------------

namespace {

using std::chrono::milliseconds;
const std::chrono::steady_clock::time_point kT0{};

// Connected to mercury, as read at `at_ms` (the read taking 2 ms): `heartbeats` received so far and
// the primary's binlog read up to `pos`.
ReplicaFacts Receiving(std::string name, int64_t heartbeats, int at_ms, uint64_t pos = 1000) {
  ReplicaFacts r = Connected(Replica(std::move(name), "0-1-45"));
  r.received_heartbeats = heartbeats;
  r.read_source_log_file = "mysql-bin.000001";
  r.read_source_log_pos = pos;
  r.read_started = kT0 + milliseconds(at_ms);
  r.read_done = r.read_started + milliseconds(2);
  return r;
}

// The confirm step asked every 10 ms from 0 to `until_ms`, the replicas read by `read`: the first
// time the decision proceeds, or -1. `last` gets the last decision.
int FirstConfirmation(const std::function<std::vector<ReplicaFacts>(int)>& read, int until_ms,
                      FailoverDecision* last = nullptr) {
  ReceiptWatch watch(milliseconds(2000));
  for (int at = 0; at <= until_ms; at += 10) {
    std::vector<ReplicaFacts> replicas = read(at);
    watch.Observe(replicas);
    FailoverDecision d = Decide(replicas);
    if (last != nullptr) *last = d;
    if (d.proceed) return at;
  }
  return -1;
}

// Heartbeats an idle primary sent by `t` ms, one every 500 ms, none while it is stalled: in each 3 s
// cycle from 100 to 1600 ms, after which the overdue one goes out at once.
int64_t HeartbeatsWithStalls(int t) {
  int64_t n = 0;
  for (int tick = 0; tick <= t; tick += 500) {
    const int in_cycle = tick % 3000;
    if (in_cycle <= 100 || in_cycle >= 1600) ++n;
  }
  for (int end = 1600; end <= t; end += 3000) ++n;  // the overdue heartbeat at the stall's end
  return n;
}

}  // namespace

TEST_CASE("the silence bound is the tolerated stall (1.5 s) + 150 ms for its end to be seen + one heartbeat period") {
  ReplicationSpec r;
  r.heartbeat_period = 1.0;
  CHECK(SilenceBound(r) == milliseconds(2650));
  r.heartbeat_period = 0.5;
  CHECK(SilenceBound(r) == milliseconds(2150));
  r.heartbeat_period = 0.1;
  CHECK(SilenceBound(r) == milliseconds(1750));
  r.heartbeat_period = 0.25;
  CHECK(SilenceBound(r) == milliseconds(1900));
  r.heartbeat_period = 30;
  CHECK(SilenceBound(r) == milliseconds(31650));
}

TEST_CASE("a read that arrives after a later one (the watcher's observer beside the confirm step) is ignored") {
  ReceiptWatch watch(milliseconds(2000));
  std::vector<ReplicaFacts> first{Receiving("uranus", 7, 0)};
  watch.Observe(first);
  std::vector<ReplicaFacts> later{Receiving("uranus", 7, 2500)};
  watch.Observe(later);
  CHECK(later[0].received_nothing_for == milliseconds(2498));
  // Started at 1000 ms, answered after the 2500 ms read, showing an older count: no restart of the silence.
  std::vector<ReplicaFacts> late{Receiving("uranus", 6, 1000)};
  watch.Observe(late);
  CHECK(late[0].silence_bound == milliseconds(0));
  std::vector<ReplicaFacts> next{Receiving("uranus", 7, 2600)};
  watch.Observe(next);
  CHECK(next[0].received_nothing_for == milliseconds(2598));
  CHECK(TestimonyOf(next[0]) == Testimony::kLost);
}

TEST_CASE("replicas connected to a primary that sends nothing for longer than B confirm its loss") {
  FailoverDecision d;
  const int at = FirstConfirmation(
      [](int t) { return std::vector<ReplicaFacts>{Receiving("uranus", 7, t), Receiving("venus", 7, t)}; }, 5000, &d);
  // Counted from the end of the first read (2 ms) to the start of a later one: above 2000 ms first at 2010.
  CHECK(at == 2010);
  CHECK(d.proceed);
  CHECK(d.candidate == "uranus");
  CHECK(d.confirmation ==
        "2 confirmed, 2 needed: a majority of 2 replicas; confirmed: uranus (connected, nothing received for 2008 "
        "ms, bound 2000 ms), venus (connected, nothing received for 2008 ms, bound 2000 ms)");
}

TEST_CASE("a primary stalled 1.5 s every 3 s, sending its heartbeats in between, is never confirmed lost") {
  FailoverDecision d;
  const int at = FirstConfirmation(
      [](int t) {
        return std::vector<ReplicaFacts>{Receiving("uranus", HeartbeatsWithStalls(t), t),
                                         Receiving("venus", HeartbeatsWithStalls(t), t)};
      },
      12000, &d);
  CHECK(at == -1);
  CHECK(d.refusal.find("the tool alone is cut off") == 0);
  // The same stall 600 ms longer than B allows: confirmed within it.
  const int longer = FirstConfirmation(
      [](int t) {
        const int64_t n = t < 100 ? 1 : t < 2700 ? 2 : 3;
        return std::vector<ReplicaFacts>{Receiving("uranus", n, t), Receiving("venus", n, t)};
      },
      12000);
  CHECK(longer == 2110);
}

TEST_CASE("events count as receipt as much as heartbeats: a busy primary is not silent") {
  // No heartbeat (a busy primary sends none), but the binlog position read moves every 300 ms.
  const int at = FirstConfirmation(
      [](int t) {
        const uint64_t pos = 1000 + static_cast<uint64_t>(t / 300) * 250;
        return std::vector<ReplicaFacts>{Receiving("uranus", 3, t, pos), Receiving("venus", 3, t, pos)};
      },
      6000);
  CHECK(at == -1);
}

TEST_CASE("a replica still receiving from the primary refuses the failover while the others hear nothing") {
  FailoverDecision d;
  const int at = FirstConfirmation(
      [](int t) {
        return std::vector<ReplicaFacts>{Receiving("uranus", 7, t), Receiving("venus", 7, t),
                                         Receiving("pluto", 7 + t / 500, t)};
      },
      6000, &d);
  CHECK(at == -1);
  CHECK(d.refusal.find("the primary is alive for pluto (nothing received for ") == 0);
  CHECK(d.refusal.find("confirmed: uranus (connected, nothing received for 5998 ms, bound 2000 ms), venus") !=
        std::string::npos);
}

TEST_CASE("an unreachable replica does not confirm: silent replicas must be a majority of all declared") {
  const int alone = FirstConfirmation(
      [](int t) {
        return std::vector<ReplicaFacts>{Receiving("uranus", 7, t), Unreachable(Receiving("venus", 7, t))};
      },
      6000);
  CHECK(alone == -1);
  const int two_of_three = FirstConfirmation(
      [](int t) {
        return std::vector<ReplicaFacts>{Receiving("uranus", 7, t), Unreachable(Receiving("venus", 7, t)),
                                         Receiving("pluto", 7, t)};
      },
      6000);
  CHECK(two_of_three == 2010);
}

TEST_CASE("silence is observed over time only: one read, no heartbeat count, or a break in contact prove none") {
  ReceiptWatch watch(milliseconds(2000));
  std::vector<ReplicaFacts> once{Receiving("uranus", 7, 0), Receiving("venus", 7, 0)};
  once[0].read_started = once[1].read_started = kT0 + milliseconds(100000);  // a late first read proves nothing
  watch.Observe(once);
  CHECK(TestimonyOf(once[0]) == Testimony::kConnected);
  CHECK(once[0].received_nothing_for == milliseconds(0));
  CHECK(once[0].silence_bound == milliseconds(2000));

  // No heartbeat count reported: never observed, whatever the time.
  const int unreported = FirstConfirmation(
      [](int t) {
        std::vector<ReplicaFacts> r{Receiving("uranus", 7, t), Receiving("venus", 7, t)};
        for (ReplicaFacts& f : r) f.received_heartbeats.reset();
        return r;
      },
      6000);
  CHECK(unreported == -1);

  // venus does not answer one read at 1500 ms: its silence counts again from its next read.
  const int interrupted = FirstConfirmation(
      [](int t) {
        std::vector<ReplicaFacts> r{Receiving("uranus", 7, t), Receiving("venus", 7, t)};
        if (t == 1500) r[1] = Unreachable(r[1]);
        return r;
      },
      6000);
  CHECK(interrupted == 3520);
}

}  // namespace replplan
