/* store.c: the statements both programs run: who asks, a page of tokens, revocation, audit. */
#include "store.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

enum statement {
	SQL_AUTHORIZE,
	SQL_LIST_PAGE,
	SQL_LIST_PAGE_DEEP,
	SQL_LIST_PAGE_BY_USER,
	SQL_LIST_AFTER,
	SQL_LIST_AFTER_BY_USER,
	SQL_LIST_PAGE_TOTAL_ROW,              /* each SQL_LIST_* + LIST_TOTAL_ROW_FORM */
	SQL_LIST_PAGE_DEEP_TOTAL_ROW,
	SQL_LIST_PAGE_BY_USER_TOTAL_ROW,
	SQL_LIST_AFTER_TOTAL_ROW,
	SQL_LIST_AFTER_BY_USER_TOTAL_ROW,
	SQL_COUNT,
	SQL_COUNT_BY_USER,
	SQL_LIST_PAGE_FROM_END,
	SQL_LIST_PAGE_AUTHORIZED,
	SQL_LIST_AFTER_AUTHORIZED,
	SQL_CURSOR_KEY,
	SQL_REVOKE,
	SQL_REVOKE_BY_USER,
	SQL_FIND_TOKEN,
	SQL_REVOKE_ONE,
	SQL_AUDIT,
	SQL_AUDIT_BATCH,
	SQL_STATEMENTS
};

/* From a list statement to its form for an empty page (the total in a row of its own). */
#define LIST_TOTAL_ROW_FORM (SQL_LIST_PAGE_TOTAL_ROW - SQL_LIST_PAGE)

/*
 * Filters are bound, never spliced: token_type IN (?, ?) gets both types, or
 * the wanted one twice; a user filter joins users by its unique public id,
 * which the optimiser reads first (a constant) and then walks
 * oauth_tokens_by_user in list order.
 */
#define ACTIVE "revoked_at IS NULL AND expires_at > ? AND token_type IN (?, ?)"
/*
 * Below this offset a page reads whole rows in list order; from it on, the
 * deferred join skips the offset in the narrow index first.  Server CPU on
 * the bench data (bench/statement-cpu's method): direct / deferred 150 / 200 us
 * at offset 0, 200 / 240 at 20, 380 / 220 at 40, 1280 / 290 at 200.
 */
#define LIST_DIRECT_OFFSET_MAX 40
/*
 * From this offset on, a page is read in a snapshot that counts first, and a
 * page nearer the oldest token than the newest is taken from that end
 * (SQL_LIST_PAGE_FROM_END): its index walk is total - offset entries, not
 * offset.  The snapshot and the count cost about 1 ms (4 more round trips:
 * page 51 of 20 of the bench's hot client took 2.4 ms in one statement,
 * 3.5 ms this way), a walk of 10,000 index entries 5-7 ms.  Page 20,000 of 20
 * of the hot client (offset 399,980 of 500,000): 193 ms walked from the
 * newest, 47 ms from the oldest (`time mariadb -e`, bench data).
 */
#define LIST_FROM_END_OFFSET_MIN 10000

#define PAGE_COLUMNS "k.public_id, k.token_type, k.scope, k.created_at, k.expires_at, u.public_id"
/*
 * A keyset page: the rows below a cursor's position in list order.  Written
 * as an OR of two ranges, which MariaDB 10.11 seeks in the page index; the
 * row constructor (created_at, id) < (?, ?) would scan.  Params: created_at,
 * created_at, id.
 */
#define BELOW_CURSOR "(k.created_at < ? OR (k.created_at = ? AND k.id < ?))"

#define AUDIT_ROW "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define AUDIT_ROWS_2 AUDIT_ROW ", " AUDIT_ROW
#define AUDIT_ROWS_4 AUDIT_ROWS_2 ", " AUDIT_ROWS_2
#define AUDIT_ROWS_8 AUDIT_ROWS_4 ", " AUDIT_ROWS_4
#define AUDIT_ROWS_16 AUDIT_ROWS_8 ", " AUDIT_ROWS_8
#define AUDIT_INSERT "INSERT INTO audit_events (occurred_at, tenant_id, actor, action," \
	" client_id, filters, affected, dry_run, request_id, client_request_id, status) VALUES "

