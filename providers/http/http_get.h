// A tiny HTTP/1.1 GET over TCP, for an app's health URL after a restart: one request per call,
// "Connection: close", bounded connect and read times, the status code and the first bytes of the
// body. Plain http:// only; https:// is checked with curl on the app host (providers/steps/app_steps.cc),
// so replplan needs no TLS stack for one probe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "engine/status.h"

namespace replplan {

struct HttpUrl {
  std::string host;    // name or address; IPv6 literals without brackets
  int port = 80;
  std::string target;  // path and query, "/" at least
};

// "http://127.0.0.61:3000/up?x=1" -> {127.0.0.61, 3000, "/up?x=1"}. InvalidArgument for another
// scheme, a missing host, a bad port, or credentials in the URL (they would end up in messages).
Result<HttpUrl> ParseHttpUrl(std::string_view url);

struct HttpGetOptions {
  int connect_timeout_ms = 1000;
  int read_timeout_ms = 2000;  // from the request sent to the status line and body head, in all
  size_t body_head_bytes = 200;
};

struct HttpResponse {
  int status = 0;         // 200, 503, ...
  std::string body_head;  // at most body_head_bytes of the body as sent (chunk sizes included)
};

// Unavailable: refused, unreachable, timed out, or closed before a status line. Internal: an answer
// that is not HTTP. Any status code is a response, not an error.
Result<HttpResponse> HttpGet(const HttpUrl& url, const HttpGetOptions& options = {});

}  // namespace replplan
