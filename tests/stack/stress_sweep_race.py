#!/usr/bin/env python3
# frontends: lighttpd apache
"""stress_sweep_race.py: repeats the pattern behind a wrong token total seen once in CI.

Not run by default (its name is not test_*.py); run it through the real stack:
    SUITES=stress_sweep_race.py FRONTENDS=lighttpd HARDENING=0 \
      STRESS_MODE=stale STRESS_ROUNDS=50 tests/run
STRESS_MODE picks what one round does, on client cli_counts_sr (test_counts.py's
fixture and helpers):
  stale  (the one that catches it) STRESS_STEPS times: one token written and
         committed on a long-lived session, COUNT(*) of a type, at once the API's
         total of that type, COUNT(*) again; the API must lie between the two (as
         check_totals); half the tokens expire within 1-3 s, and a sweep runs
         alone every 25 steps.  A wrong answer prints the response's timestamp
         and COUNT(*) around it.
  race   test_counts.py's t_sweep_race_load + t_sweep_race_run (writers on 3
         connections, API readers, sweeps and purges; its checks after the race
         and after one more sweep), then the total statement (store.c
         LIST_TOTAL) as literal SQL at every second around now against COUNT(*);
         then SQL readers (a prepared statement and literal SQL) reading the
         total at one fixed instant STRESS_READS times while a sweep runs alone
         (a total at a fixed instant must not move), and the API right after it.
  quiet  STRESS_TOKENS tokens, expired an hour ago or expiring tomorrow, written
         on 3 connections; API readers list every type beside a sweep (and a
         purge every third round): nothing expires meanwhile, so every total must
         equal the one COUNT(*).
Prints a tally after each round and a line per wrong answer; exits 1 if any.
"""

import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
import test_counts as tc  # noqa: E402
from stacklib import Fail, expect, note, sql, summary, test, mariadb_args, SQL_UTC  # noqa: E402

ROUNDS = int(os.environ.get("STRESS_ROUNDS", "10"))
READS = int(os.environ.get("STRESS_READS", "1500"))
MODE = os.environ.get("STRESS_MODE", "stale")
STEPS = int(os.environ.get("STRESS_STEPS", "200"))
QUIET_TOKENS = int(os.environ.get("STRESS_TOKENS", "3000"))
C = "cli_counts_sr"
TYPE_PAIRS = {None: ("access_token", "refresh_token"), "access_token": ("access_token",) * 2,
              "refresh_token": ("refresh_token",) * 2}

# store.c's LIST_TOTAL, the part that makes the total (placeholders in its order:
# client, type, type, client, now, now, type, type).
TOTAL_SQL = ("SELECT CAST((SELECT COALESCE(SUM(live), 0) FROM oauth_token_totals"
             "  WHERE oauth_client_id = ? AND token_type IN (?, ?))"
             " + (SELECT COALESCE(SUM(IF(swept, 1, -1)), 0) FROM oauth_tokens"
             "  WHERE oauth_client_id = ? AND revoked_at IS NULL"
             "    AND ((swept = 0 AND expires_at <= ?) OR (swept = 1 AND expires_at > ?))"
             "    AND token_type IN (?, ?)) AS SIGNED)")

TALLY = {}
PLANS = {}


def bump(what, n=1):
    TALLY[what] = TALLY.get(what, 0) + n


def literal_total_sql(pk, ttype, instant):
    a, b = TYPE_PAIRS[ttype]
    vals = [str(pk), tc.q(a), tc.q(b), str(pk), tc.at(instant), tc.at(instant), tc.q(a), tc.q(b)]
    parts = TOTAL_SQL.split("?")
    return "".join(p + v for p, v in zip(parts, vals)) + parts[-1]


def count_at(ttype, instant):
    w = tc.where(C, ttype)
    return int(sql("SELECT COUNT(*) FROM oauth_tokens t WHERE %s AND t.expires_at > %s"
                   % (w, tc.at(instant)))[0])