static const struct db_statement statements[SQL_STATEMENTS] = {
	/*
	 * Params: client_id, token hash, now.  The first read of every request,
	 * causal on Galera: a token revoked on any node is refused here at once.
	 */
	[SQL_AUTHORIZE] = { "authorization",
	    "SELECT u.id IS NOT NULL, COALESCE(u.is_admin, 0),"
	    "       COALESCE(t.public_id, ''), COALESCE(u.public_id, ''), c.id"
	    "  FROM oauth_tokens k"
	    "  LEFT JOIN users u ON u.id = k.user_id"
	    "  LEFT JOIN tenants t ON t.id = u.tenant_id"
	    "  LEFT JOIN oauth_clients c ON c.client_id = ? AND c.tenant_id = u.tenant_id"
	    " WHERE k.token_hash = ? AND k.token_type = 'access_token'"
	    "   AND k.revoked_at IS NULL AND k.expires_at > ?", .causal = true },
	/*
	 * The list: one statement per request, whose every row carries the exact
	 * total next to a token of the page (TOTAL, an uncorrelated subquery the
	 * server evaluates once).  sql/004_token_totals.sql explains the
	 * arithmetic: the writers' counter rows summed, minus the expired tokens
	 * not yet swept, plus the swept ones whose expiry lies ahead; one walk
	 * over two ranges of oauth_tokens_unswept (the OR of two ranges is one
	 * index scan; the row constructor (swept, expires_at) > (?, ?) would not
	 * be a range in MariaDB 10.11).  Shallow pages read whole rows in list
	 * order straight from the page index (SQL_LIST_PAGE); deep ones walk that
	 * index to the offset and then fetch the page's rows by primary key, a
	 * deferred join (SQL_LIST_PAGE_DEEP).
	 *
	 * A page with no rows carries no total: then the same request runs the
	 * *_TOTAL_ROW form, a UNION ALL of one row holding the total (part 0) and
	 * the page (part 1), so that total and items still come from one
	 * snapshot.  That form alone would do for every page, but its union and
	 * derived table cost the server about 1.5 times as much (bench/run (a),
	 * docs/PERFORMANCE.md), so it only serves empty pages.
	 *
	 * Columns of both forms: part, public_id, token_type, scope, created_at,
	 * expires_at, user_id, total, id.  Params: client, type, type | client,
	 * now, now, type, type (the total) | client, now, type, type, limit,
	 * offset (the page).
	 */
#define TOTAL \
	    "CAST((SELECT COALESCE(SUM(live), 0) FROM oauth_token_totals"\
	    "       WHERE oauth_client_id = ? AND token_type IN (?, ?))"\
	    "   + (SELECT COALESCE(SUM(IF(swept, 1, -1)), 0) FROM oauth_tokens"\
	    "       WHERE oauth_client_id = ? AND revoked_at IS NULL"\
	    "         AND ((swept = 0 AND expires_at <= ?) OR (swept = 1 AND expires_at > ?))"\
	    "         AND token_type IN (?, ?))"\
	    "   AS UNSIGNED)"
	/* One user's tokens are few: counted directly.  Params: user, client, now,
	 * type, type; the page's params then start with the user too. */
#define TOTAL_BY_USER \
	    "(SELECT COUNT(*) FROM oauth_tokens k JOIN users u ON u.id = k.user_id"\
	    "  WHERE u.public_id = ? AND k.oauth_client_id = ? AND k." ACTIVE ")"
#define ROWS_WITH(total) "SELECT 1 AS part, " PAGE_COLUMNS ", " total " AS total, k.id"
#define TOTAL_ROW(total) \
	"SELECT part, public_id, token_type, scope, created_at, expires_at, user_id, total, id FROM ("\
	" SELECT 0 AS part, NULL AS public_id, NULL AS token_type, NULL AS scope,"\
	"        NULL AS created_at, NULL AS expires_at, NULL AS user_id, NULL AS id,"\
	"        " total " AS total"\
	" UNION ALL"
#define TOTAL_ROW_END ") AS result ORDER BY part, created_at DESC, id DESC"
#define PAGE_ROWS \
	    " FROM oauth_tokens k LEFT JOIN users u ON u.id = k.user_id"\
	    " WHERE k.oauth_client_id = ? AND k." ACTIVE\
	    " ORDER BY k.created_at DESC, k.id DESC LIMIT ? OFFSET ?"
#define PAGE_ROWS_DEEP \
	    " FROM (SELECT id FROM oauth_tokens"\
	    "        WHERE oauth_client_id = ? AND " ACTIVE\
	    "        ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?) AS page"\
	    " JOIN oauth_tokens k ON k.id = page.id"\
	    " LEFT JOIN users u ON u.id = k.user_id"
#define PAGE_ROWS_BY_USER \
	    " FROM (SELECT k.id FROM oauth_tokens k JOIN users u ON u.id = k.user_id"\
	    "        WHERE u.public_id = ? AND k.oauth_client_id = ? AND k." ACTIVE\
	    "        ORDER BY k.created_at DESC, k.id DESC LIMIT ? OFFSET ?) AS page"\
	    " JOIN oauth_tokens k ON k.id = page.id"\
	    " LEFT JOIN users u ON u.id = k.user_id"
	/* A keyset page: the page's params with the cursor's created_at,
	 * created_at, id before the limit, and no offset.  FORCE INDEX: left to
	 * itself, MariaDB 10.11 reads oauth_tokens_page by ref on (client,
	 * revoked_at) from the newest token down to the cursor (0.7 s at depth
	 * 400,000 of the bench's hot client) instead of the range that starts at
	 * the cursor (key_len 27, under 1 ms at any depth). */
#define PAGE_ROWS_AFTER \
	    " FROM oauth_tokens k FORCE INDEX (oauth_tokens_page)"\
	    " LEFT JOIN users u ON u.id = k.user_id"\
	    " WHERE k.oauth_client_id = ? AND k." ACTIVE " AND " BELOW_CURSOR\
	    " ORDER BY k.created_at DESC, k.id DESC LIMIT ?"
#define PAGE_ROWS_AFTER_BY_USER \
	    " FROM oauth_tokens k JOIN users u ON u.id = k.user_id"\
	    " WHERE u.public_id = ? AND k.oauth_client_id = ? AND k." ACTIVE " AND " BELOW_CURSOR\
	    " ORDER BY k.created_at DESC, k.id DESC LIMIT ?"
#define IN_LIST_ORDER " ORDER BY k.created_at DESC, k.id DESC"
	[SQL_LIST_PAGE] = { "token list", ROWS_WITH(TOTAL) PAGE_ROWS, false },
	[SQL_LIST_PAGE_DEEP] = { "token list",
	    ROWS_WITH(TOTAL) PAGE_ROWS_DEEP IN_LIST_ORDER, false },
	[SQL_LIST_PAGE_BY_USER] = { "token list",
	    ROWS_WITH(TOTAL_BY_USER) PAGE_ROWS_BY_USER IN_LIST_ORDER, false },
	[SQL_LIST_AFTER] = { "token list after a cursor",
	    ROWS_WITH(TOTAL) PAGE_ROWS_AFTER, false },
	[SQL_LIST_AFTER_BY_USER] = { "token list after a cursor",
	    ROWS_WITH(TOTAL_BY_USER) PAGE_ROWS_AFTER_BY_USER, false },
	[SQL_LIST_PAGE_TOTAL_ROW] = { "token list",
	    TOTAL_ROW(TOTAL) " (SELECT 1, " PAGE_COLUMNS ", k.id, NULL" PAGE_ROWS ")"
	    TOTAL_ROW_END, false },
	[SQL_LIST_PAGE_DEEP_TOTAL_ROW] = { "token list",
	    TOTAL_ROW(TOTAL) " SELECT 1, " PAGE_COLUMNS ", k.id, NULL" PAGE_ROWS_DEEP
	    TOTAL_ROW_END, false },
	[SQL_LIST_PAGE_BY_USER_TOTAL_ROW] = { "token list",
	    TOTAL_ROW(TOTAL_BY_USER) " SELECT 1, " PAGE_COLUMNS ", k.id, NULL" PAGE_ROWS_BY_USER
	    TOTAL_ROW_END, false },
	[SQL_LIST_AFTER_TOTAL_ROW] = { "token list after a cursor",
	    TOTAL_ROW(TOTAL) " (SELECT 1, " PAGE_COLUMNS ", k.id, NULL" PAGE_ROWS_AFTER ")"
	    TOTAL_ROW_END, false },
	[SQL_LIST_AFTER_BY_USER_TOTAL_ROW] = { "token list after a cursor",
	    TOTAL_ROW(TOTAL_BY_USER) " (SELECT 1, " PAGE_COLUMNS ", k.id, NULL"
	    PAGE_ROWS_AFTER_BY_USER ")" TOTAL_ROW_END, false },
	/* The total alone (a dry run's count): the total's params only. */
	[SQL_COUNT] = { "token count", "SELECT " TOTAL, false },
	[SQL_COUNT_BY_USER] = { "token count", "SELECT " TOTAL_BY_USER, false },
	/*
	 * Rows [offset, offset + limit) counted from the newest token are rows
	 * [total - offset - limit, total - offset) counted from the oldest: the
	 * page index walked upwards, then the page in list order.  The total,
	 * counted before in the same snapshot, comes back in every row.  Params:
	 * total, client, now, type, type, limit, offset from the oldest.
	 */
	[SQL_LIST_PAGE_FROM_END] = { "token list",
	    "SELECT 1 AS part, " PAGE_COLUMNS ", CAST(? AS UNSIGNED) AS total, k.id"
	    " FROM (SELECT id FROM oauth_tokens"
	    "        WHERE oauth_client_id = ? AND " ACTIVE
	    "        ORDER BY created_at, id LIMIT ? OFFSET ?) AS page"
	    " JOIN oauth_tokens k ON k.id = page.id"
	    " LEFT JOIN users u ON u.id = k.user_id" IN_LIST_ORDER, false },
	/*
	 * The caller's authorization and the list in one statement, for a
	 * client whose primary key this worker has seen (store_list_authorized):
	 * the bearer's token row, its administrator, tenant and the client are
	 * unique-key lookups the optimizer reads as constants before it plans
	 * the page, and when any of them is missing (token dead, user not an
	 * administrator of the client's tenant, client gone or renamed) it
	 * returns no row at all.  Columns: those of the list, then the tenant's
	 * and the administrator's public ids.  Params: the total's, then client
	 * (c.id), client_id, token hash, now, client, now, type, type, and the
	 * page's (limit, offset | created_at, created_at, id, limit).  Causal
	 * on Galera: it is the request's first read.
	 */
#define AUTHORIZED_LIST_FROM(index_hint) \
	    " FROM oauth_tokens bk"\
	    " JOIN users au ON au.id = bk.user_id AND au.is_admin"\
	    " JOIN tenants at ON at.id = au.tenant_id"\
	    " JOIN oauth_clients c ON c.id = ? AND c.client_id = ? AND c.tenant_id = au.tenant_id"\
	    " JOIN oauth_tokens k " index_hint "ON k.oauth_client_id = c.id"\
	    " LEFT JOIN users u ON u.id = k.user_id"\
	    " WHERE bk.token_hash = ? AND bk.token_type = 'access_token'"\
	    "   AND bk.revoked_at IS NULL AND bk.expires_at > ?"\
	    "   AND k.oauth_client_id = ? AND k.revoked_at IS NULL AND k.expires_at > ?"\
	    "   AND k.token_type IN (?, ?)"
#define WHO_COLUMNS ", at.public_id, au.public_id"
	[SQL_LIST_PAGE_AUTHORIZED] = { "token list",
	    ROWS_WITH(TOTAL) WHO_COLUMNS AUTHORIZED_LIST_FROM("")
	    IN_LIST_ORDER " LIMIT ? OFFSET ?", .causal = true },
	[SQL_LIST_AFTER_AUTHORIZED] = { "token list after a cursor",
	    ROWS_WITH(TOTAL) WHO_COLUMNS AUTHORIZED_LIST_FROM("FORCE INDEX (oauth_tokens_page) ")
	    " AND " BELOW_CURSOR IN_LIST_ORDER " LIMIT ?", .causal = true },
	/* The page-cursor key: one row, made by sql/006. */
	[SQL_CURSOR_KEY] = { "page-cursor key",
	    "SELECT secret FROM api_secrets WHERE name = 'page_cursor'", false },
	/* Params: now (revoked_at), client, now, type, type, most.  At most
	 * `most` tokens (a batch, store_revoke): swept IN (0, 1) keeps expires_at
	 * in the oauth_tokens_unswept range, so a batch reads active tokens only
	 * (the expired ones of a client with a million tokens are half of them). */
	[SQL_REVOKE] = { "revocation",
	    "UPDATE oauth_tokens SET revoked_at = ?"
	    " WHERE oauth_client_id = ? AND revoked_at IS NULL AND swept IN (0, 1)"
	    " AND expires_at > ? AND token_type IN (?, ?) LIMIT ?", false },
	/* Params: now (revoked_at), user, client, now, type, type, most.  The
	 * user as a subquery the optimizer reads once, not a join: a Galera node
	 * with wsrep_max_ws_rows set refuses every multi-table UPDATE (4165,
	 * "Galera replication not supported", MariaDB 10.11). */
	[SQL_REVOKE_BY_USER] = { "revocation",
	    "UPDATE oauth_tokens SET revoked_at = ?"
	    " WHERE user_id = (SELECT id FROM users WHERE public_id = ?)"
	    " AND oauth_client_id = ? AND " ACTIVE " LIMIT ?", false },
	/* Params: public id, client.  Locks the row until the transaction ends. */
	[SQL_FIND_TOKEN] = { "token lookup",
	    "SELECT revoked_at IS NULL FROM oauth_tokens"
	    " WHERE public_id = ? AND oauth_client_id = ? FOR UPDATE", false },
	/* Params: now (revoked_at), public id, client. */
	[SQL_REVOKE_ONE] = { "revocation",
	    "UPDATE oauth_tokens SET revoked_at = ?"
	    " WHERE public_id = ? AND oauth_client_id = ? AND revoked_at IS NULL", false },
	/* Revocations write one row, the read-audit queue one or a batch; each
	 * row carries the time of its request. */
	[SQL_AUDIT] = { "audit", AUDIT_INSERT AUDIT_ROW, false },
	[SQL_AUDIT_BATCH] = { "read audit", AUDIT_INSERT AUDIT_ROWS_16, false },
};

