// "Did you mean 'server_id'?": the closest known word to a misspelt one, by edit distance. Used by
// the topology parser for unknown keys, unknown servers and unknown enum values, and by the grant
// parser for unknown privileges.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace replplan {

// Levenshtein distance with adjacent transpositions counted as one edit (optimal string
// alignment), compared case-insensitively: "sever_id" -> "server_id" is 1, "Flavor" -> "flavor" 0.
size_t EditDistance(std::string_view a, std::string_view b);

// The candidate closest to `word`, if it is close enough to be a plausible typo: at most a third
// of the candidate's length in edits (at least 1, at most 3), and never a
// complete replacement ("c" does not suggest "a"). Ties go to the earlier candidate.
std::optional<std::string> DidYouMean(std::string_view word, const std::vector<std::string>& candidates);

// " (did you mean 'x'?)" or "" when nothing is close: ready to append to a message.
std::string DidYouMeanSuffix(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace replplan
