#include "engine/did_you_mean.h"

#include <doctest/doctest.h>

namespace replplan {

TEST_CASE("edit distance counts insertions, deletions, substitutions and transpositions as one") {
  CHECK(EditDistance("server_id", "server_id") == 0);
  CHECK(EditDistance("sever_id", "server_id") == 1);    // deletion
  CHECK(EditDistance("serverr_id", "server_id") == 1);  // insertion
  CHECK(EditDistance("server_ib", "server_id") == 1);   // substitution
  CHECK(EditDistance("sreuer_id", "server_id") == 2);
  CHECK(EditDistance("flavro", "flavor") == 1);  // transposition
  CHECK(EditDistance("", "abc") == 3);
  CHECK(EditDistance("abc", "") == 3);
}

TEST_CASE("edit distance ignores case, so a capitalised key still finds its match") {
  CHECK(EditDistance("Server_ID", "server_id") == 0);
}

TEST_CASE("did you mean picks the closest plausible candidate and nothing when none is close") {
  const std::vector<std::string> keys = {"name", "address", "server_id", "log_bin", "bind_address"};
  CHECK(DidYouMean("sever_id", keys) == std::optional<std::string>("server_id"));
  CHECK(DidYouMean("adress", keys) == std::optional<std::string>("address"));
  CHECK(DidYouMean("bind_adress", keys) == std::optional<std::string>("bind_address"));
  CHECK_FALSE(DidYouMean("flavor", keys).has_value());
  CHECK_FALSE(DidYouMean("x", keys).has_value());
  CHECK(DidYouMeanSuffix("nme", keys) == " (did you mean 'name'?)");
  CHECK(DidYouMeanSuffix("zzzzzz", keys).empty());
}

TEST_CASE("did you mean allows only one edit on short words") {
  CHECK(DidYouMean("pot", {"port"}) == std::optional<std::string>("port"));
  CHECK_FALSE(DidYouMean("pt", {"port"}).has_value());
}

TEST_CASE("did you mean never suggests a word that shares no letter position") {
  CHECK_FALSE(DidYouMean("c", {"a", "b"}).has_value());
  CHECK(DidYouMean("aa", {"a"}) == std::optional<std::string>("a"));
}

}  // namespace replplan