const struct db_table store_statements = { statements, SQL_STATEMENTS };

/* A read audit waiting for its batch: the entry's strings copied. */
struct queued_audit {
	struct timespec at;                 /* when the request was served */
	struct audit_entry entry;           /* its numbers; the strings are the fields below */
	char tenant_id[257];
	char actor[257];
	char action[32];
	char client_id[1024];
	char filters[512];
	char request_id[65];
	char client_request_id[65];         /* "": none */
};

#define AUDIT_QUEUE_MAX (2 * STORE_AUDIT_BATCH)
#define KNOWN_CLIENTS 64

struct store {
	struct db *db;                      /* one connection per process */
	struct queued_audit queue[AUDIT_QUEUE_MAX];  /* read audits not yet written */
	int queued;
	/* Result buffers of the list statements, reused for every row. */
	char token_type[16];
	char scope[4001];                   /* VARCHAR(1000) utf8mb4 */
	char user_id[257];                  /* VARCHAR(64) utf8mb4 */
	/* The page-cursor key, read once (store_cursor_key). */
	unsigned char cursor_key[CURSOR_KEY_BYTES];
	bool have_cursor_key;
	/* Clients' primary keys seen by store_authorize, by a hash of client_id
	 * (a stale or colliding entry only costs the fallback: the statement
	 * that uses it checks both). */
	struct known_client {
		uint64_t name_hash;             /* 0: empty */
		uint64_t pk;
	} known_clients[KNOWN_CLIENTS];
};

