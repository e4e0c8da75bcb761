/* paging.c: pagination arithmetic. */
#include "paging.h"

void
paging_compute(unsigned long page, unsigned int page_size, uint64_t total,
    struct paging *out)
{
	out->page = page;
	out->page_size = page_size;
	out->total = total;
	out->total_pages = total / page_size + (total % page_size != 0);
	out->has_prev = page > 1;
	out->has_next = page < out->total_pages;
}
