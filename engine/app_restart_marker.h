// What restart-app records beside an app's database.yml (AppSpec::RestartMarkerPath) after
// restarting the app with it, and how a later run or plan compares the file with it: the same
// file means the app already runs with it (no second restart), another file means it does not (an
// apply interrupted between rewrite and restart: the plan restarts it).
//
// database.yml holds the database password, and the marker must not become a way to learn it. A
// digest of the whole file, unsalted, lets anyone who reads the marker try passwords offline (the
// audit brute-forced a 5-character one in 38 s from an FNV-1a). So the digest leaves the secrets
// out instead: SHA-256 over the file with the value of every password-like key (password,
// *_password, passwd, secret, token: in block or flow style, a block scalar's lines included)
// and the password of every URL (scheme://user:PASSWORD@host) removed. Whether an app needs a
// restart depends on where it connects, which is all still in the digest; a change of password
// alone is not replplan's to act on. A keyed hash was not chosen: its key would have to be the
// same on every machine that runs replplan against the app (the planner compares too), and so
// shared, copied and kept secret on all of them. The marker is also written 0600, root's (the SSH
// user's), so even a secret in a form this does not recognize stays as private as the file.
#pragma once

#include <string>
#include <string_view>

namespace replplan {

// "sha256:" and 64 hex digits, of DatabaseYmlWithoutSecrets(text).
std::string AppRestartDigest(std::string_view text);

// Whether `recorded` (a marker's content, surrounding whitespace ignored) was written for `text`:
// its AppRestartDigest, or the "fnv1a64:" digest of the whole file that markers held before
// (so upgrading replplan restarts no app; restart-app rewrites such a marker in today's form).
bool AppRestartMarkerMatches(std::string_view recorded, std::string_view text);

// The old form's digest: FNV-1a 64 of "<size>:" + the whole file, 16 hex digits (what replplan's
// ContentDigest was before digests became SHA-256). Only to recognise markers written then.
std::string LegacyAppRestartDigest(std::string_view text);

// Whether `recorded` is a marker of the old form (which holds a digest of the password).
bool IsLegacyAppRestartMarker(std::string_view recorded);

// `text` with every secret value removed as described above (the keys and everything else kept).
std::string DatabaseYmlWithoutSecrets(std::string_view text);

}  // namespace replplan
