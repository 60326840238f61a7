/*
 * Conformance: the instance's life around the operations (kit.h). Inbound requests (for adapters
 * that take platform callbacks) are answered without completing any op; a second instance of the
 * same adapter lives beside the first (no shared globals) and renders the same; render still
 * gives the same bytes after all the operations; destroy() leaves no timer armed, and no service
 * is called after it (HTTP calls it cancelled may still report, into detached callbacks).
 */
#include <event2/event.h>

#include "common.h"
#include "config.h"
#include "delivery.h"
#include "item.h"
#include "kit.h"

static const char *no_header(const struct hd_inbound_req *req, const char *name)
{
    return NULL;
}

static void check_inbound(struct kit *k)
{
    if (!k->chan->inbound || !kit_wanted("inbound"))
        return;
    static const struct {
        const char *method, *query, *body;
    } reqs[] = {
        {"GET", NULL, ""},
        {"POST", "signature=0&timestamp=0&nonce=0", "<xml><garbage>"},
        {"POST", NULL, "\xff\xfe not even UTF-8"},
    };
    int bad = 0;
    for (size_t i = 0; i < HD_ARRAY_LEN(reqs); i++) {
        struct hd_inbound_req r = {
            .struct_size = sizeof(r),
            .method = reqs[i].method,
            .path = "/",
            .query = reqs[i].query,
            .body = reqs[i].body,
            .body_len = strlen(reqs[i].body),
            .header = no_header,
        };
        struct hd_inbound_resp resp = {.status = 500};
        int rc = k->chan->inbound(k->main.state, &r, &resp);
        if (rc == 0 && resp.status != 0 && (resp.status < 100 || resp.status > 599) && !bad++)
            kit_report(KIT_FAIL, "inbound", "answered status %d to a forged request", resp.status);
        if (rc == 0 && (resp.status == 0 || resp.status / 100 == 2) && i > 0 && !bad++)
            kit_report(KIT_FAIL, "inbound",
                       "accepted a forged %s callback without a valid signature (status %d)",
                       reqs[i].method, resp.status ? resp.status : 200);
        free(resp.body);
    }
    kit_run_until(kit_quiet, NULL, 5000);
    char viol[1000];
    if (kit_take_violations(viol, sizeof(viol)) && !bad++)
        kit_report(KIT_FAIL, "inbound", "%s", viol);
    if (!bad)
        kit_report(KIT_PASS, "inbound", "forged callbacks are refused, no op is touched");
}

static void check_second_instance(struct kit *k)
{
    if (!kit_wanted("create.second_instance"))
        return;
    struct kit_inst *two = calloc(1, sizeof(*two));
    char err[512];
    if (!two || kit_inst_create(k, two, err, sizeof(err)) != 0) {
        kit_report(KIT_FAIL, "create.second_instance",
                   "a second instance with the same settings cannot be created: %s", err);
        return; /* two stays registered with the host, which frees it */
    }
    struct hd_item_doc *doc = kit_item(0, "r", 1);
    const struct hd_instance_conf *ic = &k->cfg->instances[0];
    char key[400];
    hd_idempotency_key(doc->view.id, 1, ic->id, *kit_first_target() ? kit_first_target() : NULL,
                       key, sizeof(key));
    struct hd_render_ctx rc = {.struct_size = sizeof(rc),
                               .instance_id = ic->id,
                               .target = kit_first_target(),
                               .idempotency_key = key};
    struct hd_payload a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    char ea[512] = "", eb[512] = "";
    int ra = kit_render(&k->main, &doc->view, &rc, &a, ea, sizeof(ea));
    int rb = kit_render(two, &doc->view, &rc, &b, eb, sizeof(eb));
    int same = ra == rb && a.len == b.len && (!a.len || memcmp(a.data, b.data, a.len) == 0);
    free(a.data);
    free(b.data);
    hd_item_destroy(doc);
    kit_inst_destroy(k, two);
    kit_run_until(kit_quiet, NULL, 2 * k->timeout_ms + 5000);
    char viol[1000];
    if (kit_take_violations(viol, sizeof(viol)))
        kit_report(KIT_FAIL, "create.second_instance", "%s", viol);
    else if (!same)
        kit_report(KIT_FAIL, "create.second_instance",
                   "two instances with the same settings render the same item differently");
    else
        kit_report(KIT_PASS, "create.second_instance",
                   "a second instance was created, rendered the same and was destroyed");
}

static void check_destroy(struct kit *k)
{
    kit_run_until(kit_quiet, NULL, 2 * k->timeout_ms + 5000);
    int open_ops = 0;
    for (struct kit_op *o = k->ops; o; o = o->next_all)
        open_ops += o->taken && !o->completions;
    int http_before = k->http_out;
    kit_inst_destroy(k, &k->main);
    int timers = k->timers_out;
    /* HTTP calls destroy() cancelled report now: their callbacks must be detached */
    kit_run_until(kit_quiet, NULL, 2 * k->timeout_ms + 5000);
    char viol[1000];
    if (kit_take_violations(viol, sizeof(viol)))
        kit_report(KIT_FAIL, "destroy", "%s", viol);
    else if (timers > 0)
        kit_report(KIT_FAIL, "destroy",
                   "destroy() left %d timer(s) armed: they would fire into freed state "
                   "(timer_cancel them)",
                   timers);
    else if (k->http_out > 0)
        kit_report(KIT_WARN, "destroy",
                   "%d HTTP call(s) still running after destroy(): cancel them (http_cancel) "
                   "and detach their callbacks",
                   k->http_out);
    else
        kit_report(KIT_PASS, "destroy",
                   "no timer left armed, no service called after destroy() (%d op(s) were "
                   "still open, %d HTTP call(s) were running)",
                   open_ops, http_before);
}

void kit_check_lifecycle(struct kit *k)
{
    check_inbound(k);
    check_second_instance(k);
    kit_check_render(k, 1);
    check_destroy(k);
}