/* token_type IN (?, ?): both types, or the wanted one twice. */
static void
param_types(struct db_params *p, enum token_type_filter type)
{
	const char *only = token_type_name(type);

	db_param_string(p, only ? only : "access_token");
	db_param_string(p, only ? only : "refresh_token");
}

enum aut_err
store_new(struct db *db, struct store **out)
{
	struct store *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return AUT_ERR_NOMEM;
	st->db = db;
	*out = st;
	return AUT_OK;
}

void
store_free(struct store *st)
{
	if (st == NULL)
		return;
	if (store_audit_flush(st) != AUT_OK)
		log_error("audit: %d read-audit rows lost at exit", st->queued);
	free(st);
}

/* ---- who asks ----------------------------------------------------------- */

/* FNV-1a, 64 bits, never 0 (0 marks an empty entry). */
static uint64_t
client_name_hash(const char *client_id)
{
	uint64_t h = 14695981039346656037ULL;

	for (const unsigned char *c = (const unsigned char *)client_id; *c != '\0'; c++)
		h = (h ^ *c) * 1099511628211ULL;
	return h != 0 ? h : 1;
}

static struct known_client *
known_client_slot(struct store *st, uint64_t name_hash)
{
	return &st->known_clients[name_hash % KNOWN_CLIENTS];
}

bool
store_known_client(struct store *st, const char *client_id, uint64_t *pk)
{
	uint64_t h = client_name_hash(client_id);
	const struct known_client *k = known_client_slot(st, h);

	*pk = k->name_hash == h ? k->pk : 0;
	return k->name_hash == h;
}

/* What an authorization learnt about the client named in the path. */
static void
remember_client(struct store *st, const char *client_id, const struct authorization *a)
{
	uint64_t h = client_name_hash(client_id);
	struct known_client *k = known_client_slot(st, h);

	if (a->token_live && a->client_found)
		*k = (struct known_client){ h, a->client_pk };
	else if (a->token_live && k->name_hash == h)
		*k = (struct known_client){ 0, 0 };  /* not (or no longer) in that tenant */
}

/* One authorization on its way through db_run(). */
struct authorize_job {
	const unsigned char *hash;
	const char *client_id;
	time_t now;
	struct authorization *out;
};

static enum aut_err
authorize_work(struct db *db, void *ctx)
{
	const struct authorize_job *job = ctx;
	const struct db_statement *s = &statements[SQL_AUTHORIZE];
	struct authorization *out = job->out;
	struct db_params p;
	struct db_row r;
	signed char has_user = 0, is_admin = 0;
	struct bearer *who = &out->who;
	enum aut_err err;

	memset(out, 0, sizeof(*out));
	db_params_init(&p);
	db_param_string(&p, job->client_id);
	db_param_bytes(&p, job->hash, 32);
	db_param_time(&p, job->now, 0);
	db_row_init(&r);
	db_col_tiny(&r, &has_user);
	db_col_tiny(&r, &is_admin);
	db_col_text(&r, who->tenant_id, sizeof(who->tenant_id));
	db_col_text(&r, who->user_id, sizeof(who->user_id));
	db_col_u64(&r, &out->client_pk);

	err = db_execute(db, s, &p, &r);
	if (err == AUT_OK)
		err = db_fetch_one(db, s, &r, &out->token_live);
	if (err != AUT_OK || !out->token_live) {
		memset(out, 0, sizeof(*out));
		return err;
	}
	who->has_user = has_user != 0;
	who->is_admin = is_admin != 0;
	out->client_found = !db_col_null(&r, 4);
	if (!out->client_found)
		out->client_pk = 0;
	return AUT_OK;
}

enum aut_err
store_authorize(struct store *st, const unsigned char hash[32], const char *client_id,
    time_t now, struct authorization *out)
{
	struct authorize_job job = { hash, client_id, now, out };

	enum aut_err err;

	/* The first statement of every request. */
	db_request_begins(st->db);
	err = db_run(st->db, DB_READ, "authorization", authorize_work, &job);
	if (err == AUT_OK)
		remember_client(st, client_id, out);
	return err;
}

