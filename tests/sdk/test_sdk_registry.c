/*
 * The registry's checks of loadable adapters (src/registry.c), one test per refusal reason: each
 * loads a deliberately broken .so (sdk_adapter.c built with one -DSDK_BROKEN_*, see
 * CMakeLists.txt) and checks that it is refused, that the message names the file and the reason,
 * and that nothing was registered. Also what is accepted (a valid adapter, one built against a
 * newer header, the same file read again on reload) and what cannot be guarded (a constructor
 * runs at dlopen, before any check). Run one test: test_sdk_registry <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common.h"
#include "conf.h"
#include "registry.h"

#ifndef SDK_ADAPTER_DIR
#error "SDK_ADAPTER_DIR: the directory of the test .so files"
#endif

struct fx {
    struct hd_registry *r;
    char tmp[256];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char err[512];
    assert_non_null(f);
    assert_int_equal(hd_registry_create(hd_builtin_channels, &f->r, err, sizeof(err)), 0);
    snprintf(f->tmp, sizeof(f->tmp), "/tmp/herald-sdk-reg-XXXXXX");
    assert_non_null(mkdtemp(f->tmp));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    hd_registry_destroy(f->r);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->tmp);
    if (system(cmd) != 0)
        print_message("could not remove %s\n", f->tmp);
    free(f);
    return 0;
}

static void so_path(const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/%s.so", SDK_ADAPTER_DIR, name);
}

/* Load `name`.so: refused, the message starts with the path and holds `why`; nothing added. */
static void refused(struct fx *f, const char *name, const char *why)
{
    char path[512], err[2048];
    so_path(name, path, sizeof(path));
    size_t before = f->r->n;
    int rc = hd_registry_load_file(f->r, path, err, sizeof(err));
    print_message("%s\n", err);
    assert_int_not_equal(rc, 0);
    assert_int_equal(strncmp(err, path, strlen(path)), 0);
    assert_non_null(strstr(err, why));
    assert_int_equal(f->r->n, before);
}

static void copy_file(const char *from, const char *to, mode_t mode)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    assert_int_equal(fclose(out), 0);
    assert_int_equal(chmod(to, mode), 0);
}

/* ---- refusals ------------------------------------------------------------------------------ */

static void abi_version(void **state)
{
    refused(*state, "bad_abi", "ABI version 2, this heraldd speaks 1");
}

static void struct_too_small(void **state)
{
    refused(*state, "small", "smaller than the");
}

static void build_signature(void **state)
{
    refused(*state, "signature", "build signature \"herald-abi=1;ptr=4;long=4;endian=le\"");
}

static void no_build_signature(void **state)
{
    refused(*state, "nosig", "build signature \"(none)\"");
}

static void invalid_name(void **state)
{
    refused(*state, "badname", "invalid adapter name \"Bad-Name\"");
}

static void duplicate_of_builtin(void **state)
{
    struct fx *f = *state;
    refused(f, "dup_webhook", "an adapter named \"webhook\" is already registered (built-in)");
    assert_string_equal(hd_registry_origin(f->r, "webhook"), "built-in");
}

static void duplicate_of_loaded(void **state)
{
    struct fx *f = *state;
    char path[512], err[2048], want[600];
    so_path("good", path, sizeof(path));
    assert_int_equal(hd_registry_load_file(f->r, path, err, sizeof(err)), 0);
    snprintf(want, sizeof(want), "an adapter named \"sdkgood\" is already registered (%s)", path);
    refused(f, "good_twin", want);
    assert_string_equal(hd_registry_origin(f->r, "sdkgood"), path);
}

static void no_entry_point(void **state)
{
    refused(*state, "noentry", "no hd_channel_entry() entry point");
}

static void entry_returns_null(void **state)
{
    refused(*state, "nullentry", "the entry point returned no adapter");
}

static void missing_send(void **state)
{
    refused(*state, "nosend", "lacks send()");
}

static void retract_cap_without_retract(void **state)
{
    refused(*state, "cap_retract", "claims HD_CAP_RETRACT without retract()");
}

static void poll_cap_without_poll(void **state)
{
    refused(*state, "cap_poll", "claims HD_CAP_POLL without poll_status()");
}

static void not_idempotent_without_reconcile(void **state)
{
    refused(*state, "noreconcile", "is not idempotent and has no reconcile()");
}

