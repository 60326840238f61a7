/*
 * heraldctl's one HTTP call (libcurl easy interface): the bearer token in a header (never in the
 * URL, never printed), JSON in and out, and the server's answer turned into heraldctl's exit
 * codes with the server's own message on stderr.
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "ctl.h"

struct body {
    char *p;
    size_t len;
};

static size_t on_data(char *ptr, size_t size, size_t n, void *ud)
{
    struct body *b = ud;
    size_t add = size * n;
    if (b->len + add > 64u << 20)
        return 0; /* no reply of ours is this large */
    char *p = realloc(b->p, b->len + add + 1);
    if (!p)
        return 0;
    memcpy(p + b->len, ptr, add);
    b->p = p;
    b->len += add;
    b->p[b->len] = '\0';
    return add;
}

void ctl_escape(const char *s, char *out, size_t len)
{
    char *e = curl_easy_escape(NULL, s, 0);
    snprintf(out, len, "%s", e ? e : "");
    curl_free(e);
}

void ctl_query_add(char *q, size_t len, const char *name, const char *value)
{
    if (!value)
        return;
    char esc[2048];
    ctl_escape(value, esc, sizeof(esc));
    size_t n = strlen(q);
    snprintf(q + n, len - n, "%s%s=%s", n ? "&" : "?", name, esc);
}

static int exit_code(long status)
{
    if (status == 401 || status == 403)
        return CTL_AUTH;
    if (status == 404)
        return CTL_NOTFOUND;
    if (status >= 400 && status < 500)
        return CTL_REFUSED;
    return CTL_SERVER;
}

int ctl_call(struct ctl *c, const char *method, const char *path, json_t *body, json_t **out,
             char **text)
{
    char url[4096], err[CURL_ERROR_SIZE] = "";
    struct body b = {0};
    struct curl_slist *h = NULL;
    char *payload = NULL, *auth = NULL;
    int rc = CTL_SERVER;
    if (out)
        *out = NULL;
    if (text)
        *text = NULL;
    snprintf(url, sizeof(url), "%s%s", c->url, path);
    CURL *e = curl_easy_init();
    if (!e)
        return CTL_SERVER;
    h = curl_slist_append(h, "Accept: application/json");
    if (c->token) {
        size_t n = strlen(c->token) + 32;
        auth = malloc(n);
        if (!auth)
            goto out;
        snprintf(auth, n, "Authorization: Bearer %s", c->token);
        h = curl_slist_append(h, auth);
    }
    if (body) {
        payload = json_dumps(body, JSON_COMPACT);
        h = curl_slist_append(h, "Content-Type: application/json");
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, payload ? payload : "{}");
    }
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, err);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, c->timeout_s);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "heraldctl/" HERALD_VERSION);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode cr = curl_easy_perform(e);
    if (cr != CURLE_OK) {
        fprintf(stderr, "heraldctl: cannot reach heraldd at %s: %s\n", c->url,
                err[0] ? err : curl_easy_strerror(cr));
        goto out;
    }
    long status = 0;
    char *ctype = NULL;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(e, CURLINFO_CONTENT_TYPE, &ctype);
    int is_json = ctype && strncmp(ctype, "application/json", 16) == 0;
    json_t *j = NULL;
    if (is_json && b.p) {
        json_error_t je;
        j = json_loadb(b.p, b.len, 0, &je);
        if (!j) {
            fprintf(stderr, "heraldctl: the server's reply is not valid JSON: %s\n", je.text);
            goto out;
        }
    }
    if (status >= 200 && status < 300) {
        rc = CTL_OK;
        if (j && out) {
            *out = j;
            j = NULL;
        } else if (text) {
            *text = b.p ? b.p : strdup("");
            b.p = NULL;
        }
    } else {
        rc = exit_code(status);
        const char *msg = j ? json_string_value(json_object_get(j, "message")) : NULL;
        fprintf(stderr, "heraldctl: ");
        ctl_put_text(stderr, msg ? msg : b.p && status < 500 ? b.p : "the server failed");
        fprintf(stderr, " (HTTP %ld)\n", status);
        if (status == 401 && !c->token)
            fprintf(stderr, "heraldctl: no token: use --token-file, HERALD_TOKEN_FILE or "
                            "token_file in ~/.config/herald/heraldctl.conf\n");
    }
    json_decref(j);
out:
    if (auth)
        explicit_bzero(auth, strlen(auth));
    free(auth);
    if (payload) /* it may carry a credential */
        explicit_bzero(payload, strlen(payload));
    free(payload);
    free(b.p);
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    return rc;
}
