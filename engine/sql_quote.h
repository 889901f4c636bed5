// Quoting of names and values that reach SQL. Every identifier, account and string literal replplan
// puts into a statement goes through one of these (or a live connection's own escape function), so
// a database named `a``b` or a password with a quote in it can never change what a statement does.
//
// Pure functions: the string escaping matches mysql_real_escape_string with backslash escapes on
// (the server default; MysqlConnection::Connect turns NO_BACKSLASH_ESCAPES off for its session where
// a server's global sql_mode has it).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace replplan {

// `name`, with every backtick inside doubled: a`b -> `a``b`.
std::string QuoteIdentifier(std::string_view name);

// `a`,`b``c`: names sorted, each quoted as an identifier, comma-separated; one unambiguous string
// for a list of names (a seed-replica action's "drops" param).
std::string SortedIdentifierList(std::vector<std::string> names);

// 'value', with \0 \n \r \ ' " and \x1a (Ctrl-Z) backslash-escaped.
std::string QuoteString(std::string_view value);

// 'user'@'host', both parts quoted as strings: the form CREATE USER / GRANT ... TO accept.
std::string QuoteAccount(std::string_view user, std::string_view host);

}  // namespace replplan
