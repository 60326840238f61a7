/*
 * Conformance: configuration (kit.h). The adapter's key table decides what heraldd accepts for an
 * instance; these checks load the settings under test, and variations of them, through heraldd's
 * own loader: the given settings pass; an unknown key, a duplicated key, each required key left
 * out and a value of the wrong type are each refused with a message naming the key.
 */
#include "common.h"
#include "config.h"
#include "kit.h"

/* Load `settings` (owned, freed here): it must be refused with `needle` in the message. */
static void expect_refused(struct kit *k, struct hd_node *settings, const char *name,
                           const char *what, const char *needle)
{
    if (!settings) {
        kit_report(KIT_FAIL, name, "out of memory");
        return;
    }
    struct hd_diag d;
    hd_diag_init(&d);
    struct hd_config *cfg = NULL;
    int rc = kit_config_load(k, settings, &cfg, &d);
    hd_node_free(settings);
    if (rc == 0) {
        kit_report(KIT_FAIL, name, "heraldd accepted %s", what);
        hd_config_free(cfg);
    } else if (!d.text || !strstr(d.text, needle)) {
        kit_report(KIT_FAIL, name, "%s was refused, but no message names `%s`", what, needle);
        kit_note("%s", d.text ? d.text : "(no message)");
    } else {
        kit_report(KIT_PASS, name, "%s is refused", what);
        const char *nl = strchr(d.text, '\n');
        kit_note("%.*s", nl ? (int)(nl - d.text) : (int)strlen(d.text), d.text);
    }
    hd_diag_free(&d);
}

static const struct hd_conf_key *adapter_key(const struct hd_channel *c, const char *name)
{
    for (const struct hd_conf_key *k = c->keys; k && k->name; k++)
        if (!strcmp(k->name, name))
            return k;
    return NULL;
}

int kit_check_config(struct kit *k, const struct hd_node *settings)
{
    struct hd_diag d;
    hd_diag_init(&d);
    struct hd_config *cfg = NULL;
    if (kit_config_load(k, settings, &cfg, &d) != 0) {
        kit_report(KIT_FAIL, "config.accepted",
                   "heraldd refuses the settings (fix --config; the file the kit wrote is %s/"
                   "conformance.yaml)",
                   k->tmp);
        kit_note("%s", d.text ? d.text : "");
        hd_diag_free(&d);
        return HD_EINVAL;
    }
    hd_diag_free(&d);
    k->cfg = cfg;
    kit_report(KIT_PASS, "config.accepted",
               "the settings pass heraldd's checks (the core's and %s's key tables)",
               k->chan->name);

    expect_refused(k, kit_node_edit(settings, NULL, "conformance_unknown_key", "1"),
                   "config.unknown_key", "an unknown key", "unknown key `conformance_unknown_key`");

    /* a key given twice: one of the adapter's when the settings hold one */
    const char *dup = NULL, *dup_val = NULL;
    for (size_t i = 0; i < settings->n && !dup; i++)
        if (adapter_key(k->chan, settings->keys[i]) && settings->kids[i]->kind == HD_NODE_SCALAR &&
            !settings->kids[i]->null) {
            dup = settings->keys[i];
            dup_val = settings->kids[i]->scalar;
        }
    if (!dup) {
        dup = "enabled";
        dup_val = "true";
    }
    char what[200], needle[200];
    snprintf(what, sizeof(what), "the key `%s` given twice", dup);
    snprintf(needle, sizeof(needle), "duplicate key `%s`", dup);
    struct hd_node *twice = kit_node_edit(settings, NULL, dup, dup_val);
    if (twice && !hd_node_get(settings, dup)) {
        /* "enabled" was not in the settings: add it once more */
        struct hd_node *again = kit_node_edit(twice, NULL, dup, dup_val);
        hd_node_free(twice);
        twice = again;
    }
    expect_refused(k, twice, "config.duplicate_key", what, needle);

    int required = 0;
    for (const struct hd_conf_key *key = k->chan->keys; key && key->name; key++) {
        if (!key->required)
            continue;
        required++;
        char name[120];
        snprintf(name, sizeof(name), "config.missing.%s", key->name);
        snprintf(what, sizeof(what), "settings without the required key `%s`", key->name);
        snprintf(needle, sizeof(needle), "missing required key `%s`", key->name);
        expect_refused(k, kit_node_edit(settings, key->name, NULL, NULL), name, what, needle);
    }
    if (!required)
        kit_report(KIT_SKIP, "config.missing", "the adapter has no required key");

    /* a value of the wrong type, for the first key whose type has a form */
    for (const struct hd_conf_key *key = k->chan->keys; key && key->name; key++) {
        if (key->type != HD_CONF_INT && key->type != HD_CONF_BOOL &&
            key->type != HD_CONF_DURATION && key->type != HD_CONF_SIZE &&
            key->type != HD_CONF_ENUM && key->type != HD_CONF_URL)
            continue;
        snprintf(what, sizeof(what), "`%s: not-a-valid-value`", key->name);
        snprintf(needle, sizeof(needle), "%s", key->name);
        struct hd_node *bad = kit_node_edit(settings, key->name, key->name, "not-a-valid-value");
        expect_refused(k, bad, "config.wrong_type", what, needle);
        break;
    }
    return 0;
}
