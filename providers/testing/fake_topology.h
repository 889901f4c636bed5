// The topology the fake-server unit tests run on: mercury (the primary, 127.0.0.1) and uranus
// (127.0.0.2), app "shop" on uranus, every secret in the environment. Unit tests only.
#pragma once

#include "engine/topology.h"

namespace replplan {

inline constexpr const char* kFakeAdminPassword = "admin-pw-5f2c91";
inline constexpr const char* kFakeReplPassword = "repl-pw-77a0d3";

// Parsed from its TOML, with REPLPLAN_FAULT_TEST_ADMIN_PW and REPLPLAN_FAULT_TEST_REPL_PW set to
// the passwords above. Throws std::logic_error if the text does not parse (a bug of the test).
Topology FakeTopology();

}  // namespace replplan
