// The only C that feedspool's HTTP module sees of libcurl.
//
// curl_easy_setopt, curl_easy_getinfo and curl_multi_setopt are C variadics, which
// Swift cannot call. Each wrapper below fixes one argument type, so Swift gets a
// typed, non-variadic function. Besides them, one reading of a connection's socket that
// libcurl does not offer (fs_tcp_bytes_received). Nothing else belongs here.
#ifndef FEEDSPOOL_CCURL_SHIM_H
#define FEEDSPOOL_CCURL_SHIM_H

#include <curl/curl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

// Options that take a long (flags, limits, timeouts).
static inline CURLcode fs_easy_setopt_long(CURL *h, CURLoption o, long v) {
  return curl_easy_setopt(h, o, v);
}
// Options that take a curl_off_t (large sizes and speeds).
static inline CURLcode fs_easy_setopt_off(CURL *h, CURLoption o, curl_off_t v) {
  return curl_easy_setopt(h, o, v);
}
// Options that take a C string; libcurl copies it (since 7.17).
static inline CURLcode fs_easy_setopt_string(CURL *h, CURLoption o, const char *v) {
  return curl_easy_setopt(h, o, v);
}
// Options that take an opaque pointer (WRITEDATA, HEADERDATA, PRIVATE, HTTPHEADER list).
static inline CURLcode fs_easy_setopt_pointer(CURL *h, CURLoption o, void *v) {
  return curl_easy_setopt(h, o, v);
}
// Callback options, one wrapper per callback signature.
static inline CURLcode fs_easy_setopt_write_function(CURL *h, CURLoption o, curl_write_callback f) {
  return curl_easy_setopt(h, o, f);
}
static inline CURLcode fs_easy_setopt_opensocket_function(CURL *h, curl_opensocket_callback f) {
  return curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, f);
}
// The pre-request callback runs once the connection is made OR taken from the pool, just
// before the request is sent: the HTTP module's SSRF guard judges the connected address
// there too, because a reused connection never passes through OPENSOCKETFUNCTION.
static inline CURLcode fs_easy_setopt_prereq_function(CURL *h, curl_prereq_callback f) {
  return curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, f);
}
static inline CURLcode fs_easy_setopt_closesocket_function(CURL *h, curl_closesocket_callback f) {
  return curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, f);
}
static inline CURLcode fs_easy_setopt_xferinfo_function(CURL *h, curl_xferinfo_callback f) {
  return curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, f);
}

// getinfo, one wrapper per result type.
static inline CURLcode fs_easy_getinfo_long(CURL *h, CURLINFO i, long *out) {
  return curl_easy_getinfo(h, i, out);
}
static inline CURLcode fs_easy_getinfo_string(CURL *h, CURLINFO i, char **out) {
  return curl_easy_getinfo(h, i, out);
}
static inline CURLcode fs_easy_getinfo_off(CURL *h, CURLINFO i, curl_off_t *out) {
  return curl_easy_getinfo(h, i, out);
}
static inline CURLcode fs_easy_getinfo_pointer(CURL *h, CURLINFO i, void **out) {
  return curl_easy_getinfo(h, i, out);
}

// Bytes the kernel has received on a TCP socket so far, or -1 when it does not say:
// Linux's tcpi_bytes_received (since 4.1), at byte 128 of the kernel's struct tcp_info
// (<linux/tcp.h>, a layout that only grows at its end). glibc's own struct tcp_info stops
// before that field, and the kernel's header cannot be included beside glibc's.
static inline long long fs_tcp_bytes_received(curl_socket_t s) {
  unsigned char info[256];
  socklen_t length = sizeof info;
  if (getsockopt(s, IPPROTO_TCP, TCP_INFO, info, &length) != 0 || length < 136) return -1;
  unsigned long long received;
  memcpy(&received, info + 128, sizeof received);
  return (long long)received;
}

static inline CURLMcode fs_multi_setopt_long(CURLM *m, CURLMoption o, long v) {
  return curl_multi_setopt(m, o, v);
}

// CURLMsg.data is a union; Swift imports it awkwardly, so read the result here.
static inline CURLcode fs_msg_result(const CURLMsg *msg) { return msg->data.result; }

// CURL_SOCKET_BAD is a macro Swift does not import as a typed constant.
static inline curl_socket_t fs_socket_bad(void) { return CURL_SOCKET_BAD; }

#endif
