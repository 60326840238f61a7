/*
 * Parsed items for the engine's operations. An item goes to several channels and targets (18
 * streets, 10 board areas): its stored document is read and parsed once and shared, counted by
 * reference, by the ops that use it; the most recently used ones stay for the next.
 */
#include <uthash.h>

#include "common.h"
#include "engine_int.h"

#define CACHE_MAX 2048 /* channels drain a backlog at different speeds: keep enough */

struct cached_item {
    char key[300]; /* "<id>\x1f<version>" */
    struct hd_item_doc *doc;
    int refs;                           /* ops holding it */
    TAILQ_ENTRY(cached_item) idle_link; /* while refs == 0 */
    UT_hash_handle hh, hh_doc;
};
static void drop(struct hd_engine *e, struct cached_item *c)
{
    HASH_DEL(e->items, c);
    HASH_DELETE(hh_doc, e->items_bydoc, c);
    if (c->refs == 0)
        TAILQ_REMOVE(&e->items_idle, c, idle_link);
    hd_item_destroy(c->doc);
    free(c);
}

static struct cached_item *add(struct hd_engine *e, const char *key, struct hd_item_doc *doc,
                               int refs)
{
    /* full: evict the least recently used item no op holds (if every one is held, grow) */
    if (HASH_COUNT(e->items) >= CACHE_MAX && !TAILQ_EMPTY(&e->items_idle))
        drop(e, TAILQ_FIRST(&e->items_idle));
    struct cached_item *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    hd_strlcpy(c->key, key, sizeof(c->key));
    c->doc = doc;
    c->refs = refs;
    HASH_ADD_STR(e->items, key, c);
    HASH_ADD(hh_doc, e->items_bydoc, doc, sizeof(c->doc), c);
    if (refs == 0)
        TAILQ_INSERT_TAIL(&e->items_idle, c, idle_link);
    return c;
}

void hd_engine_offer_item(struct hd_engine *e, struct hd_item_doc *doc)
{
    struct cached_item *c;
    char key[300];
    if (!doc)
        return;
    snprintf(key, sizeof(key), "%s\x1f%lld", doc->view.id, (long long)doc->view.version);
    HASH_FIND_STR(e->items, key, c);
    if (c || !add(e, key, doc, 0))
        hd_item_destroy(doc);
}

struct hd_item_doc *hd_itemcache_get(struct hd_engine *e, const char *id, int64_t version,
                                     struct hd_item_error *err)
{
    struct cached_item *c;
    char key[300];
    snprintf(key, sizeof(key), "%s\x1f%lld", id, (long long)version);
    HASH_FIND_STR(e->items, key, c);
    if (c) {
        if (c->refs++ == 0)
            TAILQ_REMOVE(&e->items_idle, c, idle_link);
        return c->doc;
    }
    char *text = hd_store_item_doc(e->st, id, version);
    struct hd_item_doc *doc = NULL;
    if (!text) {
        snprintf(err->code, sizeof(err->code), "missing");
        snprintf(err->detail, sizeof(err->detail), "item %s version %lld is not stored", id,
                 (long long)version);
        return NULL;
    }
    int rc = hd_item_parse(text, strlen(text), NULL, 0, 0, &doc, err);
    free(text);
    if (rc != 0)
        return NULL;
    if (!add(e, key, doc, 1)) {
        hd_item_destroy(doc);
        return NULL;
    }
    return doc;
}

void hd_itemcache_put(struct hd_engine *e, struct hd_item_doc *doc)
{
    struct cached_item *c;
    if (!doc)
        return;
    HASH_FIND(hh_doc, e->items_bydoc, &doc, sizeof(doc), c);
    if (!c) {
        hd_item_destroy(doc); /* not cached (cannot happen): do not leak it */
        return;
    }
    if (--c->refs == 0)
        TAILQ_INSERT_TAIL(&e->items_idle, c, idle_link);
}

void hd_itemcache_clear(struct hd_engine *e)
{
    struct cached_item *c, *tmp;
    HASH_ITER (hh, e->items, c, tmp)
        drop(e, c);
}