/* ---- the list ----------------------------------------------------------- */

/* Columns of a list row, in both forms: part, public_id, token_type, scope,
 * created_at, expires_at, user_id, total, id. */
enum { COL_PART, COL_ID, COL_TYPE, COL_SCOPE, COL_CREATED, COL_EXPIRES, COL_USER, COL_TOTAL,
	COL_PK };

/*
 * The total and the page's rows (handed to each()) from statement s, in
 * either form: rows that each carry the total, or a part 0 row with the total
 * before the part 1 rows.  *have_total is false when no row came back (an
 * empty page in the first form).
 */
static enum aut_err
read_list_once(struct store *st, const struct db_statement *s, struct db_params *p,
    uint64_t *total, bool *have_total, struct bearer *who, store_row_fn each, void *ctx)
{
	bool more = false;
	struct db_row r;
	struct token_row row;
	uint64_t total_col = 0;
	signed char part = 0;
	enum aut_err err;

	db_row_init(&r);
	db_col_tiny(&r, &part);
	db_col_bytes(&r, row.public_id, sizeof(row.public_id));
	db_col_text(&r, st->token_type, sizeof(st->token_type));
	db_col_text(&r, st->scope, sizeof(st->scope));
	db_col_time(&r, &row.created_at, NULL);
	db_col_time(&r, &row.expires_at, NULL);
	db_col_text(&r, st->user_id, sizeof(st->user_id));
	db_col_u64(&r, &total_col);
	db_col_u64(&r, &row.pk);
	if (who != NULL) {                  /* the *_AUTHORIZED forms */
		db_col_text(&r, who->tenant_id, sizeof(who->tenant_id));
		db_col_text(&r, who->user_id, sizeof(who->user_id));
	}

	*total = 0;
	*have_total = false;
	err = db_execute(st->db, s, p, &r);
	while (err == AUT_OK && (err = db_fetch(st->db, s, &r, &more)) == AUT_OK && more) {
		if (!*have_total && !db_col_null(&r, COL_TOTAL)) {
			*total = total_col;
			*have_total = true;
		}
		if (part == 0)
			continue;
		if (!*have_total || db_col_null(&r, COL_TYPE) || db_col_null(&r, COL_ID) ||
		    db_col_null(&r, COL_PK) ||
		    db_col_length(&r, COL_ID) != sizeof(row.public_id)) {
			log_error("token list: malformed result");
			db_disconnect(st->db);
			return AUT_ERR_INTERNAL;
		}
		row.token_type = st->token_type;
		row.scope = st->scope;
		row.user_id = db_col_null(&r, COL_USER) ? NULL : st->user_id;
		err = each(ctx, &row);
		if (err != AUT_OK) {
			db_discard(st->db, s);
			return err;
		}
	}
	return err;
}

/* One list read on its way through db_run(). */
struct list_job {
	struct store *st;
	int which;                          /* SQL_LIST_*, the rows-with-total form */
	struct db_params *p;
	uint64_t *total;
	store_row_fn each;
	void *ctx;
};

static enum aut_err
list_work(struct db *db, void *ctx)
{
	const struct list_job *j = ctx;
	bool have_total = false;
	enum aut_err err;

	(void)db;
	err = read_list_once(j->st, &statements[j->which], j->p, j->total, &have_total, NULL,
	    j->each, j->ctx);
	/* An empty page: its total, and any row that appeared meanwhile, from
	 * the form that always has a row. */
	if (err == AUT_OK && !have_total)
		err = read_list_once(j->st, &statements[j->which + LIST_TOTAL_ROW_FORM], j->p,
		    j->total, &have_total, NULL, j->each, j->ctx);
	if (err == AUT_OK && !have_total) {
		log_error("token list: no total in the result");
		return AUT_ERR_INTERNAL;
	}
	return err;
}

/* list_work() as a read: run once more on another server if its server went
 * away before any row came back. */
static enum aut_err
read_list(struct store *st, int which, struct db_params *p, uint64_t *total,
    store_row_fn each, void *ctx)
{
	struct list_job job = { st, which, p, total, each, ctx };

	return db_run(st->db, DB_READ, statements[which].what, list_work, &job);
}

/* The parameters of the total (TOTAL or TOTAL_BY_USER). */
static void
param_total(struct db_params *p, uint64_t client_pk, const struct token_filters *f,
    time_t now)
{
	if (f->user_id[0] != '\0') {
		db_param_string(p, f->user_id);
		db_param_u64(p, client_pk);
		db_param_time(p, now, 0);
		param_types(p, f->token_type);
		return;
	}
	db_param_u64(p, client_pk);
	param_types(p, f->token_type);
	db_param_u64(p, client_pk);
	db_param_time(p, now, 0);
	db_param_time(p, now, 0);
	param_types(p, f->token_type);
}

/* The parameters of the total, then those of the page's filters. */
static void
param_total_and_filters(struct db_params *p, uint64_t client_pk,
    const struct token_filters *f, time_t now)
{
	param_total(p, client_pk, f, now);
	if (f->user_id[0] != '\0')
		db_param_string(p, f->user_id);
	db_param_u64(p, client_pk);
	db_param_time(p, now, 0);
	param_types(p, f->token_type);
}

/* The page's own params, last in every list statement: a cursor's position
 * and the limit (after set), or the limit and the offset. */
static void
param_page(struct db_params *p, const struct cursor_position *after, unsigned int limit,
    uint64_t offset)
{
	if (after != NULL) {
		db_param_time(p, (time_t)after->created_at, 0);
		db_param_time(p, (time_t)after->created_at, 0);
		db_param_u64(p, after->id);
		db_param_u64(p, limit);
		return;
	}
	db_param_u64(p, limit);
	db_param_u64(p, offset);
}

/* The exact total alone, one statement, on db (inside a caller's transaction
 * or not). */
