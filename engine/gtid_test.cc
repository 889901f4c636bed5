#include "engine/gtid.h"

#include <doctest/doctest.h>

namespace replplan {
namespace {

GtidPosition P(std::string_view text) {
  Result<GtidPosition> p = GtidPosition::Parse(text);
  REQUIRE_MESSAGE(p.ok(), p.status().message());
  return *p;
}

std::string ParseError(std::string_view text) {
  Result<GtidPosition> p = GtidPosition::Parse(text);
  REQUIRE_FALSE(p.ok());
  CHECK(p.status().code() == Status::Code::kInvalidArgument);
  return p.status().message();
}

}  // namespace

TEST_CASE("a position parses every domain and prints them sorted by domain") {
  const GtidPosition p = P("1-3-7,0-1-42");
  CHECK(p.entries().size() == 2);
  CHECK(p.Find(0) == std::optional<Gtid>(Gtid{0, 1, 42}));
  CHECK(p.Find(1) == std::optional<Gtid>(Gtid{1, 3, 7}));
  CHECK_FALSE(p.Find(2).has_value());
  CHECK(p.ToString() == "0-1-42,1-3-7");
}

TEST_CASE("whitespace and line breaks around entries are ignored, as clients wrap long positions") {
  CHECK(P("  0-1-42 ,\n 1-3-7\t").ToString() == "0-1-42,1-3-7");
}

TEST_CASE("an empty or blank position is a server that has seen no transaction") {
  CHECK(P("").empty());
  CHECK(P("  \n").empty());
  CHECK(P("").ToString().empty());
}

TEST_CASE("the largest values MariaDB can print round-trip") {
  const std::string max = "4294967295-4294967295-18446744073709551615";
  CHECK(P(max).ToString() == max);
}

TEST_CASE("malformed positions are refused naming the bad entry") {
  CHECK(ParseError("0-1-42,x") ==
        "invalid GTID position '0-1-42,x': entry 'x' is not domain-server_id-seq (e.g. 0-1-42)");
  CHECK(ParseError("0-1") ==
        "invalid GTID position '0-1': entry '0-1' is not domain-server_id-seq (e.g. 0-1-42)");
  CHECK(ParseError("0-1-2-3") ==
        "invalid GTID position '0-1-2-3': entry '0-1-2-3' is not domain-server_id-seq (e.g. 0-1-42)");
  CHECK(ParseError("a-1-42") ==
        "invalid GTID position 'a-1-42': entry 'a-1-42': domain 'a' is not a number in 0..4294967295");
  CHECK(ParseError("0--42") ==
        "invalid GTID position '0--42': entry '0--42': server_id '' is not a number in 0..4294967295");
  CHECK(ParseError("0-1-4 2") == "invalid GTID position '0-1-4 2': entry '0-1-4 2': seq '4 2' is not a "
                                 "number in 0..18446744073709551615");
  CHECK(ParseError("4294967296-1-1") == "invalid GTID position '4294967296-1-1': entry '4294967296-1-1': "
                                        "domain '4294967296' is not a number in 0..4294967295");
  CHECK(ParseError("0-1-18446744073709551616") ==
        "invalid GTID position '0-1-18446744073709551616': entry '0-1-18446744073709551616': seq "
        "'18446744073709551616' is not a number in 0..18446744073709551615");
}

TEST_CASE("a stray comma and a repeated domain are refused rather than read as fewer domains") {
  CHECK(ParseError("0-1-42,") == "invalid GTID position '0-1-42,': empty entry (stray comma?)");
  CHECK(ParseError("0-1-42,,1-3-7") == "invalid GTID position '0-1-42,,1-3-7': empty entry (stray comma?)");
  CHECK(ParseError("0-1-42,0-2-43") == "invalid GTID position '0-1-42,0-2-43': entry '0-2-43' repeats "
                                       "domain 0 (a position holds one GTID per domain)");
}

TEST_CASE("contains compares seq per domain and ignores who wrote the last event") {
  CHECK(P("0-1-42").Contains(P("0-1-41")));
  CHECK(P("0-1-42").Contains(P("0-1-42")));
  CHECK_FALSE(P("0-1-41").Contains(P("0-1-42")));
  // After a failover domain 0 continues under the new primary's server_id.
  CHECK(P("0-2-50").Contains(P("0-1-42")));
  CHECK(P("0-2-42").Contains(P("0-1-42")));
}

TEST_CASE("contains needs every domain of the other position") {
  CHECK(P("0-1-42,1-3-7").Contains(P("0-1-42")));
  CHECK_FALSE(P("0-1-42").Contains(P("0-1-42,1-3-7")));
  CHECK_FALSE(P("0-1-50,1-3-6").Contains(P("0-1-42,1-3-7")));
  CHECK(P("0-1-1").Contains(P("")));
  CHECK(P("").Contains(P("")));
  CHECK_FALSE(P("").Contains(P("0-1-1")));
}

TEST_CASE("ahead of means contains and holds something more") {
  CHECK(P("0-1-43").AheadOf(P("0-1-42")));
  CHECK(P("0-1-42,1-3-1").AheadOf(P("0-1-42")));
  CHECK_FALSE(P("0-1-42").AheadOf(P("0-1-42")));
  CHECK_FALSE(P("0-1-42").AheadOf(P("0-1-43")));
  // Diverged domains: neither is ahead.
  CHECK_FALSE(P("0-1-50,1-3-6").AheadOf(P("0-1-42,1-3-7")));
  CHECK_FALSE(P("0-1-42,1-3-7").AheadOf(P("0-1-50,1-3-6")));
}

TEST_CASE("missing lists per-domain ranges of what this position lacks") {
  CHECK(P("0-1-42").Missing(P("0-1-45")) == std::vector<std::string>{"0-1-43..0-1-45"});
  CHECK(P("0-1-44").Missing(P("0-1-45")) == std::vector<std::string>{"0-1-45"});
  CHECK(P("0-1-45").Missing(P("0-1-45")).empty());
  CHECK(P("0-1-50").Missing(P("0-1-45")).empty());
  CHECK(P("0-1-42").Missing(P("0-2-45,1-3-7")) == std::vector<std::string>{"0-2-43..0-2-45", "1-3-1..1-3-7"});
  CHECK(P("").Missing(P("0-1-1")) == std::vector<std::string>{"0-1-1"});
  CHECK(P("0-1-40,1-3-9").Missing(P("0-1-42,1-3-7")) == std::vector<std::string>{"0-1-41..0-1-42"});
}

TEST_CASE("the same seq under two server_ids is reported as conflicting, not as equal") {
  CHECK(P("0-1-43").Conflicting(P("0-2-43")) == std::vector<std::string>{"0-1-43 vs 0-2-43"});
  CHECK(P("0-1-43,1-3-7").Conflicting(P("0-1-43,1-4-7")) == std::vector<std::string>{"1-3-7 vs 1-4-7"});
  CHECK(P("0-1-43").Conflicting(P("0-1-43")).empty());
  CHECK(P("0-1-43").Conflicting(P("0-2-44")).empty());
  CHECK_FALSE(P("0-1-43") == P("0-2-43"));
  CHECK(P("0-1-43,1-3-7") == P(" 1-3-7 , 0-1-43"));
}

TEST_CASE("positions built in code print like parsed ones") {
  GtidPosition p;
  p.Set({1, 3, 7});
  p.Set({0, 1, 41});
  p.Set({0, 1, 42});
  CHECK(p.ToString() == "0-1-42,1-3-7");
  CHECK(JoinGtidList({"0-1-43", "1-3-1..1-3-7"}) == "0-1-43, 1-3-1..1-3-7");
}


TEST_CASE("GtidRange: ToString and Parse are inverse; a bad range says what is wrong") {
  CHECK(GtidRange{0, 3, 43, 43}.ToString() == "0-3-43");
  CHECK(GtidRange{7, 3, 1, 5}.ToString() == "7-3-1..7-3-5");
  for (const char* text : {"0-3-43", "7-3-1..7-3-5"}) {
    auto parsed = GtidRange::Parse(text);
    REQUIRE(parsed.ok());
    CHECK(parsed->ToString() == text);
  }
  CHECK(GtidRange::Parse("0-3-43..0-3-45")->count() == 3);
  CHECK(GtidRange::Parse("0-3-45..0-3-43").status().message() ==
        "invalid GTID range '0-3-45..0-3-43': seq must run from 1 upwards, first to last");
  CHECK(GtidRange::Parse("0-3-0").status().message() ==
        "invalid GTID range '0-3-0': seq must run from 1 upwards, first to last");
  CHECK(GtidRange::Parse("0-3-43..1-3-45").status().message() ==
        "invalid GTID range '0-3-43..1-3-45': both ends must have one domain and server_id");
  CHECK_FALSE(GtidRange::Parse("0-3").ok());
  CHECK_FALSE(GtidRange::Parse("0-3-4..").ok());
}

}  // namespace replplan
