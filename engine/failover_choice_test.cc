#include "engine/failover_choice.h"

#include <doctest/doctest.h>

namespace replplan {
namespace {

// A healthy replica of a dead primary (server_id 1): reachable, its IO thread lost the primary,
// binlog on with log_slave_updates, everything it received applied.
ReplicaFacts Replica(std::string name, std::string received) {
  ReplicaFacts r;
  r.name = std::move(name);
  r.reachable = true;
  r.io_thread_lost_source = true;
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

FailoverDecision Decide(const std::vector<ReplicaFacts>& replicas) {
  return DecideFailover(replicas, /*primary_reachable_from_tool=*/false, kAllReachableReplicas);
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
                     kAllReachableReplicas);
  CHECK(Refusal(d) == "the primary answers from here: this is a switchover, not a failover (use `replplan "
                      "switchover FILE --to NAME`)");
}

TEST_CASE("replicas still connected to the primary mean the tool alone is cut off") {
  ReplicaFacts venus = Replica("venus", "0-1-45");
  venus.io_thread_lost_source = false;
  CHECK(Refusal(Decide({Replica("uranus", "0-1-45"), venus})) ==
        "the tool alone is cut off: no failover (1 of 2 reachable replicas lost the primary, 2 needed; still "
        "connected to it: venus)");
}

TEST_CASE("a lower confirmation policy lets a failover proceed with one replica still connected") {
  ReplicaFacts venus = Replica("venus", "0-1-45");
  venus.io_thread_lost_source = false;
  const FailoverDecision d = DecideFailover({Replica("uranus", "0-1-45"), venus}, false, 1);
  REQUIRE(d.proceed);
  CHECK(d.candidate == "uranus");
  CHECK(Refusal(DecideFailover({Replica("uranus", "0-1-45"), venus}, false, 3)) ==
        "the tool alone is cut off: no failover (1 of 2 reachable replicas lost the primary, 3 needed; still "
        "connected to it: venus)");
}

TEST_CASE("unreachable replicas neither confirm nor block, and their unknown position is a warning") {
  ReplicaFacts venus = Replica("venus", "0-1-99");
  venus.reachable = false;
  venus.io_thread_lost_source = false;
  const FailoverDecision d = Decide({Replica("uranus", "0-1-45"), venus, Replica("mars", "0-1-44")});
  REQUIRE(d.proceed);
  CHECK(d.candidate == "uranus");
  CHECK(d.lagging == std::map<std::string, std::string>{{"mars", "0-1-45"}});
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

}  // namespace replplan