static enum aut_err
count_active(struct db *db, uint64_t client_pk, const struct token_filters *f, time_t now,
    uint64_t *total)
{
	const struct db_statement *s =
	    &statements[f->user_id[0] != '\0' ? SQL_COUNT_BY_USER : SQL_COUNT];
	struct db_params p;
	struct db_row r;
	bool more = false;
	enum aut_err err;

	*total = 0;
	db_params_init(&p);
	param_total(&p, client_pk, f, now);
	db_row_init(&r);
	db_col_u64(&r, total);
	err = db_execute(db, s, &p, &r);
	while (err == AUT_OK && (err = db_fetch(db, s, &r, &more)) == AUT_OK && more)
		;
	return err;
}

struct count_job {
	uint64_t client_pk;
	const struct token_filters *filters;
	time_t now;
	uint64_t *total;
};

static enum aut_err
count_work(struct db *db, void *ctx)
{
	const struct count_job *j = ctx;

	return count_active(db, j->client_pk, j->filters, j->now, j->total);
}

enum aut_err
store_count_active(struct store *st, uint64_t client_pk, const struct token_filters *f,
    time_t now, uint64_t *total)
{
	struct count_job job = { client_pk, f, now, total };

	return db_run(st->db, DB_READ, "token count", count_work, &job);
}

/* A deep page of a client's whole list (no user filter), in one snapshot. */
struct deep_page_job {
	struct store *st;
	uint64_t client_pk;
	const struct token_filters *filters;
	time_t now;
	uint64_t offset;
	unsigned int limit;
	uint64_t *total;
	store_row_fn each;
	void *ctx;
};

/*
 * Count, then walk the page index from whichever end is nearer the page.  A
 * page at or past the end has no rows: the count is the answer.
 */
static enum aut_err
deep_page_work(struct db *db, void *ctx)
{
	const struct deep_page_job *j = ctx;
	uint64_t total, from_oldest, page_total;
	unsigned int limit = j->limit;
	struct db_params p;
	bool have_total;
	enum aut_err err;

	err = count_active(db, j->client_pk, j->filters, j->now, &total);
	*j->total = total;
	if (err != AUT_OK || j->offset >= total)
		return err;
	db_params_init(&p);
	if (total - j->offset >= j->offset) {
		param_total_and_filters(&p, j->client_pk, j->filters, j->now);
		param_page(&p, NULL, limit, j->offset);
		return read_list_once(j->st, &statements[SQL_LIST_PAGE_DEEP], &p, &page_total,
		    &have_total, NULL, j->each, j->ctx);
	}
	if (limit > total - j->offset)
		limit = (unsigned int)(total - j->offset);
	from_oldest = total - j->offset - limit;
	db_param_u64(&p, total);
	db_param_u64(&p, j->client_pk);
	db_param_time(&p, j->now, 0);
	param_types(&p, j->filters->token_type);
	param_page(&p, NULL, limit, from_oldest);
	return read_list_once(j->st, &statements[SQL_LIST_PAGE_FROM_END], &p, &page_total,
	    &have_total, NULL, j->each, j->ctx);
}

enum aut_err
store_list_page(struct store *st, uint64_t client_pk, const struct token_filters *f,
    time_t now, uint64_t offset, unsigned int limit, uint64_t *total,
    store_row_fn each, void *ctx)
{
	bool by_user = f->user_id[0] != '\0';
	struct db_params p;

	if (!by_user && offset >= LIST_FROM_END_OFFSET_MIN) {
		struct deep_page_job job = { st, client_pk, f, now, offset, limit, total,
		    each, ctx };

		return db_run(st->db, DB_READ_SNAPSHOT, "token list", deep_page_work, &job);
	}
	db_params_init(&p);
	param_total_and_filters(&p, client_pk, f, now);
	param_page(&p, NULL, limit, offset);
	return read_list(st, by_user ? SQL_LIST_PAGE_BY_USER :
	    offset < LIST_DIRECT_OFFSET_MAX ? SQL_LIST_PAGE : SQL_LIST_PAGE_DEEP, &p,
	    total, each, ctx);
}

enum aut_err
store_list_after(struct store *st, uint64_t client_pk, const struct token_filters *f,
    time_t now, const struct cursor_position *after, unsigned int limit,
    uint64_t *total, store_row_fn each, void *ctx)
{
	bool by_user = f->user_id[0] != '\0';
	struct db_params p;

	db_params_init(&p);
	param_total_and_filters(&p, client_pk, f, now);
	param_page(&p, after, limit, 0);
	return read_list(st, by_user ? SQL_LIST_AFTER_BY_USER : SQL_LIST_AFTER, &p,
	    total, each, ctx);
}

/* A list read together with its authorization, on its way through db_run(). */
struct authorized_list_job {
	struct store *st;
	int which;                          /* SQL_LIST_*_AUTHORIZED */
	struct db_params *p;
	uint64_t *total;
	struct bearer *who;
	bool *served;
	store_row_fn each;
	void *ctx;
};

static enum aut_err
authorized_list_work(struct db *db, void *ctx)
{
	const struct authorized_list_job *j = ctx;

	(void)db;
	return read_list_once(j->st, &statements[j->which], j->p, j->total, j->served, j->who,
	    j->each, j->ctx);
}

enum aut_err
store_list_authorized(struct store *st, const unsigned char hash[32], const char *client_id,
    uint64_t client_pk, const struct token_filters *f, time_t now, uint64_t offset,
    const struct cursor_position *after, unsigned int limit, struct authorization *authz,
    uint64_t *total, store_row_fn each, void *ctx, bool *served)
{
	struct authorized_list_job job;
	struct db_params p;
	enum aut_err err;

	*served = false;
	if (f->user_id[0] != '\0' || (after == NULL && offset >= LIST_DIRECT_OFFSET_MAX))
		return AUT_OK;
	memset(authz, 0, sizeof(*authz));
	db_params_init(&p);
	param_total(&p, client_pk, f, now);
	db_param_u64(&p, client_pk);
	db_param_string(&p, client_id);
	db_param_bytes(&p, hash, 32);
	db_param_time(&p, now, 0);
	db_param_u64(&p, client_pk);
	db_param_time(&p, now, 0);
	param_types(&p, f->token_type);
	param_page(&p, after, limit, offset);
	job = (struct authorized_list_job){ st,
	    after != NULL ? SQL_LIST_AFTER_AUTHORIZED : SQL_LIST_PAGE_AUTHORIZED, &p, total,
	    &authz->who, served, each, ctx };
	/* The first statement of the request, as store_authorize's is. */
	db_request_begins(st->db);
	err = db_run(st->db, DB_READ, statements[job.which].what, authorized_list_work, &job);
	if (err != AUT_OK || !*served) {
		memset(authz, 0, sizeof(*authz));
		*served = false;
		return err;
	}
	authz->token_live = true;
	authz->who.has_user = true;
	authz->who.is_admin = true;
	authz->client_found = true;
	authz->client_pk = client_pk;
	return AUT_OK;
}

