/*
 * insert_rate.c: token INSERT rate, written the way an authorization server
 * writes tokens: one prepared single-row INSERT per token, autocommit, N
 * connections in parallel.
 *
 * insert_rate -S SOCKET -u USER -D DATABASE -c CLIENT_ROW_ID
 *             [-U FIRST_USER_ROW_ID -n USERS] [-t THREADS] [-i INSERTS_PER_THREAD]
 *             [-s SEED]
 *
 * Half of the tokens are access tokens (expiry now + 1 h: every writer hits the
 * same expiry hour, the worst case for per-hour counters), half refresh tokens
 * (now + 30 days).  token_hash is 32 pseudo-random bytes, unique per (seed,
 * thread, i): what SHA-256 of a random token text looks like.
 *
 * Prints one line:  inserts=N seconds=S conflicts=C rate=R   (R = committed
 * inserts per second, wall clock from the moment all connections are ready
 * until the last one finishes).  C counts INSERTs refused with 1213
 * (ER_LOCK_DEADLOCK: on a Galera cluster, a certification conflict with a
 * write of another node); each is counted and the writer goes on, any other
 * error stops the run.
 *
 * Build: cc -O2 -pthread -o insert_rate insert_rate.c $(pkg-config --cflags --libs libmariadb)
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>

static const char *opt_socket, *opt_user, *opt_db;
static unsigned long long opt_client, opt_user_first, opt_users;
static long opt_threads = 4, opt_inserts = 20000;
static unsigned long long opt_seed = 1;

static pthread_barrier_t ready;

struct worker {
	long id;
	int failed;
	long conflicts;     /* INSERTs refused with 1213 */
	pthread_t thread;
};

static const char sql[] =
    "INSERT INTO oauth_tokens"
    " (token_hash, token_type, oauth_client_id, user_id, scope, created_at, expires_at)"
    " VALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP(), UTC_TIMESTAMP() + INTERVAL ? SECOND)";

static uint64_t
splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *
run(void *arg)
{
	struct worker *w = arg;
	MYSQL *db = mysql_init(NULL);
	MYSQL_STMT *st = NULL;
	MYSQL_BIND p[6];
	unsigned char hash[32];
	unsigned long hash_len = 32, type_len, scope_len;
	char type[16], scope[64];
	unsigned long long client = opt_client, user = 0;
	long long ttl = 0;
	/* my_bool in MariaDB's headers */
	__typeof__(*((MYSQL_BIND *)0)->is_null) user_null = 0;
	uint64_t rng = opt_seed * 0x100000001b3ULL + (uint64_t)w->id * 0x9e3779b9ULL;
	int ok = db != NULL &&
	    mysql_real_connect(db, NULL, opt_user, NULL, opt_db, 0, opt_socket, 0) != NULL;

	if (ok) {
		st = mysql_stmt_init(db);
		ok = st != NULL && mysql_stmt_prepare(st, sql, sizeof(sql) - 1) == 0;
	}
	if (!ok)
		fprintf(stderr, "insert_rate: thread %ld: %s\n", w->id,
		    st ? mysql_stmt_error(st) : db ? mysql_error(db) : "out of memory");

	memset(p, 0, sizeof(p));
	p[0].buffer_type = MYSQL_TYPE_BLOB;
	p[0].buffer = hash;
	p[0].buffer_length = sizeof(hash);
	p[0].length = &hash_len;
	p[1].buffer_type = MYSQL_TYPE_STRING;
	p[1].buffer = type;
	p[1].length = &type_len;
	p[2].buffer_type = MYSQL_TYPE_LONGLONG;
	p[2].buffer = &client;
	p[2].is_unsigned = 1;
	p[3].buffer_type = MYSQL_TYPE_LONGLONG;
	p[3].buffer = &user;
	p[3].is_unsigned = 1;
	p[3].is_null = &user_null;
	p[4].buffer_type = MYSQL_TYPE_STRING;
	p[4].buffer = scope;
	p[4].length = &scope_len;
	p[5].buffer_type = MYSQL_TYPE_LONGLONG;
	p[5].buffer = &ttl;
	if (ok && mysql_stmt_bind_param(st, p) != 0) {
		fprintf(stderr, "insert_rate: bind: %s\n", mysql_stmt_error(st));
		ok = 0;
	}

	pthread_barrier_wait(&ready);          /* everyone connected: go */
	for (long i = 0; ok && i < opt_inserts; i++) {
		for (int k = 0; k < 4; k++) {
			uint64_t r = splitmix64(&rng);
			memcpy(hash + 8 * k, &r, 8);
		}
		/* Unique whatever the generator does: thread and counter in bytes 0..7. */
		uint64_t tag = ((uint64_t)w->id << 48) ^ (uint64_t)i ^ (opt_seed << 40);
		memcpy(hash, &tag, 8);
		if (i % 2 == 0) {
			strcpy(type, "access_token");
			ttl = 3600;
		} else {
			strcpy(type, "refresh_token");
			ttl = 30L * 86400;
		}
		type_len = strlen(type);
		strcpy(scope, i % 3 ? "openid profile email offline_access" : "openid profile");
		scope_len = strlen(scope);
		if (opt_users > 0) {
			user = opt_user_first + splitmix64(&rng) % opt_users;
			user_null = 0;
		} else {
			user_null = 1;
		}
		if (mysql_stmt_execute(st) != 0 && mysql_stmt_errno(st) == 1213) {
			w->conflicts++;
		} else if (mysql_stmt_errno(st) != 0) {
			fprintf(stderr, "insert_rate: thread %ld insert %ld: %u %s\n", w->id, i,
			    mysql_stmt_errno(st), mysql_stmt_error(st));
			ok = 0;
		}
	}
	w->failed = !ok;
	if (st != NULL)
		mysql_stmt_close(st);
	if (db != NULL)
		mysql_close(db);
	mysql_thread_end();
	return NULL;
}

