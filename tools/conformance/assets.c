/*
 * The kit's asset server (kit.h): the images and attachment the sample items (items.c) point at,
 * served by libevent's HTTP server on its own port, never faulted and never counted by the proxy.
 * The bytes are generated once, with the magic numbers simulators check (JPEG, PNG, PDF), so the
 * items' declared sizes and SHA-256 are the real ones.
 */
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "common.h"
#include "kit.h"

/* ---- assets -----------------------------------------------------------------------------------
 */

struct kit_assets {
    struct evhttp *http;
    char url[64];
};

struct asset_file {
    const char *name, *type;
    unsigned char *data;
    size_t len;
};
static struct asset_file files[] = {
    {"cover.jpg", "image/jpeg", NULL, 24000},
    {"photo.png", "image/png", NULL, 30000},
    {"plan.pdf", "application/pdf", NULL, 5000},
};

/* Bytes platforms take for the type (the magic numbers simulators check), of a fixed size. */
static void make_files(void)
{
    static const unsigned char jpg[] = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0};
    static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    static const char pdf[] = "%PDF-1.4\n";
    for (size_t i = 0; i < HD_ARRAY_LEN(files); i++) {
        if (files[i].data)
            continue;
        files[i].data = malloc(files[i].len);
        uint32_t x = 2463534242u + (uint32_t)i;
        for (size_t j = 0; j < files[i].len; j++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            files[i].data[j] = (unsigned char)x;
        }
        const void *magic = i == 0 ? (const void *)jpg : i == 1 ? (const void *)png : pdf;
        size_t ml = i == 0 ? sizeof(jpg) : i == 1 ? sizeof(png) : strlen(pdf);
        memcpy(files[i].data, magic, ml);
        if (i == 0) {
            files[i].data[files[i].len - 2] = 0xFF;
            files[i].data[files[i].len - 1] = 0xD9;
        }
    }
}

const void *kit_asset(const char *name, size_t *len, const char **media_type)
{
    make_files();
    for (size_t i = 0; i < HD_ARRAY_LEN(files); i++)
        if (!strcmp(files[i].name, name)) {
            *len = files[i].len;
            *media_type = files[i].type;
            return files[i].data;
        }
    return NULL;
}

static void on_asset(struct evhttp_request *req, void *arg)
{
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    size_t len;
    const char *type;
    const void *data = path && path[0] == '/' ? kit_asset(path + 1, &len, &type) : NULL;
    if (!data) {
        evhttp_send_error(req, 404, "Not Found");
        return;
    }
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, data, len);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

int kit_assets_start(struct event_base *base, struct kit_assets **out)
{
    struct kit_assets *a = calloc(1, sizeof(*a));
    if (!a)
        return HD_ENOMEM;
    make_files();
    a->http = evhttp_new(base);
    struct evhttp_bound_socket *s =
        a->http ? evhttp_bind_socket_with_handle(a->http, "127.0.0.1", 0) : NULL;
    if (!s) {
        if (a->http)
            evhttp_free(a->http);
        free(a);
        return HD_EIO;
    }
    struct sockaddr_in got;
    socklen_t gl = sizeof(got);
    getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&got, &gl);
    snprintf(a->url, sizeof(a->url), "http://127.0.0.1:%d", ntohs(got.sin_port));
    evhttp_set_gencb(a->http, on_asset, a);
    *out = a;
    return 0;
}

const char *kit_assets_url(const struct kit_assets *a)
{
    return a->url;
}

void kit_assets_free(struct kit_assets *a)
{
    if (!a)
        return;
    evhttp_free(a->http);
    free(a);
    for (size_t i = 0; i < HD_ARRAY_LEN(files); i++) {
        free(files[i].data);
        files[i].data = NULL;
    }
}
