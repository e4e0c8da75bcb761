/* ctl_output.c: autionalctl's output for people (aligned tables, fields) and its list envelope. */
#include <stdlib.h>
#include <string.h>

#include "../api/paging.h"
#include "../api/params.h"
#include "ctl.h"
#include "../core/text.h"
#include "../core/timefmt.h"

/* ---- output for people ---------------------------------------------------- */

struct ctl_table {
	int ncols;
	char **cells;            /* row after row, ncols each; the header is row 0 */
	size_t nrows, cap;       /* rows held (the header included) and room */
};

struct ctl_table *
ctl_table_new(int ncols, const char *const *header)
{
	struct ctl_table *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->ncols = ncols;
	if (ctl_table_add(t, header) != 0) {
		ctl_table_free(t);
		return NULL;
	}
	return t;
}

int
ctl_table_add(struct ctl_table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;
		char **grown = realloc(t->cells, cap * (size_t)t->ncols * sizeof(*grown));
		if (grown == NULL)
			return -1;
		t->cells = grown;
		t->cap = cap;
	}
	char **row = t->cells + t->nrows * (size_t)t->ncols;
	for (int i = 0; i < t->ncols; i++) {
		if ((row[i] = strdup(cells[i] ? cells[i] : "-")) == NULL) {
			while (i-- > 0)
				free(row[i]);
			return -1;
		}
	}
	t->nrows++;
	return 0;
}

/* Columns on screen of UTF-8 text: one per character (no wide-character tables). */
static size_t
text_columns(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

void
ctl_table_print(const struct ctl_table *t)
{
	size_t width[16] = { 0 };
	int ncols = t->ncols < 16 ? t->ncols : 16;

	for (size_t r = 0; r < t->nrows; r++)
		for (int i = 0; i < ncols; i++) {
			size_t w = text_columns(t->cells[r * (size_t)t->ncols + i]);
			if (w > width[i])
				width[i] = w;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		for (int i = 0; i < ncols; i++) {
			const char *cell = t->cells[r * (size_t)t->ncols + i];
			if (i == ncols - 1) {
				fputs(cell, stdout);   /* no trailing blanks */
				break;
			}
			fputs(cell, stdout);
			for (size_t pad = text_columns(cell); pad < width[i] + 2; pad++)
				putchar(' ');
		}
		putchar('\n');
	}
}

void
ctl_table_free(struct ctl_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

void
ctl_print_fields(int n, const char *const *keys, const char *const *values)
{
	size_t width = 0;

	for (int i = 0; i < n; i++)
		if (strlen(keys[i]) > width)
			width = strlen(keys[i]);
	for (int i = 0; i < n; i++)
		printf("%-*s  %s\n", (int)width, keys[i], values[i] ? values[i] : "-");
}

/* ---- lists ----------------------------------------------------------------- */

int
ctl_parse_paging(struct ctl *ctl, const struct ctl_paging_args *a, unsigned int max,
    unsigned long *page, unsigned int *page_size)
{
	uint64_t v;

	*page = PARAMS_PAGE_DEFAULT;
	*page_size = PARAMS_PAGE_SIZE_DEFAULT < max ? PARAMS_PAGE_SIZE_DEFAULT : max;
	if (a->page != NULL) {
		if (text_parse_decimal(a->page, strlen(a->page), 1, PARAMS_PAGE_MAX, &v) != 0)
			return ctl_usage(ctl, "bad --page '%s': a whole number from 1 to %lu",
			    a->page, PARAMS_PAGE_MAX);
		*page = (unsigned long)v;
	}
	if (a->page_size != NULL) {
		if (text_parse_decimal(a->page_size, strlen(a->page_size), 1, max, &v) != 0)
			return ctl_usage(ctl, "bad --page-size '%s': a whole number from 1 to %u",
			    a->page_size, max);
		*page_size = (unsigned int)v;
	}
	return -1;
}

int
ctl_print_list_json(json_object *items, unsigned long page, unsigned int page_size,
    uint64_t total)
{
	json_object *root = json_object_new_object(), *pagination = json_object_new_object();
	struct paging pg;

	paging_compute(page, page_size, total, &pg);
	ctl_json_put(pagination, "page", json_object_new_int64((int64_t)pg.page));
	ctl_json_put(pagination, "page_size", json_object_new_int64(pg.page_size));
	ctl_json_put(pagination, "total", json_object_new_int64((int64_t)pg.total));
	ctl_json_put(pagination, "total_pages", json_object_new_int64((int64_t)pg.total_pages));
	ctl_json_put(pagination, "has_next", json_object_new_boolean(pg.has_next));
	ctl_json_put(pagination, "has_prev", json_object_new_boolean(pg.has_prev));
	ctl_json_put(root, "items", items);
	ctl_json_put(root, "pagination", pagination);
	ctl_json_put(root, "total", json_object_new_int64((int64_t)total));
	if (root == NULL) {
		json_object_put(items);
		json_object_put(pagination);
	}
	return ctl_print_json(root);
}

void
ctl_print_list_footer(unsigned long page, unsigned int page_size, uint64_t total,
    const char *singular, const char *plural)
{
	struct paging pg;

	paging_compute(page, page_size, total, &pg);
	if (total == 0)
		printf("no %s\n", plural);
	else if (pg.page > pg.total_pages)
		printf("page %lu is past the last page (%llu), %llu %s in all\n", pg.page,
		    (unsigned long long)pg.total_pages, (unsigned long long)total,
		    total == 1 ? singular : plural);
	else
		printf("page %lu of %llu, %llu %s in all\n", pg.page,
		    (unsigned long long)pg.total_pages, (unsigned long long)total,
		    total == 1 ? singular : plural);
}

json_object *
ctl_json_time(const struct tm *tm)
{
	char buf[TIMEFMT_RFC3339_LEN];

	return timefmt_rfc3339_tm(tm, buf) == 0 ? json_object_new_string(buf) : NULL;
}