int
main(int argc, char **argv)
{
	int c, failed = 0;
	long conflicts = 0;

	while ((c = getopt(argc, argv, "S:u:D:c:U:n:t:i:s:")) != -1) {
		switch (c) {
		case 'S': opt_socket = optarg; break;
		case 'u': opt_user = optarg; break;
		case 'D': opt_db = optarg; break;
		case 'c': opt_client = strtoull(optarg, NULL, 10); break;
		case 'U': opt_user_first = strtoull(optarg, NULL, 10); break;
		case 'n': opt_users = strtoull(optarg, NULL, 10); break;
		case 't': opt_threads = strtol(optarg, NULL, 10); break;
		case 'i': opt_inserts = strtol(optarg, NULL, 10); break;
		case 's': opt_seed = strtoull(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: %s -S socket -u user -D db -c client_row_id"
			    " [-U first_user_id -n users] [-t threads] [-i inserts] [-s seed]\n",
			    argv[0]);
			return 2;
		}
	}
	if (opt_socket == NULL || opt_db == NULL || opt_client == 0 ||
	    opt_threads < 1 || opt_threads > 256 || opt_inserts < 1) {
		fprintf(stderr, "insert_rate: -S, -D and -c are required\n");
		return 2;
	}
	if (mysql_library_init(0, NULL, NULL) != 0)
		return 1;

	struct worker *w = calloc((size_t)opt_threads, sizeof(*w));
	if (w == NULL)
		return 1;
	pthread_barrier_init(&ready, NULL, (unsigned)opt_threads + 1);
	for (long i = 0; i < opt_threads; i++) {
		w[i].id = i;
		if (pthread_create(&w[i].thread, NULL, run, &w[i]) != 0)
			return 1;
	}
	pthread_barrier_wait(&ready);
	double start = now_s();
	for (long i = 0; i < opt_threads; i++) {
		pthread_join(w[i].thread, NULL);
		failed |= w[i].failed;
		conflicts += w[i].conflicts;
	}
	double secs = now_s() - start;
	long total = opt_threads * opt_inserts;

	free(w);
	mysql_library_end();
	if (failed) {
		fprintf(stderr, "insert_rate: a connection failed; no rate\n");
		return 1;
	}
	printf("inserts=%ld seconds=%.3f conflicts=%ld rate=%.0f\n", total - conflicts, secs,
	    conflicts, (double)(total - conflicts) / secs);
	return 0;
}
