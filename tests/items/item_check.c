/*
 * item_check: runs herald's intake validator (hd_item_parse) over messages and prints one JSON
 * line per message, for tests/items/test_differential.py and for people checking a file by hand:
 *
 *   item_check [--max-len N] [--key KEY] FILE...      one message per file
 *   item_check --framed [--max-len N] < STREAM        messages as "<length>\n<bytes>", repeated
 *
 * Accepted: {"n":0,"name":"FILE","accepted":true,"id":…,"version":…,"view":{…}}
 * Rejected: {"n":0,"name":"FILE","accepted":false,"code":"invalid_value","detail":"/title: …"}
 * Exit status: 0 when every message was read (accepted or not), 2 on usage or I/O errors.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common.h"
#include "item.h"

static json_t *str_list(const char **v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *assets(const struct hd_asset *a, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:s, s:s?, s:s, s:s?, s:I}", "url", a[i].url,
                                             "sha256", a[i].sha256, "media_type", a[i].media_type,
                                             "name", a[i].name, "size", (json_int_t)a[i].size));
    return arr;
}

static void set_str(json_t *o, const char *k, const char *v)
{
    json_object_set_new(o, k, v ? json_string(v) : json_null());
}

static void set_int(json_t *o, const char *k, int64_t v)
{
    json_object_set_new(o, k, json_integer((json_int_t)v));
}

static json_t *view_json(const struct hd_item_doc *d)
{
    const struct hd_item *v = &d->view;
    json_t *o = json_object(), *review = json_array();
    for (int i = 0; i < 3; i++) {
        json_t *st = json_object();
        set_str(st, "level", d->review[i].level);
        set_str(st, "reviewer", d->review[i].reviewer);
        set_str(st, "at", d->review[i].at);
        set_int(st, "at_ms", d->review[i].at_ms);
        json_array_append_new(review, st);
    }
    set_int(o, "struct_size_ok", v->struct_size == sizeof *v);
    set_str(o, "action", v->action);
    set_str(o, "category", v->category);
    set_str(o, "column", v->column);
    set_str(o, "publisher_code", v->publisher_code);
    set_str(o, "publisher_name", v->publisher_name);
    set_str(o, "publisher_kind", d->publisher_kind);
    set_str(o, "title", v->title);
    set_str(o, "summary", v->summary);
    set_int(o, "body_html_len", v->body_html ? (int64_t)strlen(v->body_html) : -1);
    set_int(o, "body_text_len", v->body_text ? (int64_t)strlen(v->body_text) : -1);
    set_str(o, "doc_number", v->doc_number);
    set_str(o, "issued_date", d->issued_date);
    set_str(o, "approved_at", v->approved_at);
    set_int(o, "approved_at_ms", v->approved_at_ms);
    set_int(o, "not_before_ms", v->not_before_ms);
    set_int(o, "expires_at_ms", v->expires_at_ms);
    set_int(o, "urgent", v->urgent);
    set_str(o, "priority", d->priority);
    set_str(o, "interprets", v->interprets);
    set_str(o, "reason", d->reason);
    json_object_set_new(o, "images", assets(v->images, v->n_images));
    json_object_set_new(o, "attachments", assets(v->attachments, v->n_attachments));
    json_object_set_new(o, "channels", str_list(d->target_channels, d->n_target_channels));
    json_object_set_new(o, "streets", str_list(d->target_streets, d->n_target_streets));
    json_object_set_new(o, "boards", str_list(d->target_boards, d->n_target_boards));
    json_object_set_new(o, "review", review);
    set_int(o, "json_is_raw", v->json == d->raw && v->json_len == d->raw_len);
    set_int(o, "json_len", (int64_t)v->json_len);
    return o;
}

static int check_one(size_t n, const char *name, const void *buf, size_t len, const char *key,
                     size_t max_len)
{
    struct hd_item_doc *doc = NULL;
    struct hd_item_error err;
    json_t *line;
    int rc = hd_item_parse(buf, len, key, key ? strlen(key) : 0, max_len, &doc, &err);
    if (rc == 0) {
        line = json_pack("{s:I, s:s, s:b, s:s, s:I, s:o}", "n", (json_int_t)n, "name", name,
                         "accepted", 1, "id", doc->view.id, "version",
                         (json_int_t)doc->view.version, "view", view_json(doc));
    } else if (rc == HD_EINVAL) {
        line = json_pack("{s:I, s:s, s:b, s:s, s:s}", "n", (json_int_t)n, "name", name, "accepted",
                         0, "code", err.code, "detail", err.detail);
    } else {
        fprintf(stderr, "item_check: %s: hd_item_parse returned %d (%s)\n", name, rc, err.detail);
        hd_item_destroy(doc);
        return -1;
    }
    hd_item_destroy(doc);
    if (!line) {
        fprintf(stderr, "item_check: %s: cannot build the output line\n", name);
        return -1;
    }
    char *text = json_dumps(line, JSON_COMPACT);
    json_decref(line);
    if (!text)
        return -1;
    puts(text);
    free(text);
    return 0;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;
    if (!f)
        return NULL;
    for (;;) {
        if (n == cap) {
            char *nb = realloc(buf, cap ? cap * 2 : 65536);
            if (!nb)
                goto fail;
            buf = nb;
            cap = cap ? cap * 2 : 65536;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f))
        goto fail;
    fclose(f);
    *len = n;
    return buf;
fail:
    free(buf);
    fclose(f);
    return NULL;
}

static int run_framed(size_t max_len)
{
    char hdr[32], name[32];
    size_t n = 0;
    while (fgets(hdr, sizeof hdr, stdin)) {
        char *end;
        errno = 0;
        unsigned long long len = strtoull(hdr, &end, 10);
        if (errno || end == hdr || *end != '\n' || len > (1ull << 31)) {
            fprintf(stderr, "item_check: frame %zu: bad length line\n", n);
            return 2;
        }
        char *buf = malloc(len ? len : 1);
        if (!buf || fread(buf, 1, len, stdin) != len) {
            fprintf(stderr, "item_check: frame %zu: short read\n", n);
            free(buf);
            return 2;
        }
        snprintf(name, sizeof name, "#%zu", n);
        int rc = check_one(n++, name, buf, len, NULL, max_len);
        free(buf);
        if (rc)
            return 2;
    }
    fflush(stdout);
    return ferror(stdin) ? 2 : 0;
}

int main(int argc, char **argv)
{
    size_t max_len = 0, n = 0;
    const char *key = NULL;
    int framed = 0, i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        if (!strcmp(argv[i], "--framed")) {
            framed = 1;
        } else if (!strcmp(argv[i], "--max-len") && i + 1 < argc) {
            max_len = strtoull(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--key") && i + 1 < argc) {
            key = argv[++i];
        } else {
            fprintf(stderr, "usage: item_check [--max-len N] [--key KEY] FILE...\n"
                            "       item_check --framed [--max-len N] < STREAM\n");
            return 2;
        }
    }
    if (framed)
        return run_framed(max_len);
    for (; i < argc; i++) {
        size_t len;
        char *buf = read_file(argv[i], &len);
        if (!buf) {
            fprintf(stderr, "item_check: %s: %s\n", argv[i], strerror(errno));
            return 2;
        }
        int rc = check_one(n++, argv[i], buf, len, key, max_len);
        free(buf);
        if (rc)
            return 2;
    }
    fflush(stdout);
    return 0;
}
