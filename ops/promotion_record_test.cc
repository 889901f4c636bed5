// apply's promotion record (ops/promotion_record.h) over a fake World: the epoch goes to the new
// primary through MoveRecords and into the file through Files, and only once its promotion is done.
#include "ops/promotion_record.h"

#include <doctest/doctest.h>

#include <string>

#include "engine/topology_edit.h"
#include "ops/fake_lab.h"

namespace replplan::ops {
namespace {

using testing::Contains;
using testing::Lab;

struct Promoted {
  Plan plan;
  ApplyReport report;
  Promoted(ActionOutcome::State state) {
    plan.primary_change = PrimaryChange{"switchover", "mercury", "uranus"};
    ActionOutcome promote;
    promote.id = "uranus/promote-replica";
    promote.state = state;
    report.outcomes.push_back(promote);
  }
};

TEST_CASE("an apply that promoted: the next epoch recorded on the new primary and written into the file through "
          "the World's Files") {
  Lab lab;
  RecordedPromotions promotions(lab.fakes.records, lab.fakes.files);
  Promoted done(ActionOutcome::State::kDone);
  const std::string said = promotions.Record(done.plan, done.report, lab.topology, "lab.toml", "replplan apply by me");

  const int64_t next = lab.topology.cluster.epoch + 1;
  CHECK(lab.fakes.records.epochs == std::vector<std::string>{"uranus switchover " + std::to_string(next)});
  CHECK(lab.fakes.files.written == std::vector<std::string>{"lab.toml"});
  auto expected = SetEpochInTopology(lab.text, "lab.toml", next);
  REQUIRE(expected.ok());
  CHECK(lab.fakes.files.files.at("lab.toml") == *expected);
  CHECK(said == "Epoch " + std::to_string(next) + " recorded on uranus (replplan.epochs): an older copy of the file "
                "naming another primary is refused.\nlab.toml now says epoch = " + std::to_string(next) +
                ": commit it with the new primary.\n");
}

TEST_CASE("an apply whose promotion failed records nothing; a file that cannot be read is left for the operator") {
  Lab lab;
  RecordedPromotions promotions(lab.fakes.records, lab.fakes.files);
  Promoted failed(ActionOutcome::State::kFailed);
  CHECK(promotions.Record(failed.plan, failed.report, lab.topology, "lab.toml", "me").empty());
  CHECK(lab.fakes.records.epochs.empty());
  CHECK(lab.fakes.files.written.empty());

  Promoted done(ActionOutcome::State::kDone);
  const std::string said = promotions.Record(done.plan, done.report, lab.topology, "elsewhere.toml", "me");
  CHECK(lab.fakes.records.epochs.size() == 1);
  CHECK(lab.fakes.files.written.empty());
  CHECK(Contains(said, "elsewhere.toml was NOT rewritten (cannot read elsewhere.toml): set epoch = "));
}

}  // namespace
}  // namespace replplan::ops
