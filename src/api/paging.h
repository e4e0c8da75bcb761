/* paging.h: pagination arithmetic for a page of a known total. */
#ifndef AUTIONAL_PAGING_H
#define AUTIONAL_PAGING_H

#include <stdbool.h>
#include <stdint.h>

struct paging {
	unsigned long page;        /* 1-based, as asked */
	unsigned int page_size;
	uint64_t total;            /* items across all pages */
	uint64_t total_pages;      /* ceil(total / page_size); 0 when total is 0 */
	bool has_next;
	bool has_prev;
};

void paging_compute(unsigned long page, unsigned int page_size, uint64_t total,
    struct paging *out);

#endif
