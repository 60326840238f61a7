/*
 * Conformance: render() is pure (kit.h). Every sample item is rendered in every context the core
 * can pass (plain, with a dependency's result, as an update; for its first target) three times,
 * with the wall clock moved by days and the random functions reseeded in between: the result
 * (return value, bytes, content type, summary, reason) must not change, render() must read neither
 * clock nor randomness, and it must call no service that acts (HTTP, timers, tokens, persist,
 * quotas, complete). A rejection needs a reason. After the operations ran, rendering again must
 * give the same bytes: render does not depend on what the instance did.
 */
#include "common.h"
#include "config.h"
#include "delivery.h"
#include "item.h"
#include "kit.h"
#include "text.h"

struct rendered {
    int rc;
    char *data;
    size_t len;
    char ctype[64], summary[160], err[512];
};

static const struct {
    int64_t offset_ms;
    unsigned seed;
} clocks[] = {
    {0, 1},
    {(400LL * 86400 + 3 * 3600 + 17) * 1000 + 123, 2},
    {-(1000LL * 86400 + 5 * 3600) * 1000, 3},
};

enum ctx_kind { CTX_PLAIN, CTX_DEPS, CTX_UPDATE, CTX_MAX };
static const char *const ctx_names[CTX_MAX] = {"plain", "with a dependency", "as an update"};

static struct rendered first[8]; /* plain renders of each item, for render.after_ops */

const char *kit_first_target(void)
{
    const struct hd_instance_conf *ic = &K->cfg->instances[0];
    return ic->n_targets ? ic->targets[0] : "";
}

static void render_once(struct kit_inst *ki, const struct hd_item *it, enum ctx_kind ck,
                        int64_t offset, unsigned seed, struct rendered *out, int *reads)
{
    const struct hd_instance_conf *ic = &K->cfg->instances[0];
    const char *target = kit_first_target();
    char key[400];
    hd_idempotency_key(it->id, it->version, ic->id, *target ? target : NULL, key, sizeof(key));
    char rid[64], url[600];
    struct hd_dep_result dep = kit_dep(it, rid, sizeof(rid), url, sizeof(url));
    struct hd_render_ctx rc = {
        .struct_size = sizeof(rc),
        .instance_id = ic->id,
        .target = target,
        .idempotency_key = key,
        .deps = ck == CTX_DEPS ? &dep : NULL,
        .n_deps = ck == CTX_DEPS,
        .is_update = ck == CTX_UPDATE,
        .prev_remote_id = ck == CTX_UPDATE ? "prev-4711" : NULL,
        .prev_url = ck == CTX_UPDATE ? url : NULL,
    };
    struct hd_payload p;
    memset(&p, 0, sizeof(p));
    memset(out, 0, sizeof(*out));
    kit_fake_clock(1, offset, seed);
    kit_fake_clock_reads();
    out->rc = kit_render(ki, it, &rc, &p, out->err, sizeof(out->err));
    *reads += kit_fake_clock_reads();
    kit_fake_clock(0, 0, 0);
    out->data = p.data;
    out->len = p.len;
    memcpy(out->ctype, p.content_type, sizeof(out->ctype));
    memcpy(out->summary, p.summary, sizeof(out->summary));
    out->ctype[sizeof(out->ctype) - 1] = '\0';
    out->summary[sizeof(out->summary) - 1] = '\0';
    if (out->rc == HD_RENDER_OK) {
        out->err[0] = '\0';
    } else {
        free(out->data); /* as the core does after a reject */
        out->data = NULL;
        out->len = 0;
    }
}

/* The length of s[0..len) without a last character cut short. */
static size_t utf8_whole(const char *s, size_t len)
{
    size_t i = len;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80 && len - i < 3)
        i--;
    if (i == 0)
        return len;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    return len - (i - 1) < need ? i - 1 : len;
}

/* "" when equal, else what differs. */
static const char *differs(const struct rendered *a, const struct rendered *b, char *why,
                           size_t len)
{
    why[0] = '\0';
    if (a->rc != b->rc)
        snprintf(why, len, "returned %d, then %d", a->rc, b->rc);
    else if (a->len != b->len || (a->len && memcmp(a->data, b->data, a->len) != 0)) {
        size_t i = 0;
        while (i < a->len && i < b->len && a->data[i] == b->data[i])
            i++;
        size_t from = i > 30 ? i - 30 : 0;
        while (from > 0 && ((unsigned char)a->data[from] & 0xC0) == 0x80)
            from--; /* show whole characters */
        snprintf(why, len, "payload differs at byte %zu: \"%.*s\" vs \"%.*s\"", i,
                 (int)utf8_whole(a->data + from, HD_MIN(a->len - from, 70)), a->data + from,
                 (int)utf8_whole(b->data + from, HD_MIN(b->len - from, 70)), b->data + from);
    } else if (strcmp(a->ctype, b->ctype) != 0)
        snprintf(why, len, "content type \"%s\", then \"%s\"", a->ctype, b->ctype);
    else if (strcmp(a->summary, b->summary) != 0)
        snprintf(why, len, "summary \"%s\", then \"%s\"", a->summary, b->summary);
    else if (strcmp(a->err, b->err) != 0 &&
             snprintf(why, len, "reason \"%s\", then \"%s\"", a->err, b->err) >= (int)len)
        why[len - 1] = '\0'; /* cut: it only says which reasons differ */
    return why;
}