def start_fixed_readers(instant):
    """Two mariadb sessions reading the total at `instant` READS times each, type
    any / access / refresh in turn: one by EXECUTE of a prepared statement, one by
    literal SQL.  Both READ COMMITTED, like the program's sessions."""
    pk = tc.PK[C]
    prep = [SQL_UTC, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED;",
            "SET @c = %d, @t = %s, @a = 'access_token', @r = 'refresh_token';" % (pk, tc.at(instant)),
            "PREPARE s FROM %s;" % tc.q(TOTAL_SQL)]
    lit = [SQL_UTC, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED;"]
    order = (None, "access_token", "refresh_token")
    for i in range(READS):
        t = order[i % 3]
        x, y = {None: ("@a", "@r"), "access_token": ("@a", "@a"), "refresh_token": ("@r", "@r")}[t]
        prep.append("EXECUTE s USING @c, %s, %s, @c, @t, @t, %s, %s;" % (x, y, x, y))
        lit.append(literal_total_sql(pk, t, instant) + ";")
    procs = []
    for name, lines in (("prepared", prep), ("literal", lit)):
        path = os.path.join(tc.WORK, "stress-%s.sql" % name)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        procs.append((name, subprocess.Popen(mariadb_args() + ["-e", "source " + path],
                                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)))
    return procs


def finish_fixed_readers(procs, want, rnd):
    order = (None, "access_token", "refresh_token")
    for name, p in procs:
        out, err = p.communicate(timeout=300)
        vals = [l for l in out.decode().split("\n") if l.strip()]
        if p.returncode != 0 or len(vals) != READS:
            bump("reader errors")
            print("# round %d: %s reader exited %d with %d answers: %s"
                  % (rnd, name, p.returncode, len(vals), err.decode()[:300]))
            continue
        bad = [(i, order[i % 3], int(v)) for i, v in enumerate(vals) if int(v) != want[order[i % 3]]]
        bump("fixed-instant answers (%s)" % name, len(vals))
        bump("fixed-instant WRONG (%s)" % name, len(bad))
        for i, t, v in bad[:5]:
            print("# round %d: %s read %d type=%s: %d, COUNT(*) at T %d"
                  % (rnd, name, i, t or "any", v, want[t]))


def explain(ttype, instant):
    out = sql("EXPLAIN " + literal_total_sql(tc.PK[C], ttype, instant))
    plan = " | ".join("\t".join(l.split("\t")[1:7]) for l in out)
    key = ttype or "any"
    if plan not in PLANS.setdefault(key, set()):
        PLANS[key].add(plan)
        note("plan type=%s: %s" % (key, plan))


def differential(rnd, what):
    """The total statement (literal SQL) at each second around now against
    COUNT(*) at that second, per type: nothing writes meanwhile."""
    now = tc.db_now()
    inst = list(range(now - 20, now + 12))
    for t in TYPE_PAIRS:
        want = tc.db_counts_at(C, t, None, inst)
        q = " UNION ALL ".join("SELECT %d, (%s)" % (e, literal_total_sql(tc.PK[C], t, e)) for e in inst)
        got = {int(a): int(b) for a, b in (l.split("\t") for l in sql(q))}
        bad = ["T%+d: %d vs %d" % (e - now, got[e], want[e]) for e in inst if got[e] != want[e]]
        bump("differential instants", len(inst))
        bump("differential WRONG", len(bad))
        if bad:
            print("# round %d %s type=%s: %s" % (rnd, what, t or "any", "; ".join(bad[:6])))


def round_(rnd):
    sql("DELETE FROM oauth_tokens WHERE oauth_client_id = %d" % tc.PK[C])
    tc.RUN = "%s-r%d" % (tc.RUN.split("-r")[0], rnd)
    tc.SR_STATE.clear()
    for name, fn in (("load", tc.t_sweep_race_load), ("race", tc.t_sweep_race_run)):
        try:
            fn()
            bump("%s ok" % name)
        except Fail as e:
            bump("%s FAILED" % name)
            print("# round %d: %s: %s" % (rnd, name, e))
    differential(rnd, "after the race")
    # The writers' tokens expire within 8 s of their last write.
    time.sleep(9)
    instant = tc.db_now()
    want = {t: count_at(t, instant) for t in TYPE_PAIRS}
    for t in TYPE_PAIRS:
        explain(t, instant)
    procs = start_fixed_readers(instant)
    time.sleep(0.2)
    try:
        rep = tc.run_sweep()
        bump("tokens swept in step 2", rep.get("swept", 0))
    except Fail as e:
        bump("sweep FAILED")
        print("# round %d: sweep: %s" % (rnd, e))
    keys = tc.combos([C])
    try:
        tc.check_totals(keys, "round %d: API right after a sweep alone" % rnd)
        bump("API checks ok")
    except Fail as e:
        bump("API checks FAILED")
        print("# %s" % e)
    finish_fixed_readers(procs, want, rnd)
    for t in TYPE_PAIRS:
        got = int(sql(literal_total_sql(tc.PK[C], t, instant))[0])
        bump("literal after", 1)
        if got != want[t]:
            bump("literal after WRONG")
            print("# round %d: literal type=%s after the sweep: %d, COUNT(*) at T %d"
                  % (rnd, t or "any", got, want[t]))


def quiet_round(rnd):
    """Tokens that expired an hour ago (unswept) and tokens that expire tomorrow,
    written on 3 connections; nothing crosses its expiry while API readers list
    every type over and over beside `autionalctl sweep --batch 50` (and a purge
    every third round): every total must equal the one COUNT(*)."""
    pk = tc.PK[C]
    sql("DELETE FROM oauth_tokens WHERE oauth_client_id = %d" % pk)
    tc.RUN = "%s-q%d" % (tc.RUN.split("-r")[0].split("-q")[0], rnd)
    scripts = []
    for k in range(3):
        lines = [SQL_UTC]
        for i in range(QUIET_TOKENS // 3):
            exp = ("UTC_TIMESTAMP() - INTERVAL %d SECOND" % (3600 + i) if i % 2 else
                   "UTC_TIMESTAMP() + INTERVAL 1 DAY")
            lines.append(tc.ins("%s-%d-%d" % (tc.RUN, k, i), C,
                                ("access_token", "refresh_token")[(i // 2) % 2], None, exp, None))
        scripts.append("\n".join(lines) + "\n")
    procs = tc.run_writers(scripts)
    errs = tc.wait_writers(procs)
    if errs:
        bump("quiet load FAILED")
        print("# quiet round %d: load: %s" % (rnd, errs[:4]))
        return
    want = {t: count_at(t, tc.db_now()) for t in TYPE_PAIRS}
    with QuietReaders(want) as rd:
        time.sleep(0.1)
        try:
            tc.run_sweep(50)
            if rnd % 3 == 0:
                tc.run_purge("0")
        except Fail as e:
            bump("quiet sweep FAILED")
            print("# quiet round %d: %s" % (rnd, e))
    bump("quiet API answers", rd.count)
    bump("quiet API WRONG", len(rd.wrong))
    for w in rd.wrong[:5]:
        print("# quiet round %d: %s" % (rnd, w))
    after = {t: count_at(t, tc.db_now()) for t in TYPE_PAIRS}
    if after != want:
        bump("quiet COUNT moved")
        print("# quiet round %d: COUNT(*) moved: %s -> %s" % (rnd, want, after))


class QuietReaders(tc.Readers):
    """test_counts' reader threads, each answer checked against the one want."""

    def __init__(self, want, n=2):
        super().__init__([C], n)
        self.want, self.wrong = want, []

    def run(self, i):
        order = list(TYPE_PAIRS)
        k = i
        while not self.stop.is_set():
            t = order[k % 3]
            k += 1
            st, j, body = tc.api_get(C, t, None, 1, 1)
            with self.lock:
                self.count += 1
                if st != 200 or not isinstance(j, dict) or j.get("total") != self.want[t]:
                    self.wrong.append("type=%s: %d %s, COUNT(*) %d at %.3f" % (
                        t or "any", st, body[:80], self.want[t], time.time()))


class Session:
    """One long-lived mariadb client session (stdin/stdout), for statements
    that must be committed before the next API request goes out."""

    def __init__(self):
        self.p = subprocess.Popen(mariadb_args() + ["--unbuffered"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.n = 0
        self.run(SQL_UTC)

    def run(self, text):
        """Runs text, then returns the output lines up to a marker."""
        self.n += 1
        mark = "mark-%d" % self.n
        self.p.stdin.write((text + "\nSELECT '%s';\n" % mark).encode())
        self.p.stdin.flush()
        out = []
        while True:
            l = self.p.stdout.readline()
            if not l:
                raise Fail("mariadb session ended: %s" % self.p.stderr.read()[:300])
            l = l.decode().rstrip("\n")
            if l == mark:
                return out
            out.append(l)

    def close(self):
        self.p.stdin.close()
        self.p.wait(30)


def stale_round(rnd, sess):
    """A write committed, then at once the API total of one type: each answer
    must lie between COUNT(*) just before and just after it (as check_totals).
    Tokens are written expiring within 1-3 s or in a day; every 25 steps a
    sweep runs alone first, as in the check that failed in CI."""
    types = list(TYPE_PAIRS)
    pk = tc.PK[C]
    for step in range(STEPS):
        i = rnd * STEPS + step
        t = types[step % 3]
        exp = ("UTC_TIMESTAMP() + INTERVAL %d SECOND" % (1 + i % 3)) if i % 2 else \
            "UTC_TIMESTAMP() + INTERVAL 1 DAY"
        w = tc.ins("%s-st-%d" % (tc.RUN, i), C, ("access_token", "refresh_token")[(i // 3) % 2],
                   None, exp, None)
        if step % 25 == 0:
            try:
                tc.run_sweep()
                bump("stale sweeps")
            except Fail as e:
                bump("stale sweep FAILED")
                print("# stale round %d: %s" % (rnd, e))
        cnt = ("SELECT COUNT(*) FROM oauth_tokens t WHERE %s AND t.expires_at > UTC_TIMESTAMP();"
               % tc.where(C, t))
        before = int(sess.run(w + cnt)[0])
        st, j, body = tc.api_get(C, t, None, 1, 1)
        after = int(sess.run(cnt)[0])
        bump("stale API answers")
        api = j.get("total") if st == 200 and isinstance(j, dict) else None
        if api is None or not before >= api >= after:
            bump("stale API WRONG")
            print("# stale round %d step %d type=%s: api %s, COUNT(*) %d..%d, %s"
                  % (rnd, step, t or "any", api, before, after, body[:100]))
            # once more, and what the total was at the instant the API names
            st2, j2, _ = tc.api_get(C, t, None, 1, 1)
            ts = j.get("timestamp", "") if isinstance(j, dict) else ""
            at = int(sql("SELECT UNIX_TIMESTAMP(%s)" % tc.q(ts.replace("T", " ").rstrip("Z")))[0]) \
                if ts else tc.db_now()
            inst = [at - 3, at - 2, at - 1, at, at + 1]
            cnts = tc.db_counts_at(C, t, None, inst)
            print("#   again: %s; API timestamp %s (db now %d, T%+d); COUNT(*) at T-3..T+1: %s;"
                  " literal at T: %s" % (j2.get("total") if j2 else st2, ts, tc.db_now(),
                                         at - tc.db_now(), [cnts[e] for e in inst],
                                         sql(literal_total_sql(pk, t, at))))


def t_stress():
    t0 = time.time()
    if MODE == "stale":
        sql("DELETE FROM oauth_tokens WHERE oauth_client_id = %d" % tc.PK[C])
        sess = Session()
        try:
            for rnd in range(ROUNDS):
                stale_round(rnd, sess)
                note("stale round %d done after %.0f s: %s" % (rnd + 1, time.time() - t0, ", ".join(
                    "%s %d" % kv for kv in sorted(TALLY.items()))))
        finally:
            sess.close()
        wrong = {k: v for k, v in TALLY.items() if ("WRONG" in k or "FAILED" in k) and v}
        expect(not wrong, "wrong answers in %d stale rounds: %s" % (ROUNDS, wrong))
        return
    if MODE == "quiet":
        for rnd in range(1, ROUNDS + 1):
            quiet_round(rnd)
            if rnd % 10 == 0 or rnd == ROUNDS:
                note("quiet round %d done after %.0f s: %s" % (rnd, time.time() - t0, ", ".join(
                    "%s %d" % kv for kv in sorted(TALLY.items()))))
        wrong = {k: v for k, v in TALLY.items() if ("WRONG" in k or "FAILED" in k or "moved" in k) and v}
        expect(not wrong, "wrong answers in %d quiet rounds: %s" % (ROUNDS, wrong))
        return
    for rnd in range(1, ROUNDS + 1):
        round_(rnd)
        note("round %d done after %.0f s: %s" % (rnd, time.time() - t0,
                                                 ", ".join("%s %d" % kv for kv in sorted(TALLY.items()))))
    wrong = {k: v for k, v in TALLY.items() if ("WRONG" in k or "FAILED" in k or "errors" in k) and v}
    expect(not wrong, "wrong answers in %d rounds: %s" % (ROUNDS, wrong))


def main():
    test("fixture (test_counts.py's)", tc.t_fixture)
    test("sweep race, %d rounds" % ROUNDS, t_stress)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
