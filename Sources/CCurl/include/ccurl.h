#ifndef FARGATE_LOCAL_CCURL_H
#define FARGATE_LOCAL_CCURL_H
#include <curl/curl.h>

/* libcurl is loaded with dlopen on first use, not linked: it pulls ~30 shared libraries
   (TLS, Kerberos, LDAP...) whose loading and relocation cost every start of fargate-local
   ~6 ms, and most commands (a process-runtime `run`, `ps`, `stop`) never speak HTTP.

   fl_curl_load() loads libcurl.so.4 and resolves every function below, once per process
   (thread-safe); it returns NULL on success or a message saying what failed. The fl_*
   functions must only be called after it succeeded. */
const char * fl_curl_load(void);

CURLcode fl_global_init(long flags);
CURL * fl_easy_init(void);
void fl_easy_cleanup(CURL * h);
CURLcode fl_easy_perform(CURL * h);
const char * fl_easy_strerror(CURLcode code);
struct curl_slist * fl_slist_append(struct curl_slist * list, const char * s);
void fl_slist_free_all(struct curl_slist * list);
CURLM * fl_multi_init(void);
CURLMcode fl_multi_cleanup(CURLM * m);
CURLMcode fl_multi_add_handle(CURLM * m, CURL * h);
CURLMcode fl_multi_remove_handle(CURLM * m, CURL * h);
CURLMcode fl_multi_perform(CURLM * m, int * running);
CURLMcode fl_multi_poll(CURLM * m, struct curl_waitfd * fds, unsigned int nfds, int timeout_ms, int * numfds);
CURLMsg * fl_multi_info_read(CURLM * m, int * queued);
const char * fl_multi_strerror(CURLMcode code);

/* curl_easy_setopt, curl_easy_getinfo and curl_multi_setopt are variadic, which Swift
   cannot call: these typed wrappers can be. */
CURLcode fl_easy_setopt_long(CURL * h, CURLoption o, long v);
CURLcode fl_easy_setopt_off(CURL * h, CURLoption o, curl_off_t v);
CURLcode fl_easy_setopt_string(CURL * h, CURLoption o, const char * v);
CURLcode fl_easy_setopt_pointer(CURL * h, CURLoption o, void * v);
CURLcode fl_easy_setopt_slist(CURL * h, CURLoption o, struct curl_slist * v);
CURLcode fl_easy_setopt_write_callback(CURL * h, size_t (* f)(char *, size_t, size_t, void *));
CURLcode fl_easy_setopt_header_callback(CURL * h, size_t (* f)(char *, size_t, size_t, void *));
CURLcode fl_easy_setopt_read_callback(CURL * h, size_t (* f)(char *, size_t, size_t, void *));
CURLcode fl_easy_getinfo_long(CURL * h, CURLINFO i, long * v);
CURLcode fl_easy_getinfo_off(CURL * h, CURLINFO i, curl_off_t * v);
CURLcode fl_easy_getinfo_pointer(CURL * h, CURLINFO i, void * * v);
CURLMcode fl_multi_setopt_long(CURLM * m, CURLMoption o, long v);
#endif
