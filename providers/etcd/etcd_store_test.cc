// The pure parts of the etcd client: base64 as etcd's JSON gateway wants it, the endpoint list.
#include "providers/etcd/etcd_store.h"

#include <doctest/doctest.h>

namespace replplan {

TEST_CASE("base64 round trips keys and values of every length, bytes included") {
  for (std::string s : {std::string(""), std::string("a"), std::string("ab"), std::string("abc"),
                        std::string("/replplan/lab/leader"), std::string("\0\xff\x01", 3)}) {
    auto back = Base64Decode(Base64Encode(s));
    REQUIRE(back.ok());
    CHECK(*back == s);
  }
  CHECK(Base64Encode("/rp/leader") == "L3JwL2xlYWRlcg==");
  CHECK(!Base64Decode("abc").ok());
}

TEST_CASE("etcd endpoints: a comma list of http(s)://HOST:PORT, credentials refused") {
  auto two = ParseEtcdEndpoints("http://127.0.46.50:2379, https://etcd2:2379/");
  REQUIRE(two.ok());
  CHECK(*two == std::vector<std::string>{"http://127.0.46.50:2379", "https://etcd2:2379"});
  CHECK(ParseEtcdEndpoints("127.0.0.1:2379").status().message().find("expected http://HOST:PORT") != std::string::npos);
  CHECK(!ParseEtcdEndpoints("http://user:pw@etcd:2379").ok());
  CHECK(!ParseEtcdEndpoints(" , ").ok());
}

}  // namespace replplan
