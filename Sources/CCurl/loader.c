#include "ccurl.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

/* The resolved entry points of libcurl.so.4. Written once under pthread_once, read-only after. */
static struct {
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    CURLcode (*easy_perform)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_cleanup)(CURLM *);
    CURLMcode (*multi_add_handle)(CURLM *, CURL *);
    CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
    CURLMcode (*multi_perform)(CURLM *, int *);
    CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd *, unsigned int, int, int *);
    CURLMsg *(*multi_info_read)(CURLM *, int *);
    const char *(*multi_strerror)(CURLMcode);
    CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
} lib;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[512];
static int load_failed;

static void load(void) {
    void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(load_error, sizeof load_error, "libcurl could not be loaded (install libcurl4): %s", dlerror());
        load_failed = 1;
        return;
    }
#define RESOLVE(field, name)                                                                        \
    do {                                                                                            \
        *(void **)&lib.field = dlsym(h, name);                                                      \
        if (!lib.field) {                                                                           \
            snprintf(load_error, sizeof load_error, "libcurl.so.4 lacks %s: %s", name, dlerror()); \
            load_failed = 1;                                                                        \
            return;                                                                                 \
        }                                                                                           \
    } while (0)
    RESOLVE(global_init, "curl_global_init");
    RESOLVE(easy_init, "curl_easy_init");
    RESOLVE(easy_cleanup, "curl_easy_cleanup");
    RESOLVE(easy_perform, "curl_easy_perform");
    RESOLVE(easy_strerror, "curl_easy_strerror");
    RESOLVE(easy_setopt, "curl_easy_setopt");
    RESOLVE(easy_getinfo, "curl_easy_getinfo");
    RESOLVE(slist_append, "curl_slist_append");
    RESOLVE(slist_free_all, "curl_slist_free_all");
    RESOLVE(multi_init, "curl_multi_init");
    RESOLVE(multi_cleanup, "curl_multi_cleanup");
    RESOLVE(multi_add_handle, "curl_multi_add_handle");
    RESOLVE(multi_remove_handle, "curl_multi_remove_handle");
    RESOLVE(multi_perform, "curl_multi_perform");
    RESOLVE(multi_poll, "curl_multi_poll");
    RESOLVE(multi_info_read, "curl_multi_info_read");
    RESOLVE(multi_strerror, "curl_multi_strerror");
    RESOLVE(multi_setopt, "curl_multi_setopt");
#undef RESOLVE
}

const char *fl_curl_load(void) {
    pthread_once(&load_once, load);
    return load_failed ? load_error : NULL;
}

CURLcode fl_global_init(long flags) { return lib.global_init(flags); }
CURL *fl_easy_init(void) { return lib.easy_init(); }
void fl_easy_cleanup(CURL *h) { lib.easy_cleanup(h); }
CURLcode fl_easy_perform(CURL *h) { return lib.easy_perform(h); }
const char *fl_easy_strerror(CURLcode code) { return lib.easy_strerror(code); }
struct curl_slist *fl_slist_append(struct curl_slist *list, const char *s) { return lib.slist_append(list, s); }
void fl_slist_free_all(struct curl_slist *list) { lib.slist_free_all(list); }
CURLM *fl_multi_init(void) { return lib.multi_init(); }
CURLMcode fl_multi_cleanup(CURLM *m) { return lib.multi_cleanup(m); }
CURLMcode fl_multi_add_handle(CURLM *m, CURL *h) { return lib.multi_add_handle(m, h); }
CURLMcode fl_multi_remove_handle(CURLM *m, CURL *h) { return lib.multi_remove_handle(m, h); }
CURLMcode fl_multi_perform(CURLM *m, int *running) { return lib.multi_perform(m, running); }
CURLMcode fl_multi_poll(CURLM *m, struct curl_waitfd *fds, unsigned int nfds, int timeout_ms, int *numfds) {
    return lib.multi_poll(m, fds, nfds, timeout_ms, numfds);
}
CURLMsg *fl_multi_info_read(CURLM *m, int *queued) { return lib.multi_info_read(m, queued); }
const char *fl_multi_strerror(CURLMcode code) { return lib.multi_strerror(code); }

CURLcode fl_easy_setopt_long(CURL *h, CURLoption o, long v) { return lib.easy_setopt(h, o, v); }
CURLcode fl_easy_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return lib.easy_setopt(h, o, v); }
CURLcode fl_easy_setopt_string(CURL *h, CURLoption o, const char *v) { return lib.easy_setopt(h, o, v); }
CURLcode fl_easy_setopt_pointer(CURL *h, CURLoption o, void *v) { return lib.easy_setopt(h, o, v); }
CURLcode fl_easy_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return lib.easy_setopt(h, o, v); }
CURLcode fl_easy_setopt_write_callback(CURL *h, size_t (*f)(char *, size_t, size_t, void *)) {
    return lib.easy_setopt(h, CURLOPT_WRITEFUNCTION, f);
}
CURLcode fl_easy_setopt_header_callback(CURL *h, size_t (*f)(char *, size_t, size_t, void *)) {
    return lib.easy_setopt(h, CURLOPT_HEADERFUNCTION, f);
}
CURLcode fl_easy_setopt_read_callback(CURL *h, size_t (*f)(char *, size_t, size_t, void *)) {
    return lib.easy_setopt(h, CURLOPT_READFUNCTION, f);
}
CURLcode fl_easy_getinfo_long(CURL *h, CURLINFO i, long *v) { return lib.easy_getinfo(h, i, v); }
CURLcode fl_easy_getinfo_off(CURL *h, CURLINFO i, curl_off_t *v) { return lib.easy_getinfo(h, i, v); }
CURLcode fl_easy_getinfo_pointer(CURL *h, CURLINFO i, void **v) { return lib.easy_getinfo(h, i, v); }
CURLMcode fl_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return lib.multi_setopt(m, o, v); }
