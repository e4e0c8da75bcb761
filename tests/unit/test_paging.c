/* test_paging.c: pagination arithmetic: total pages, next and previous, at the limits. */
#include "../../src/api/paging.h"

#include "../../src/core/config.h"
#include "../../src/api/params.h"
#include "unit.h"

static void
expect(unsigned long page, unsigned int size, uint64_t total, uint64_t total_pages,
    int has_next, int has_prev, const char *name)
{
	struct paging pg;

	paging_compute(page, size, total, &pg);
	CHECK_U64(pg.page, page, "%s: page echoed", name);
	CHECK_U64(pg.page_size, size, "%s: page_size echoed", name);
	CHECK_U64(pg.total, total, "%s: total echoed", name);
	CHECK_U64(pg.total_pages, total_pages, "%s: total_pages", name);
	CHECK_INT(pg.has_next, has_next, "%s: has_next", name);
	CHECK_INT(pg.has_prev, has_prev, "%s: has_prev", name);
}

int
main(void)
{
	/*     page size total  pages next prev */
	expect(1, 20, 0,       0, 0, 0, "total 0, page 1");
	expect(2, 20, 0,       0, 0, 1, "total 0, page 2");
	expect(1, 20, 1,       1, 0, 0, "one item");
	expect(1, 20, 20,      1, 0, 0, "exactly one full page");
	expect(1, 20, 21,      2, 1, 0, "one more than a page, page 1");
	expect(2, 20, 21,      2, 0, 1, "one more than a page, page 2");
	expect(1, 10, 40,      4, 1, 0, "exact multiple, first page");
	expect(2, 10, 40,      4, 1, 1, "exact multiple, middle page");
	expect(4, 10, 40,      4, 0, 1, "exact multiple, last page");
	expect(5, 10, 40,      4, 0, 1, "exact multiple, first page past the end");
	expect(3, 10, 25,      3, 0, 1, "partial last page");
	expect(2, 10, 25,      3, 1, 1, "before a partial last page");
	expect(4, 10, 25,      3, 0, 1, "page past the end");
	expect(1000, 10, 25,   3, 0, 1, "far past the end");
	expect(1, 1, 1,        1, 0, 0, "page_size 1, one item");
	expect(7, 1, 10,       10, 1, 1, "page_size 1, middle");
	expect(10, 1, 10,      10, 0, 1, "page_size 1, last");
	expect(1, 100, 250,    3, 1, 0, "default max page_size");

	/* The largest page a caller can ask for, with the largest page_size. */
	expect(PARAMS_PAGE_MAX, CONFIG_PAGE_SIZE_MAX_LIMIT, 10,
	    1, 0, 1,
	    "largest page, small total");
	expect(PARAMS_PAGE_MAX, CONFIG_PAGE_SIZE_MAX_LIMIT, UINT64_C(3000000000000),
	    3000000000, 1, 1,
	    "largest page inside a huge total");
	expect(PARAMS_PAGE_MAX, 1, PARAMS_PAGE_MAX,
	    PARAMS_PAGE_MAX, 0, 1,
	    "page_size 1, last page at PARAMS_PAGE_MAX");
	expect(1, 20, UINT64_MAX,
	    UINT64_MAX / 20 + 1, 1, 0, "total UINT64_MAX: total_pages without overflow");
	expect(1, 1, UINT64_MAX, UINT64_MAX, 1, 0, "total UINT64_MAX, page_size 1");
	expect(PARAMS_PAGE_MAX, CONFIG_PAGE_SIZE_MAX_LIMIT, UINT64_MAX,
	    UINT64_MAX / 1000 + 1, 1, 1,
	    "largest page, total UINT64_MAX");
	return unit_done();
}