enum aut_err
store_cursor_key(struct store *st, unsigned char key[CURSOR_KEY_BYTES])
{
	const struct db_statement *s = &statements[SQL_CURSOR_KEY];
	struct db_params p;
	struct db_row r;
	bool found = false;
	enum aut_err err;

	if (st->have_cursor_key) {
		memcpy(key, st->cursor_key, CURSOR_KEY_BYTES);
		return AUT_OK;
	}
	db_params_init(&p);
	db_row_init(&r);
	db_col_bytes(&r, st->cursor_key, sizeof(st->cursor_key));
	err = db_execute(st->db, s, &p, &r);
	if (err == AUT_OK)
		err = db_fetch_one(st->db, s, &r, &found);
	if (err != AUT_OK)
		return err;
	if (!found || db_col_null(&r, 0) || db_col_length(&r, 0) != CURSOR_KEY_BYTES) {
		log_error("page cursors: no 32-byte key in api_secrets (run autionalctl migrate)");
		return AUT_ERR_INTERNAL;
	}
	st->have_cursor_key = true;
	memcpy(key, st->cursor_key, CURSOR_KEY_BYTES);
	return AUT_OK;
}

/* ---- audit ---------------------------------------------------------------- */

/* The eleven values of one audit row, at time `at`. */
static void
param_audit(struct db_params *p, const struct timespec *at, const struct audit_entry *a)
{
	db_param_time(p, at->tv_sec, at->tv_nsec / 1000);
	db_param_string(p, a->tenant_id);
	db_param_string(p, a->actor);
	db_param_string(p, a->action);
	db_param_string(p, a->client_id);
	db_param_string(p, a->filters_json);
	db_param_u64(p, a->affected);
	db_param_tiny(p, a->dry_run ? 1 : 0);
	db_param_string(p, a->request_id);
	db_param_string_or_null(p, a->client_request_id && a->client_request_id[0]
	    ? a->client_request_id : NULL);
	db_param_u64(p, (uint64_t)a->status);
}

