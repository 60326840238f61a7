/*
 * Inbound listeners: an instance whose platform calls back (WeChat's event push) gets its own
 * HTTP listener (inbound_listen, inbound_path) — never the admin API's — whose requests go to the
 * adapter's inbound() callback. The adapter verifies the platform's signature itself.
 */
#include <errno.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "common.h"
#include "engine_int.h"

#define MAX_BODY (1 << 20)

struct inbound_req {
    struct hd_inbound_req pub;
    struct evhttp_request *req;
};

static const char *req_header(const struct hd_inbound_req *r, const char *name)
{
    const struct inbound_req *ir = (const struct inbound_req *)r;
    return evhttp_find_header(evhttp_request_get_input_headers(ir->req), name);
}

static const char *method_name(enum evhttp_cmd_type t)
{
    switch (t) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    default:
        return "OTHER";
    }
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct hd_instance *in = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (!path || (in->conf->inbound_path && strcmp(path, in->conf->inbound_path) != 0)) {
        evhttp_send_error(req, 404, "Not Found");
        return;
    }
    struct evbuffer *ib = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(ib);
    if (len > MAX_BODY) {
        evhttp_send_error(req, 413, "Payload Too Large");
        return;
    }
    char *body = malloc(len + 1);
    if (!body) {
        evhttp_send_error(req, 500, "Internal Server Error");
        return;
    }
    evbuffer_copyout(ib, body, len);
    body[len] = '\0';
    struct inbound_req ir = {
        .pub = {.struct_size = sizeof(ir.pub),
                .method = method_name(evhttp_request_get_command(req)),
                .path = path,
                .query = uri ? evhttp_uri_get_query(uri) : NULL,
                .body = body,
                .body_len = len,
                .header = req_header},
        .req = req,
    };
    struct hd_inbound_resp resp = {.status = 500};
    int rc = in->created ? in->chan->inbound(in->state, &ir.pub, &resp) : -1;
    free(body);
    if (rc != 0) {
        free(resp.body);
        evhttp_send_error(req, 500, "Internal Server Error");
        return;
    }
    struct evbuffer *ob = evbuffer_new();
    if (resp.body)
        evbuffer_add(ob, resp.body, resp.body_len);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      resp.content_type[0] ? resp.content_type : "text/plain; charset=utf-8");
    evhttp_send_reply(req, resp.status ? resp.status : 200, NULL, ob);
    evbuffer_free(ob);
    free(resp.body);
}

int hd_inbound_start(struct hd_instance *in, char *err, size_t errlen)
{
    const char *listen = in->conf->inbound_listen;
    if (!listen || !in->chan->inbound)
        return 0;
    const char *colon = strrchr(listen, ':');
    if (!colon) {
        snprintf(err, errlen, "inbound_listen %s: expected host:port", listen);
        return HD_EINVAL;
    }
    char host[256];
    snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
    in->inbound = evhttp_new(in->e->base);
    if (!in->inbound)
        return HD_ENOMEM;
    struct evhttp_bound_socket *bs =
        evhttp_bind_socket_with_handle(in->inbound, host, (ev_uint16_t)atoi(colon + 1));
    if (!bs) {
        snprintf(err, errlen, "inbound_listen %s: %s", listen, strerror(errno));
        return HD_EIO;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &sl);
    int port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    snprintf(in->inbound_url, sizeof(in->inbound_url), "http://%s:%d%s", host, port,
             in->conf->inbound_path ? in->conf->inbound_path : "/");
    evhttp_set_max_body_size(in->inbound, MAX_BODY);
    evhttp_set_timeout(in->inbound, 15);
    evhttp_set_allowed_methods(in->inbound, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
    evhttp_set_gencb(in->inbound, on_request, in);
    hd_info("[channel:%s] callbacks on %s", in->conf->id, in->inbound_url);
    return 0;
}

void hd_inbound_stop(struct hd_instance *in)
{
    if (in->inbound)
        evhttp_free(in->inbound);
    in->inbound = NULL;
}

const char *hd_engine_inbound_url(const struct hd_engine *e, size_t i)
{
    return e->insts[i].inbound ? e->insts[i].inbound_url : NULL;
}
