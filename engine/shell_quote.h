// POSIX shell quoting for commands replplan runs over SSH. A path or argument is wrapped in single
// quotes, inside which the shell interprets nothing; a single quote itself is written as '\''
// (close, escaped quote, reopen). Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace replplan {

// 'arg' with each ' written as '\''. The empty string becomes '' so it survives as one argument.
std::string ShellQuote(std::string_view arg);

// Each argument quoted and joined with single spaces: {"cat", "/a b"} -> 'cat' '/a b'.
std::string ShellJoin(const std::vector<std::string>& argv);

}  // namespace replplan