static void unknown_capability(void **state)
{
    refused(*state, "unknown_cap", "claims capabilities this heraldd does not know (0x100000)");
}

static void invalid_on_revision(void **state)
{
    refused(*state, "revision", "invalid default_on_revision 7");
}

static void invalid_key_table(void **state)
{
    refused(*state, "keys", "invalid key table");
    refused(*state, "keys", "default of `level` is invalid: must be between 1 and 10 (got 99)");
}

static void core_key_redeclared(void **state)
{
    refused(*state, "corekey", "key timeout is a setting every instance has");
}

static void calls_core_symbol(void **state)
{
    refused(*state, "coresym", "undefined symbol: hd_now_ms (heraldd exports no symbols");
}

static void not_a_shared_object(void **state)
{
    struct fx *f = *state;
    char path[512], err[2048];
    snprintf(path, sizeof(path), "%s/garbage.so", f->tmp);
    FILE *g = fopen(path, "w");
    assert_non_null(g);
    fputs("this is not an ELF file, only text that happens to end in .so\n", g);
    fclose(g);
    assert_int_not_equal(hd_registry_load_file(f->r, path, err, sizeof(err)), 0);
    print_message("%s\n", err);
    assert_int_equal(strncmp(err, path, strlen(path)), 0);
    assert_non_null(strstr(err, "cannot load"));
    assert_non_null(strstr(err, "not a shared object"));
}

static void missing_file(void **state)
{
    struct fx *f = *state;
    char path[512], err[2048];
    snprintf(path, sizeof(path), "%s/absent.so", f->tmp);
    assert_int_not_equal(hd_registry_load_file(f->r, path, err, sizeof(err)), 0);
    assert_int_equal(strncmp(err, path, strlen(path)), 0);
    assert_non_null(strstr(err, "No such file"));
}

static void writable_by_others(void **state)
{
    struct fx *f = *state;
    char from[512], to[512], err[2048];
    so_path("good", from, sizeof(from));
    snprintf(to, sizeof(to), "%s/open.so", f->tmp);
    copy_file(from, to, 0666);
    assert_int_not_equal(hd_registry_load_file(f->r, to, err, sizeof(err)), 0);
    print_message("%s\n", err);
    assert_int_equal(strncmp(err, to, strlen(to)), 0);
    assert_non_null(strstr(err, "writable by anyone (mode 666)"));
    assert_null(hd_registry_find(f->r, "sdkgood"));
    /* the same bytes with sane permissions load */
    assert_int_equal(chmod(to, 0644), 0);
    assert_int_equal(hd_registry_load_file(f->r, to, err, sizeof(err)), 0);
}

static void plugin_dir_writable_by_others(void **state)
{
    struct fx *f = *state;
    char from[512], to[512];
    so_path("good", from, sizeof(from));
    snprintf(to, sizeof(to), "%s/good.so", f->tmp);
    copy_file(from, to, 0644);
    assert_int_equal(chmod(f->tmp, 0777), 0);
    struct hd_diag d;
    hd_diag_init(&d);
    assert_int_not_equal(hd_registry_load_dir(f->r, f->tmp, &d), 0);
    print_message("%s", d.text);
    assert_non_null(strstr(d.text, f->tmp));
    assert_non_null(strstr(d.text, "writable by anyone"));
    assert_null(hd_registry_find(f->r, "sdkgood"));
    hd_diag_free(&d);
    assert_int_equal(chmod(f->tmp, 0700), 0);
}

/* ---- what loads ------------------------------------------------------------------------------ */

static void valid_adapter_loads(void **state)
{
    struct fx *f = *state;
    char path[512], err[2048] = "";
    so_path("good", path, sizeof(path));
    assert_int_equal(hd_registry_load_file(f->r, path, err, sizeof(err)), 0);
    const struct hd_channel *c = hd_registry_find(f->r, "sdkgood");
    assert_non_null(c);
    assert_string_equal(hd_registry_origin(f->r, "sdkgood"), path);
    assert_non_null(c->send);
    assert_non_null(c->keys);
    assert_string_equal(c->keys[0].name, "level");
}

