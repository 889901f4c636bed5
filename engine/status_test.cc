#include "engine/status.h"

#include <doctest/doctest.h>

namespace replplan {

TEST_CASE("a Status carries its MySQL errno as a field, kept through context, message and note") {
  Status base = Status::Internal("query failed on 127.0.0.61:3306: Table 'x.y' doesn't exist (1146)").WithSqlErrno(1146);
  CHECK(base.sql_errno() == 1146);
  CHECK(base.code() == Status::Code::kInternal);

  Status context = base.WithContext("mercury: reading grants");
  CHECK(context.sql_errno() == 1146);
  CHECK(context.message() == "mercury: reading grants: query failed on 127.0.0.61:3306: Table 'x.y' doesn't exist (1146)");

  // A note after the number hid it from the old "trailing (NNNN)" parse; the field does not care.
  Status noted = context.WithNote("uranus was reset");
  CHECK(noted.sql_errno() == 1146);
  CHECK(noted.message().back() != ')');

  // A redacted or reworded message (no number in it at all) keeps the number too.
  Status reworded = noted.WithMessage("cannot read account 'app'@'%'");
  CHECK(reworded.sql_errno() == 1146);
  CHECK(reworded.code() == Status::Code::kInternal);
}

TEST_CASE("the errno is never read from the text") {
  // A message that merely ends in a number in parentheses is no MySQL error.
  CHECK(Status::Internal("ssh uranus: exit status (127)").sql_errno() == 0);
  CHECK(Status::Unavailable("cannot connect to 127.0.0.99:3306 (2003)").sql_errno() == 0);
  CHECK(Status::Unavailable("x").WithSqlErrno(2003).WithContext("venus").sql_errno() == 2003);
}

TEST_CASE("an OK Status has no errno and stays OK") {
  CHECK(Status::OK().sql_errno() == 0);
  Status ok = Status::OK().WithSqlErrno(1045);
  CHECK(ok.ok());
  CHECK(ok.sql_errno() == 0);
  Result<int> value(7);
  CHECK(value.status().sql_errno() == 0);
  Result<int> failed(Status::AuthFailed("cannot log in (1045)").WithSqlErrno(1045));
  CHECK(failed.status().sql_errno() == 1045);
  CHECK(failed.status().WithContext("mercury").sql_errno() == 1045);
}

}  // namespace replplan