/* Copy a string into a queue field, cut to fit. */
static void
copy_field(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Write the first n queued rows (n is 1 or STORE_AUDIT_BATCH) and drop them. */
static enum aut_err
write_queued(struct store *st, int n)
{
	const struct db_statement *s = &statements[n == 1 ? SQL_AUDIT : SQL_AUDIT_BATCH];
	struct db_params p;
	enum aut_err err;

	db_params_init(&p);
	for (int i = 0; i < n; i++) {
		const struct queued_audit *q = &st->queue[i];
		struct audit_entry a = q->entry;

		a.tenant_id = q->tenant_id;
		a.actor = q->actor;
		a.action = q->action;
		a.client_id = q->client_id;
		a.filters_json = q->filters;
		a.request_id = q->request_id;
		a.client_request_id = q->client_request_id;
		param_audit(&p, &q->at, &a);
	}
	err = db_execute(st->db, s, &p, NULL);
	if (err != AUT_OK)
		return err;
	st->queued -= n;
	memmove(st->queue, st->queue + n, (size_t)st->queued * sizeof(st->queue[0]));
	return AUT_OK;
}

enum aut_err
store_audit_queue(struct store *st, const struct audit_entry *a)
{
	struct queued_audit *q;

	if (st->queued == AUDIT_QUEUE_MAX) {
		/* The database refused the last batches: keep the newest rows. */
		log_error("audit: %d read-audit rows dropped, the database did not take them",
		    STORE_AUDIT_BATCH);
		st->queued -= STORE_AUDIT_BATCH;
		memmove(st->queue, st->queue + STORE_AUDIT_BATCH,
		    (size_t)st->queued * sizeof(st->queue[0]));
	}
	q = &st->queue[st->queued++];
	clock_gettime(CLOCK_REALTIME, &q->at);
	q->entry = *a;
	copy_field(q->tenant_id, sizeof(q->tenant_id), a->tenant_id);
	copy_field(q->actor, sizeof(q->actor), a->actor);
	copy_field(q->action, sizeof(q->action), a->action);
	copy_field(q->client_id, sizeof(q->client_id), a->client_id);
	copy_field(q->filters, sizeof(q->filters), a->filters_json);
	copy_field(q->request_id, sizeof(q->request_id), a->request_id);
	copy_field(q->client_request_id, sizeof(q->client_request_id),
	    a->client_request_id ? a->client_request_id : "");
	return st->queued >= STORE_AUDIT_BATCH && !db_away(st->db) ?
	    write_queued(st, STORE_AUDIT_BATCH) : AUT_OK;
}

bool
store_audit_pending(const struct store *st)
{
	return st->queued > 0;
}

bool
store_audit_can_wait(const struct store *st)
{
	return db_away(st->db);
}

enum aut_err
store_audit_flush(struct store *st)
{
	enum aut_err err = AUT_OK;

	while (err == AUT_OK && st->queued >= STORE_AUDIT_BATCH)
		err = write_queued(st, STORE_AUDIT_BATCH);
	while (err == AUT_OK && st->queued > 0)
		err = write_queued(st, 1);
	return err;
}

/* ---- revocation ------------------------------------------------------------ */

/* One revocation (or one batch of one) on its way through db_run(). */
struct revoke_job {
	struct store *st;
	const struct revocation *r;
	time_t now;
	struct audit_entry *audit;
	uint64_t most;                      /* tokens this transaction may revoke */
	bool later_batch;                   /* not a revocation's first: no row for 0 */
	double give_up;                     /* monotonic time after which no batch is
	                                       begun; 0: none */
	bool unfinished;                    /* this batch was full and give_up had
	                                       passed: the revocation stops after it */
	bool found;
	uint64_t revoked;
};

/* One token by public id: lock it, then revoke it unless revoked already. */
static enum aut_err
revoke_one(struct revoke_job *job)
{
	const struct db_statement *find = &statements[SQL_FIND_TOKEN];
	const struct db_statement *revoke = &statements[SQL_REVOKE_ONE];
	const struct revocation *r = job->r;
	struct db *db = job->st->db;
	struct db_params p;
	struct db_row row;
	signed char unrevoked = 0;
	enum aut_err err;

	db_params_init(&p);
	db_param_bytes(&p, r->token_id, 16);
	db_param_u64(&p, r->client_pk);
	db_row_init(&row);
	db_col_tiny(&row, &unrevoked);
	err = db_execute(db, find, &p, &row);
	if (err == AUT_OK)
		err = db_fetch_one(db, find, &row, &job->found);
	if (err != AUT_OK || !job->found || r->dry_run) {
		job->revoked = job->found && unrevoked ? 1 : 0;
		return err;
	}
	db_params_init(&p);
	db_param_time(&p, job->now, 0);
	db_param_bytes(&p, r->token_id, 16);
	db_param_u64(&p, r->client_pk);
	err = db_execute(db, revoke, &p, NULL);
	if (err == AUT_OK)
		job->revoked = db_affected_rows(db, revoke);
	return err;
}

/* Every active token of the client that passes the filters. */
static enum aut_err
revoke_all(struct revoke_job *job)
{
	const struct revocation *r = job->r;
	bool by_user = r->filters.user_id[0] != '\0';
	const struct db_statement *s = &statements[by_user ? SQL_REVOKE_BY_USER : SQL_REVOKE];
	struct db_params p;
	enum aut_err err;

	if (r->dry_run)
		return count_active(job->st->db, r->client_pk, &r->filters, job->now,
		    &job->revoked);
	db_params_init(&p);
	db_param_time(&p, job->now, 0);
	if (by_user)
		db_param_string(&p, r->filters.user_id);
	db_param_u64(&p, r->client_pk);
	db_param_time(&p, job->now, 0);
	param_types(&p, r->filters.token_type);
	db_param_u64(&p, job->most);
	err = db_execute(job->st->db, s, &p, NULL);
	if (err == AUT_OK)
		job->revoked = db_affected_rows(job->st->db, s);
	return err;
}

static enum aut_err
revoke_work(struct db *db, void *ctx)
{
	struct revoke_job *job = ctx;
	struct audit_entry row;
	enum aut_err err;

	(void)db;
	job->found = true;
	job->revoked = 0;
	job->unfinished = false;
	err = job->r->token_id != NULL ? revoke_one(job) : revoke_all(job);
	if (err != AUT_OK || !job->found)
		return err;   /* no such token: nothing changed, nothing to audit */
	if (job->revoked == 0 && job->later_batch)
		return AUT_OK;   /* the batch after a full one found none left */
	job->audit->affected = job->revoked;
	/* Decided before the row is written, so that the row of the batch a
	 * request stops after says the status the request answers. */
	job->unfinished = job->give_up > 0 && job->revoked == job->most &&
	    db_clock_monotonic() >= job->give_up;
	row = *job->audit;
	if (job->unfinished)
		row.status = job->r->unfinished_status;
	return store_audit_write(job->st, &row);
}

enum aut_err
store_revoke_within(struct store *st, const struct revocation *r, time_t now,
    struct audit_entry *audit, bool *found, uint64_t *revoked)
{
	struct revoke_job job = { .st = st, .r = r, .now = now, .audit = audit,
	    .most = UINT64_MAX };
	enum aut_err err = revoke_work(st->db, &job);

	*found = err == AUT_OK && job.found;
	*revoked = err == AUT_OK ? job.revoked : 0;
	return err;
}

enum aut_err
store_audit_write(struct store *st, const struct audit_entry *audit)
{
	struct db_params p;
	struct timespec at;

	clock_gettime(CLOCK_REALTIME, &at);
	db_params_init(&p);
	param_audit(&p, &at, audit);
	return db_execute(st->db, &statements[SQL_AUDIT], &p, NULL);
}

/* One batch of a revocation by filters: its size fitted to the node first. */
static enum aut_err
revoke_batch_work(struct db *db, void *ctx)
{
	struct revoke_job *job = ctx;
	enum aut_err err = db_batch_fit(db, job->r->batch, DB_WS_ROWS_PER_TOKEN, &job->most);

	return err != AUT_OK ? err : revoke_work(db, job);
}

enum aut_err
store_revoke(struct store *st, const struct revocation *r, time_t now,
    struct audit_entry *audit, bool *found, uint64_t *revoked)
{
	struct revoke_job job = { .st = st, .r = r, .now = now, .audit = audit,
	    .most = UINT64_MAX };
	enum aut_err err;

	*revoked = 0;
	if (r->token_id != NULL || r->dry_run || r->batch == 0) {
		err = db_run(st->db, DB_TRANSACTION, "revocation", revoke_work, &job);
		*found = err == AUT_OK && job.found;
		*revoked = err == AUT_OK ? job.revoked : 0;
		return err;
	}
	/* By filters, in batches: each its own transaction with its own audit
	 * row, until one comes back short. */
	*found = true;
	job.give_up = r->seconds > 0 ? db_clock_monotonic() + r->seconds : 0;
	for (;;) {
		err = db_run(st->db, DB_TRANSACTION, "revocation", revoke_batch_work, &job);
		if (err != AUT_OK)
			return err;
		*revoked += job.revoked;
		if (job.revoked < job.most)
			return AUT_OK;
		job.later_batch = true;
		if (job.unfinished)
			return AUT_ERR_REVOKE_UNFINISHED;
	}
}