static void same_file_again_is_not_a_duplicate(void **state)
{
    /* SIGHUP reads plugin_dir again: what is loaded already stays, without a refusal */
    struct fx *f = *state;
    char path[512], err[2048];
    so_path("good", path, sizeof(path));
    assert_int_equal(hd_registry_load_file(f->r, path, err, sizeof(err)), 0);
    size_t n = f->r->n;
    assert_int_equal(hd_registry_load_file(f->r, path, err, sizeof(err)), 0);
    assert_int_equal(f->r->n, n);
}

static void newer_header_is_accepted(void **state)
{
    struct fx *f = *state;
    char path[512], err[2048];
    so_path("bigger", path, sizeof(path));
    assert_int_equal(hd_registry_load_file(f->r, path, err, sizeof(err)), 0);
    assert_non_null(hd_registry_find(f->r, "sdkbigger"));
}

static void constructor_runs_before_any_check(void **state)
{
    /* What cannot be guarded: this adapter is refused (wrong ABI), yet its constructor ran. */
    struct fx *f = *state;
    char mark[512];
    snprintf(mark, sizeof(mark), "%s/ctor-ran", f->tmp);
    setenv("HERALD_SDK_CTOR_MARK", mark, 1);
    refused(f, "ctor", "ABI version 2");
    assert_int_equal(access(mark, F_OK), 0);
    unsetenv("HERALD_SDK_CTOR_MARK");
}

static void load_dir_names_every_refused_file(void **state)
{
    struct fx *f = *state;
    static const char *const names[] = {"good", "bad_abi", "badname", "coresym"};
    static const char *const why[] = {NULL, "ABI version 2", "invalid adapter name",
                                      "undefined symbol: hd_now_ms"};
    char from[512], to[512];
    for (size_t i = 0; i < HD_ARRAY_LEN(names); i++) {
        so_path(names[i], from, sizeof(from));
        snprintf(to, sizeof(to), "%s/%s.so", f->tmp, names[i]);
        copy_file(from, to, 0644);
    }
    snprintf(to, sizeof(to), "%s/README.txt", f->tmp); /* not a .so: ignored */
    copy_file(from, to, 0644);
    struct hd_diag d;
    hd_diag_init(&d);
    assert_int_not_equal(hd_registry_load_dir(f->r, f->tmp, &d), 0);
    print_message("%s", d.text);
    assert_int_equal(d.n_errors, 3);
    for (size_t i = 1; i < HD_ARRAY_LEN(names); i++) {
        snprintf(to, sizeof(to), "%s/%s.so: ", f->tmp, names[i]);
        const char *line = strstr(d.text, to);
        assert_non_null(line);
        assert_true(strstr(line, why[i]) && strstr(line, why[i]) < strchr(line, '\n'));
    }
    assert_non_null(hd_registry_find(f->r, "sdkgood"));
    hd_diag_free(&d);
}

static void every_builtin_passes_the_same_checks(void **state)
{
    (void)state;
    struct hd_registry *empty = NULL;
    char err[512];
    assert_int_equal(hd_registry_create(NULL, &empty, err, sizeof(err)), 0);
    int n = 0;
    for (hd_channel_entry_fn *const *e = hd_builtin_channels; *e; e++, n++) {
        const struct hd_channel *c = (*e)();
        int rc = hd_registry_check(empty, c, err, sizeof(err));
        if (rc)
            print_message("built-in %s: %s\n", c && c->name ? c->name : "?", err);
        assert_int_equal(rc, 0);
    }
    assert_true(n >= 6);
    hd_registry_destroy(empty);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        T(abi_version),
        T(struct_too_small),
        T(build_signature),
        T(no_build_signature),
        T(invalid_name),
        T(duplicate_of_builtin),
        T(duplicate_of_loaded),
        T(no_entry_point),
        T(entry_returns_null),
        T(missing_send),
        T(retract_cap_without_retract),
        T(poll_cap_without_poll),
        T(not_idempotent_without_reconcile),
        T(unknown_capability),
        T(invalid_on_revision),
        T(invalid_key_table),
        T(core_key_redeclared),
        T(calls_core_symbol),
        T(not_a_shared_object),
        T(missing_file),
        T(writable_by_others),
        T(plugin_dir_writable_by_others),
        T(valid_adapter_loads),
        T(same_file_again_is_not_a_duplicate),
        T(newer_header_is_accepted),
        T(constructor_runs_before_any_check),
        T(load_dir_names_every_refused_file),
        T(every_builtin_passes_the_same_checks),
    };
    hd_log_set_level(HD_LOG_WARN);
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