static void check_item(struct kit *k, size_t i)
{
    char name[64];
    snprintf(name, sizeof(name), "render.%s", kit_item_name(i));
    if (!kit_wanted(name))
        return;
    struct hd_item_doc *doc = kit_item(i, "r", 1);
    int reads = 0, fails = 0, warns = 0, ok = 0, rejected = 0;
    size_t bytes = 0;
    char why[400], msg[1400] = "", warning[700] = "", reject[600] = "";
    for (int c = 0; c < CTX_MAX; c++) {
        if (c == CTX_UPDATE && !(k->chan->caps & HD_CAP_UPDATE))
            continue;
        struct rendered r[HD_ARRAY_LEN(clocks)];
        for (size_t j = 0; j < HD_ARRAY_LEN(clocks); j++)
            render_once(&k->main, &doc->view, (enum ctx_kind)c, clocks[j].offset_ms, clocks[j].seed,
                        &r[j], &reads);
        for (size_t j = 1; j < HD_ARRAY_LEN(clocks) && !fails; j++)
            if (differs(&r[0], &r[j], why, sizeof(why))[0]) {
                snprintf(msg, sizeof(msg), "%s: not deterministic with another clock/seed: %s",
                         ctx_names[c], why);
                fails++;
            }
        if (r[0].rc == HD_RENDER_OK) {
            ok++;
            bytes = r[0].len;
            if (!r[0].data && !fails) {
                snprintf(msg, sizeof(msg), "%s: HD_RENDER_OK without a payload", ctx_names[c]);
                fails++;
            }
            /* the summary is only a log line: a character cut by snprintf's %.Ns (which counts
             * bytes) is worth a warning, not a failure */
            size_t sl = strlen(r[0].summary), whole = utf8_whole(r[0].summary, sl);
            if ((whole < sl || !K->real.utf8_valid(r[0].summary, whole)) && !warns++)
                snprintf(warning, sizeof(warning),
                         "%s: the summary is not UTF-8 (a character cut by %%.Ns, which counts "
                         "bytes? cut it with utf8_truncate): \"%.*s\"",
                         ctx_names[c], (int)whole, r[0].summary);
            if (!r[0].ctype[0] && !warns++)
                snprintf(warning, sizeof(warning), "%s: no content_type", ctx_names[c]);
        } else {
            rejected++;
            if (!reject[0])
                snprintf(reject, sizeof(reject), "%s: %s", ctx_names[c], r[0].err);
            if (r[0].rc != HD_RENDER_REJECT && !warns++)
                snprintf(warning, sizeof(warning),
                         "%s: returned %d (neither HD_RENDER_OK nor HD_RENDER_REJECT)",
                         ctx_names[c], r[0].rc);
            if (!r[0].err[0] && !fails) {
                snprintf(msg, sizeof(msg), "%s: rejected without a reason in err", ctx_names[c]);
                fails++;
            }
        }
        if (c == CTX_PLAIN && i < HD_ARRAY_LEN(first)) {
            free(first[i].data);
            first[i] = r[0];
            r[0].data = NULL;
        }
        for (size_t j = 0; j < HD_ARRAY_LEN(clocks); j++)
            free(r[j].data);
    }
    hd_item_destroy(doc);
    char viol[1200];
    if (reads && !fails) {
        snprintf(msg, sizeof(msg), "render() read the wall clock or random numbers %d time(s)",
                 reads);
        fails++;
    }
    if (kit_take_violations(viol, sizeof(viol)) && !fails) {
        snprintf(msg, sizeof(msg), "%s", viol);
        fails++;
    }
    if (fails)
        kit_report(KIT_FAIL, name, "%s", msg);
    else
        kit_report(warns ? KIT_WARN : KIT_PASS, name,
                   "deterministic over %zu clocks: %d context(s) rendered (%zu bytes), %d "
                   "rejected",
                   HD_ARRAY_LEN(clocks), ok, bytes, rejected);
    if (warning[0] && !fails)
        kit_note("%s", warning);
    if (rejected && !fails)
        kit_note("rejected %s", reject);
}

void kit_check_render(struct kit *k, int after_ops)
{
    if (!after_ops) {
        for (size_t i = 0; i < kit_n_items(); i++)
            check_item(k, i);
        return;
    }
    if (!kit_wanted("render.after_ops"))
        return;
    int bad = 0, reads = 0;
    char why[400] = "";
    for (size_t i = 0; i < kit_n_items() && i < HD_ARRAY_LEN(first); i++) {
        struct hd_item_doc *doc = kit_item(i, "r", 1);
        struct rendered again;
        render_once(&k->main, &doc->view, CTX_PLAIN, 0, 1, &again, &reads);
        if (!bad && differs(&first[i], &again, why, sizeof(why))[0]) {
            bad = 1;
            kit_report(KIT_FAIL, "render.after_ops",
                       "item %s renders differently after the operations: %s", kit_item_name(i),
                       why);
        }
        free(again.data);
        hd_item_destroy(doc);
    }
    if (!bad)
        kit_report(KIT_PASS, "render.after_ops",
                   "the sample items render to the same bytes after every operation ran");
    for (size_t i = 0; i < HD_ARRAY_LEN(first); i++) {
        free(first[i].data);
        first[i].data = NULL;
    }
}
