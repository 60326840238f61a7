/*
 * heraldctl's tables (tools/heraldctl/ctl_table.c): display widths of Chinese, fullwidth,
 * combining and control characters; cells padded or cut to an exact width; columns line up
 * when CJK and ASCII text share them; nothing from the server can put a control character on
 * the terminal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctl.h"

static char *capture(void (*fn)(FILE *f, void *arg), void *arg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fn(f, arg);
    fclose(f);
    return buf;
}

static void test_widths(void **state)
{
    assert_int_equal(ctl_width("abc"), 3);
    assert_int_equal(ctl_width("信息公开"), 8);
    assert_int_equal(ctl_width("ＡＢ"), 4);       /* fullwidth forms */
    assert_int_equal(ctl_width("《规定》"), 8);   /* CJK punctuation */
    assert_int_equal(ctl_width("e\xcc\x81"), 1);  /* e + combining acute */
    assert_int_equal(ctl_width("a\x1b[31mb"), 7); /* ESC counts, and prints as ? */
    assert_int_equal(ctl_width("\xff"), 1);       /* invalid byte */
    assert_int_equal(ctl_width("“越秀”"), 6);     /* ambiguous quotes: 1 each */
    assert_int_equal(ctl_width(""), 0);
}

struct cell {
    const char *s;
    int cols, right;
};

static void put(FILE *f, void *arg)
{
    struct cell *c = arg;
    ctl_put_cell(f, c->s, c->cols, c->right);
}

static void test_cells(void **state)
{
    struct cell c1 = {"越秀", 6, 0};
    char *out = capture(put, &c1);
    assert_string_equal(out, "越秀  ");
    free(out);
    struct cell c2 = {"12", 5, 1};
    out = capture(put, &c2);
    assert_string_equal(out, "   12");
    free(out);
    struct cell c3 = {"关于印发通知", 7, 0}; /* 12 columns into 7: 3 characters and … */
    out = capture(put, &c3);
    assert_string_equal(out, "关于印…");
    assert_int_equal(ctl_width(out), 7);
    free(out);
    struct cell c5 = {"关于印发通知", 8, 0}; /* into 8: a CJK character does not fit in 1 */
    out = capture(put, &c5);
    assert_string_equal(out, "关于印… ");
    assert_int_equal(ctl_width(out), 8);
    free(out);
    struct cell c4 = {"a\x1b]0;pwn\x07z", 20, 0};
    out = capture(put, &c4);
    assert_null(strchr(out, 0x1b));
    assert_null(strchr(out, 0x07));
    assert_int_equal(ctl_width(out), 20);
    free(out);
}

static void print_table(FILE *f, void *arg)
{
    static const char *const heads[] = {"ID", "TITLE", "N"};
    struct ctl_table *t = ctl_table_new(3, heads, 1);
    ctl_table_right(t, 2);
    const char *r1[] = {"yx-1", "越秀区十件民生实事", "12"};
    const char *r2[] = {"yx-22", "Notice", "3"};
    ctl_table_add(t, r1);
    ctl_table_add(t, r2);
    ctl_table_print(t, f, *(int *)arg);
    ctl_table_free(t);
}

/* The display column where `needle` starts on each line must be the same. */
static int col_of(const char *line, const char *needle)
{
    const char *p = strstr(line, needle);
    if (!p)
        return -1;
    char *pre = strndup(line, (size_t)(p - line));
    int w = ctl_width(pre);
    free(pre);
    return w;
}

static void test_alignment(void **state)
{
    int width = 0;
    char *out = capture(print_table, &width);
    char *l1 = strtok(out, "\n"), *l2 = strtok(NULL, "\n"), *l3 = strtok(NULL, "\n");
    assert_non_null(l3);
    assert_int_equal(col_of(l1, "TITLE"), col_of(l2, "越秀"));
    assert_int_equal(col_of(l2, "越秀"), col_of(l3, "Notice"));
    /* the right-aligned numbers end in the same column */
    assert_int_equal(ctl_width(l2), ctl_width(l3));
    free(out);
    width = 24; /* a narrow terminal: the title column shrinks, lines fit */
    out = capture(print_table, &width);
    assert_non_null(strstr(out, "…"));
    for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n"))
        assert_true(ctl_width(l) <= 24);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_widths),
        cmocka_unit_test(test_cells),
        cmocka_unit_test(test_alignment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
