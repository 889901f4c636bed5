// Grants as the topology file writes them: "ALL PRIVILEGES ON secondhand_production.*",
// "SELECT, INSERT ON `app`.`orders`". ParseGrant checks the privilege names against what MariaDB
// knows, the object against the levels each privilege exists at, and produces the normalized
// text (upper-case privileges, backquoted names) that the planner compares with SHOW GRANTS.
//
// Deliberately not supported: GRANT OPTION (an account that may hand out its own privileges is
// a decision for a human, not a reviewed file), column lists, PROCEDURE/FUNCTION objects, and
// `ON *` (the "current database" means nothing outside a session).
//
// As MariaDB reads a database-level grant, `_` and `%` in its database name are wildcards:
// `secondhand_production.*` also covers a database `secondhandXproduction`. The file's text is
// granted as written, as the runbook's GRANT does (escaping them is not supported yet: SHOW GRANTS
// would then differ from the normalized text the planner compares).
#pragma once

#include <string>
#include <string_view>

#include "engine/status.h"
#include "engine/topology.h"

namespace replplan {

// On success `where` is left empty for the caller to fill. The error message does not repeat the
// grant text; the caller says which grant it was.
Result<GrantSpec> ParseGrant(std::string_view text);

// `name` for a SQL identifier position: "*" stays "*", anything else is backquoted with embedded
// backquotes doubled.
std::string QuoteGrantName(std::string_view name);

}  // namespace replplan
