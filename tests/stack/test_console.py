#!/usr/bin/python3
# frontends: lighttpd lighttpd_spawn lighttpd_sockact apache nginx_spawnfcgi nginx_systemd
"""test_console.py: the admin console (issue 13, part 2) in a real browser.

Debian's chromium, driven headless by chromium-driver through python3-selenium
(hence /usr/bin/python3: Debian's selenium lives there), loads the console from
BASE_URL/admin/console/ as the front end under test serves it with its shipped
configuration, signs in with the demo token demo-acme-admin (sql/demo.sql plus a
client whose id and scopes hold HTML), pages, filters, revokes one token and all
matching tokens after the dry run's count, and then checks in SQL and through the
API that exactly those tokens were revoked.  It also checks that a 401 and a 404
show the API's message and request id, that an injected inline script does not
run under the Content-Security-Policy, that HTML in a client id or scope is shown
as text, that the bearer token never reaches a URL, a cookie or the web server's
logs, keyboard-only use, labels, and a 360 px wide screen.

Environment (tests/run, read by stacklib.py): BASE_URL, DB_SOCKET, DB_NAME,
DB_USER, APP_LOG (the program's log; the front end's other logs sit next to
it), WORK, SRCDIR.
CONSOLE_SCREENSHOT=FILE also copies the screenshot (WORK/console.png) there:
  CONSOLE_SCREENSHOT=$PWD/docs/console.png SUITES=test_console.py FRONTENDS=lighttpd tests/run

The front ends in the "# frontends:" line above are those this suite has been
run through; every shipped configuration serves the console.  Prints
"ok - name" / "not ok - name: why" per check, then "N passed, N failed".
"""

import glob
import hashlib
import html.parser
import json
import os
import re
import shutil
import sys
import tempfile
import time
import urllib.parse

sys.dont_write_bytecode = True
from stacklib import (APP_LOG, BASE_URL, SRCDIR, RID_RE, WORK, Fail, expect,  # noqa: E402
                      log_lines_with, note, q, request, require, sql, summary, test)

WORK = WORK or tempfile.mkdtemp(prefix="test_console.")
SCREENSHOT_COPY = os.environ.get("CONSOLE_SCREENSHOT", "")

CONSOLE = "/admin/console/"
ADMIN = "demo-acme-admin"                 # sql/demo.sql: admin of ten_acme
BAD_TOKEN = "console-not-a-token-7f3a9c"  # unknown: the API answers 401
BULK = "acme-bulk"                        # 137 active tokens
OTHER_TENANT = "globex-web"               # ten_globex's: 404 for Acme's admin
# No "/" in it: Apache answers an encoded slash in a path itself (AllowEncodedSlashes Off).
HTML_CLIENT = '<img src=x onerror="window.__xss=1"><b>bold<b>&amp;'
HTML_SCOPE = '<script>window.__xss=2</script><i onmouseover="window.__xss=3">openid</i>'
SECRETS = [ADMIN, BAD_TOKEN]
WAIT = 20

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1200,900"]

URLS_SEEN = set()   # every URL the browser showed or fetched
INJECTED_LOG = []   # [first, end) of the browser's messages that the deliberate injection caused


# ---------------------------------------------------------------- database and API

def token_states():
    """{token id: revoked_at or None} of every token of the demo tenants."""
    out = sql("SELECT CONCAT('tok_', LOWER(HEX(t.public_id))), COALESCE(t.revoked_at, '-')"
              " FROM oauth_tokens t JOIN oauth_clients c ON c.id = t.oauth_client_id"
              " JOIN tenants n ON n.id = c.tenant_id WHERE n.public_id IN ('ten_acme', 'ten_globex')")
    return {a: (None if b == "-" else b) for a, b in (line.split("\t") for line in out)}


def active_ids(client, user=None, ttype=None):
    """Active token ids of a client, newest first, as the list orders them."""
    w = ("c.client_id = %s AND t.revoked_at IS NULL AND t.expires_at > UTC_TIMESTAMP()" % q(client))
    if user:
        w += " AND u.public_id = %s" % q(user)
    if ttype:
        w += " AND t.token_type = %s" % q(ttype)
    return sql("SELECT CONCAT('tok_', LOWER(HEX(t.public_id))) FROM oauth_tokens t"
               " JOIN oauth_clients c ON c.id = t.oauth_client_id LEFT JOIN users u ON u.id = t.user_id"
               " WHERE " + w + " ORDER BY t.created_at DESC, t.id DESC")


def audit_since(last_id):
    out = sql("SELECT action, actor, client_id, affected, dry_run, request_id FROM audit_events"
              " WHERE id > %d AND action <> 'tokens.list' ORDER BY id" % last_id)
    return [line.split("\t") for line in out]


def audit_max():
    return int(sql("SELECT COALESCE(MAX(id), 0) FROM audit_events")[0])


def http_get(method, path, token=None):
    """(status, {lower-case header: value}, body bytes) of one request to BASE_URL."""
    r = request(method, path, auth=token)
    expect(r.parse_error is None, r.describe())
    return r.status, {n.lower(): v for n, v in r.headers}, r.body


def api_list(client, token=ADMIN, **params):
    path = "/admin/oauth/clients/%s/tokens" % urllib.parse.quote(client, safe="")
    if params:
        path += "?" + urllib.parse.urlencode(params)
    status, headers, body = http_get("GET", path, token)
    return status, headers, json.loads(body)


def api_ids(client, **params):
    status, _, body = api_list(client, **params)
    expect(status == 200, "API list %s %r: status %d %s" % (client, params, status, body))
    return [it["id"] for it in body["items"]], body


# ---------------------------------------------------------------- fixture

def extra_fixture():
    """A client of ten_acme whose id and token scopes hold HTML (sql/demo.sql removes it on reload)."""
    return """
SET NAMES utf8mb4;
INSERT INTO oauth_clients (client_id, tenant_id, name)
  SELECT %(client)s, id, 'console: HTML in the id' FROM tenants WHERE public_id = 'ten_acme';
INSERT INTO oauth_tokens (token_hash, token_type, oauth_client_id, user_id, scope, created_at, expires_at)
  SELECT UNHEX(SHA2(CONCAT('console-html-', n.k), 256)), 'access_token', c.id, u.id, %(scope)s,
         UTC_TIMESTAMP() - INTERVAL n.k MINUTE, UTC_TIMESTAMP() + INTERVAL 1 DAY
    FROM oauth_clients c, users u, (SELECT 1 AS k UNION ALL SELECT 2) n
   WHERE c.client_id = %(client)s AND u.public_id = 'usr_acme_member';
""" % {"client": q(HTML_CLIENT), "scope": q(HTML_SCOPE)}


def t_fixture():
    with open(os.path.join(SRCDIR, "sql", "demo.sql"), "rb") as f:
        sql(None, stdin=f.read())
    sql(None, stdin=extra_fixture().encode())
    expect(len(active_ids(BULK)) == 137, "acme-bulk has %d active tokens, want 137" % len(active_ids(BULK)))


# ---------------------------------------------------------------- HTTP checks (no browser)

def csp_directives(value):
    out = {}
    for part in value.split(";"):
        words = part.split()
        if words:
            out[words[0].lower()] = words[1:]
    return out


def t_headers():
    for path, ctype in ((CONSOLE, "text/html"), (CONSOLE + "console.js", "text/javascript"),
                        (CONSOLE + "console.css", "text/css")):
        status, h, body = http_get("GET", path)
        expect(status == 200, "%s: status %d" % (path, status))
        expect(h.get("content-type", "").startswith(ctype), "%s: Content-Type %r" % (path, h.get("content-type")))
        expect(h.get("x-content-type-options", "").lower() == "nosniff", "%s: X-Content-Type-Options %r"
               % (path, h.get("x-content-type-options")))
        csp = h.get("content-security-policy", "")
        d = csp_directives(csp)
        expect(d.get("default-src") == ["'self'"], "%s: default-src in %r" % (path, csp))
        expect(d.get("frame-ancestors") == ["'none'"], "%s: frame-ancestors in %r" % (path, csp))
        for name, sources in d.items():
            expect(not any(s.lower() in ("'unsafe-inline'", "'unsafe-eval'", "*", "data:") for s in sources),
                   "%s: %s allows %r" % (path, name, sources))
            expect(name not in ("script-src", "style-src", "script-src-elem", "style-src-attr",
                                "script-src-attr", "style-src-elem"),
                   "%s: %s overrides default-src: %r" % (path, name, csp))
        if path == CONSOLE:
            with open(os.path.join(SRCDIR, "console", "index.html"), "rb") as f:
                expect(body == f.read(), "%s is not console/index.html" % path)


def t_api_still_served():
    status, h, body = api_list(BULK, page_size=1)
    expect(status == 200 and body.get("total") == 137, "API next to the console: %d %r" % (status, body))
    expect("content-security-policy" not in h, "the API's answers got the console's CSP")


class PageScan(html.parser.HTMLParser):
    """Collects what the CSP forbids or what would load code from elsewhere."""

    def __init__(self):
        super().__init__()
        self.problems = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and not a.get("src"):
            self.problems.append("inline <script>")
        if tag == "style":
            self.problems.append("<style> element")
        for k, v in attrs:
            if k == "style" or k.startswith("on"):
                self.problems.append("%s attribute on <%s>" % (k, tag))
            if k in ("src", "href", "action") and v and re.match(r"^([a-z]+:|//)", v, re.I):
                self.problems.append("%s=%r on <%s>" % (k, v, tag))


def t_static_source():
    files = sorted(glob.glob(os.path.join(SRCDIR, "console", "*")))
    names = [os.path.basename(f) for f in files]
    expect(names == ["console.css", "console.js", "index.html"], "console/ holds %r" % names)
    scan = PageScan()
    with open(os.path.join(SRCDIR, "console", "index.html"), encoding="utf-8") as f:
        scan.feed(f.read())
    expect(not scan.problems, "index.html: %s" % "; ".join(scan.problems))
    with open(os.path.join(SRCDIR, "console", "console.js"), encoding="utf-8") as f:
        js = f.read()
    for bad in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "localStorage",
                "document.cookie"):
        expect(bad not in js, "console.js uses %s" % bad)
    for name in names:
        with open(os.path.join(SRCDIR, "console", name), encoding="utf-8") as f:
            text = f.read()
        found = re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.I)
        expect(not found, "%s names other sites: %r" % (name, found))
        expect("@import" not in text and "@font-face" not in text, "%s loads fonts or styles" % name)


# ---------------------------------------------------------------- the browser

class Browser:
    def __init__(self):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        self.profile = tempfile.mkdtemp(prefix="profile.", dir=WORK)
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for flag in CHROMIUM_FLAGS + ["--user-data-dir=" + self.profile]:
            opts.add_argument(flag)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(CHROMEDRIVER, log_path=os.path.join(WORK, "chromedriver.log"))
        self.driver = webdriver.Chrome(service=service, options=opts)
        self.driver.set_page_load_timeout(60)
        self.log = []

    def quit(self):
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def console_messages(self):
        self.log += self.driver.get_log("browser")
        return self.log

    def remember_urls(self):
        URLS_SEEN.add(self.driver.current_url)
        for name in self.js("return performance.getEntries().map(e => e.name)") or []:
            URLS_SEEN.add(name)


B = None  # the one Browser of this run

UI_STATE = r"""
const $ = (id) => document.getElementById(id);
const a = document.activeElement;
const dlg = $('confirm-dialog');
return {
  summary: $('summary').textContent,
  ids: Array.from(document.querySelectorAll('#tokens-body tr[data-token-id]')).map(r => r.getAttribute('data-token-id')),
  error: $('error').hidden ? null : $('error-text').textContent,
  rid: $('error-request-id').textContent,
  status: $('status').textContent,
  signedIn: !$('signed-in').hidden,
  tokensShown: !$('tokens-panel').hidden,
  dialogOpen: dlg.open,
  dialogTitle: $('confirm-title').textContent,
  dialogText: $('confirm-text').textContent,
  okLabel: $('confirm-ok').textContent,
  active: a ? (a.id || a.getAttribute('data-key') || a.getAttribute('data-revoke') || a.tagName) : null,
  activeKey: a ? a.getAttribute('data-key') : null,
  activeRevoke: a ? a.getAttribute('data-revoke') : null,
};
"""


def ui():
    return B.js(UI_STATE)


def wait_ui(cond, what, timeout=WAIT):
    deadline = time.time() + timeout
    state = None
    while time.time() < deadline:
        state = ui()
        try:
            if cond(state):
                return state
        except (KeyError, TypeError, IndexError):
            pass
        time.sleep(0.1)
    raise Fail("%s: not seen within %ds; the page shows %s" % (what, timeout, short_state(state)))


def short_state(s):
    if not s:
        return "nothing"
    s = dict(s)
    ids = s.pop("ids")
    s["ids"] = "%d rows%s" % (len(ids), (", first " + ids[0]) if ids else "")
    return json.dumps(s)


def blank_list():
    """Empties the summary, rows and messages, so the next answer is seen as new."""
    B.js("document.getElementById('summary').textContent = '';"
         "document.getElementById('tokens-body').replaceChildren();"
         "document.getElementById('status').textContent = '';"
         "document.getElementById('error').hidden = true;")


def by_id(element_id):
    from selenium.webdriver.common.by import By
    return B.driver.find_element(By.ID, element_id)


def click(element_id):
    by_id(element_id).click()


def type_into(element_id, text):
    e = by_id(element_id)
    e.clear()
    if text:
        e.send_keys(text)


def summary_total(s):
    m = re.match(r"^(\d+) active tokens?", s["summary"])
    return int(m.group(1)) if m else None


def load_console():
    B.driver.get(BASE_URL + CONSOLE)
    B.remember_urls()


def sign_in(token):
    s = ui()
    if s["signedIn"]:
        click("signout-button")
    type_into("token-input", token)
    click("signin-button")
    wait_ui(lambda s: s["signedIn"], "signed in")


def open_client(client, expect_rows=True):
    blank_list()
    type_into("client-input", client)
    click("client-button")
    if expect_rows:
        return wait_ui(lambda s: s["summary"] != "", "the list of %s" % client)
    return wait_ui(lambda s: s["error"], "an error for %s" % client)


def set_filters(user="", ttype="", page_size="20", mode="pages"):
    from selenium.webdriver.support.ui import Select
    type_into("user-filter", user)
    Select(by_id("type-filter")).select_by_value(ttype)
    Select(by_id("page-size")).select_by_value(page_size)
    click("mode-" + mode)
    blank_list()
    click("filter-button")
    return wait_ui(lambda s: s["summary"] != "", "the filtered list")


def pager_click(key):
    from selenium.webdriver.common.by import By
    blank_list()
    B.driver.find_element(By.CSS_SELECTOR, '#pager [data-key="%s"]' % key).click()


def press(*keys):
    from selenium.webdriver.common.action_chains import ActionChains
    chain = ActionChains(B.driver)
    for k in keys:
        chain.send_keys(k)
    chain.perform()


# ---------------------------------------------------------------- browser checks

def t_browser_starts():
    global B
    for path in (CHROMIUM, CHROMEDRIVER):
        expect(os.access(path, os.X_OK), "%s missing: install chromium and chromium-driver" % path)
    B = Browser()
    load_console()
    s = wait_ui(lambda s: s["active"] == "token-input", "the sign-in field focused at load")
    expect(not s["signedIn"] and not s["tokensShown"], "a fresh tab is signed in: %s" % short_state(s))
    errors = [m["message"] for m in B.console_messages() if m["level"] == "SEVERE"
              and "favicon" not in m["message"]]
    expect(not errors, "errors while loading: %r" % errors)


def t_labels():
    missing = B.js(r"""
      const out = [];
      for (const e of document.querySelectorAll('input, select, textarea, button')) {
        let name = e.getAttribute('aria-label') || '';
        if (!name && e.labels) name = Array.from(e.labels).map(l => l.textContent).join(' ');
        if (!name && e.getAttribute('aria-labelledby'))
          name = e.getAttribute('aria-labelledby').split(' ').map(i => (document.getElementById(i) || {}).textContent || '').join(' ');
        if (!name && e.tagName === 'BUTTON') name = e.textContent;
        if (!name.trim() && !(e.id === 'confirm-ok')) out.push(e.tagName + '#' + e.id);
      }
      return out;""")
    expect(missing == [], "controls without a label: %r" % missing)


def t_keyboard():
    from selenium.webdriver.common.keys import Keys
    expect(ui()["active"] == "token-input", "focus is not on the token field at load")
    press(ADMIN, Keys.ENTER)
    s = wait_ui(lambda s: s["signedIn"] and s["active"] == "client-input",
                "Enter signs in and moves to the client field")
    press(BULK, Keys.ENTER)
    page1, _ = api_ids(BULK, page=1)
    wait_ui(lambda s: s["ids"] == page1, "Enter opens acme-bulk's first page")
    # Tab forward to the pager's Next (through filters and every row's button).
    for _ in range(80):
        if ui()["activeKey"] == "next":
            break
        press(Keys.TAB)
    expect(ui()["activeKey"] == "next", "Tab never reached the Next button; focus on %s" % ui()["active"])
    page2, _ = api_ids(BULK, page=2)
    press(Keys.ENTER)
    s = wait_ui(lambda s: s["ids"] == page2 and "page 2 of 7" in s["summary"], "Enter on Next shows page 2")
    expect(s["activeKey"] == "next", "focus left the Next button after paging: %s" % s["active"])
    # Back (Shift+Tab) to a row's Revoke button; Enter opens the dialog, Escape cancels.
    for _ in range(40):
        if ui()["activeRevoke"]:
            break
        press(Keys.SHIFT + Keys.TAB)
    s = ui()
    victim = s["activeRevoke"]
    expect(victim in page2, "Shift+Tab did not reach a Revoke button: %s" % s["active"])
    before = token_states()
    press(Keys.ENTER)
    s = wait_ui(lambda s: s["dialogOpen"], "Enter on Revoke opens the confirmation")
    expect(victim in s["dialogText"], "the confirmation does not name %s: %r" % (victim, s["dialogText"]))
    expect(s["active"] == "confirm-cancel", "focus in the dialog is on %s, not Cancel" % s["active"])
    press(Keys.ESCAPE)
    s = wait_ui(lambda s: not s["dialogOpen"], "Escape closes the confirmation")
    expect(s["activeRevoke"] == victim, "focus did not return to the Revoke button: %s" % s["active"])
    expect(token_states() == before, "cancelling with Escape changed tokens")
    # A visible focus ring on the focused control.
    outline = B.js("const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth];")
    expect(outline[0] != "none" and outline[1] != "0px", "the focused button shows no outline: %r" % outline)


def t_token_storage():
    s = B.js("""return {session: Object.keys(sessionStorage).map(k => sessionStorage.getItem(k)),
                 local: Object.keys(localStorage).map(k => localStorage.getItem(k)),
                 cookie: document.cookie};""")
    expect(ADMIN in s["session"], "the token is not in sessionStorage")
    expect(not any(ADMIN in v for v in s["local"]), "the token is in localStorage")
    expect(s["cookie"] == "", "the page has cookies: %r" % s["cookie"])
    cookies = B.driver.get_cookies()
    expect(not any(ADMIN in json.dumps(c) for c in cookies), "a cookie holds the token")
    expect(ADMIN not in B.js("return document.documentElement.outerHTML"), "the token is in the page's DOM")
    B.remember_urls()


def t_list_total():
    pager_click("first")
    page1, body = api_ids(BULK, page=1)
    s = wait_ui(lambda s: s["ids"] == page1, "page 1 after First")
    db = len(active_ids(BULK))
    expect(summary_total(s) == body["total"] == db == 137,
           "total shown %r, API %r, SQL %d" % (summary_total(s), body["total"], db))
    expect("page 1 of 7" in s["summary"], "summary %r" % s["summary"])


def t_page_numbers():
    ids, _ = api_ids(BULK, page=7)
    pager_click("last")
    s = wait_ui(lambda s: s["ids"] == ids, "Last shows page 7")
    expect(len(ids) == 17 and "page 7 of 7" in s["summary"], "page 7: %d rows, %r" % (len(ids), s["summary"]))
    ids, _ = api_ids(BULK, page=6)
    pager_click("prev")
    wait_ui(lambda s: s["ids"] == ids and "page 6 of 7" in s["summary"], "Previous shows page 6")
    ids, _ = api_ids(BULK, page=4)
    pager_click("page-4")
    wait_ui(lambda s: s["ids"] == ids and "page 4 of 7" in s["summary"], "the button 4 shows page 4")
    ids, _ = api_ids(BULK, page=2)
    type_into("goto-page", "2")
    blank_list()
    click("goto-page")
    from selenium.webdriver.common.keys import Keys
    press(Keys.ENTER)
    wait_ui(lambda s: s["ids"] == ids and "page 2 of 7" in s["summary"], "Go to page 2")


def t_cursor_paging():
    status, headers, body = api_list(BULK, page_size=20)
    offered = "next_cursor" in body
    state = B.js("return [document.getElementById('mode-cursor').disabled,"
                 " !document.getElementById('cursor-hint').hidden]")
    expect(offered, "the API sends no next_cursor on a list with a next page")
    expect(state == [False, False], "the API sends next_cursor, yet the cursor mode is off: %r" % state)
    expect('rel="next"' in headers.get("link", ""), "no Link rel=next header: %r" % headers.get("link"))
    set_filters(page_size="50", mode="cursor")
    want = active_ids(BULK)
    pages = []
    s = wait_ui(lambda s: s["ids"] == want[:50], "the first cursor page")
    pages.append(s["ids"])
    while B.js("return !document.querySelector('#pager [data-key=\"next\"]').disabled"):
        n = len(pages)
        pager_click("next")
        s = wait_ui(lambda s: s["ids"] and "page %d by cursor" % (n + 1) in s["summary"], "cursor page %d" % (n + 1))
        pages.append(s["ids"])
        expect(len(pages) < 10, "the cursor pages do not end")
    seen = [i for p in pages for i in p]
    expect(seen == want, "cursor pages: %d ids (%d distinct), want %d in list order"
           % (len(seen), len(set(seen)), len(want)))
    pager_click("prev")
    wait_ui(lambda s: s["ids"] == pages[-2], "Previous goes back one cursor page")
    note("cursor walk: %d pages of up to 50, %d tokens in list order" % (len(pages), len(seen)))
    set_filters()


def t_filters():
    for user, ttype in (("usr_acme_member", ""), ("", "refresh_token"), ("usr_acme_admin", "access_token")):
        params = {"page": 1}
        if user:
            params["user_id"] = user
        if ttype:
            params["token_type"] = ttype
        ids, body = api_ids(BULK, **params)
        s = set_filters(user=user, ttype=ttype)
        s = wait_ui(lambda s: s["ids"] == ids, "filters user=%r type=%r" % (user, ttype))
        db = len(active_ids(BULK, user, ttype))
        expect(summary_total(s) == body["total"] == db,
               "user=%r type=%r: shown %r, API %r, SQL %d" % (user, ttype, summary_total(s), body["total"], db))
    set_filters()


def t_revoke_one():
    page1, _ = api_ids(BULK, page=1)
    wait_ui(lambda s: s["ids"] == page1, "page 1")
    victim = page1[2]
    before = token_states()
    total = len(active_ids(BULK))
    from selenium.webdriver.common.by import By
    B.driver.find_element(By.CSS_SELECTOR, '#tokens-body button[data-revoke="%s"]' % victim).click()
    s = wait_ui(lambda s: s["dialogOpen"], "the confirmation")
    expect(victim in s["dialogText"] and BULK in s["dialogText"], "dialog: %r" % s["dialogText"])
    click("confirm-ok")
    s = wait_ui(lambda s: "revoked" in s["status"] and victim not in s["ids"] and s["ids"],
                "the token revoked and gone from the list")
    after = token_states()
    changed = sorted(k for k in after if after[k] != before.get(k))
    expect(changed == [victim], "revoked in SQL: %r, want only %s" % (changed, victim))
    expect(summary_total(s) == total - 1, "total shown %r, want %d" % (summary_total(s), total - 1))
    ids, _ = api_ids(BULK, page=1)
    expect(victim not in ids and s["ids"] == ids, "the list after revoking differs from the API's")


def t_revoke_all():
    user, ttype = "usr_acme_member", "refresh_token"
    set_filters(user=user, ttype=ttype)
    want = sorted(active_ids(BULK, user, ttype))
    expect(len(want) == 18, "the fixture has %d matching tokens, want 18" % len(want))
    before = token_states()
    mark = audit_max()
    # First time: the dry run's count, then Cancel.
    click("revoke-all-button")
    s = wait_ui(lambda s: s["dialogOpen"], "the revoke-all confirmation")
    expect("18" in s["dialogTitle"] and "18 active tokens" in s["dialogText"] and s["okLabel"] == "Revoke 18 tokens",
           "the confirmation does not show the dry run's 18: %r / %r / %r"
           % (s["dialogTitle"], s["dialogText"], s["okLabel"]))
    expect(user in s["dialogText"], "the confirmation does not name the filter: %r" % s["dialogText"])
    click("confirm-cancel")
    wait_ui(lambda s: not s["dialogOpen"], "Cancel closes the confirmation")
    expect(token_states() == before, "the dry run and Cancel changed tokens")
    rows = audit_since(mark)
    expect(len(rows) == 1 and rows[0][0] == "tokens.revoke" and rows[0][3] == "18" and rows[0][4] == "1",
           "audit after the dry run: %r" % rows)
    # Second time: confirm.
    click("revoke-all-button")
    wait_ui(lambda s: s["dialogOpen"], "the revoke-all confirmation again")
    click("confirm-ok")
    s = wait_ui(lambda s: "Revoked 18 tokens" in s["status"] and summary_total(s) == 0, "18 revoked, list empty")
    after = token_states()
    changed = sorted(k for k in after if after[k] != before.get(k))
    expect(changed == want, "revoked in SQL: %d tokens (%d expected, %d of them)"
           % (len(changed), len(want), len(set(changed) & set(want))))
    rows = audit_since(mark)
    expect([r[3:5] for r in rows] == [["18", "1"], ["18", "1"], ["18", "0"]]
           and all(r[1] == "usr_acme_admin" and r[2] == BULK for r in rows), "audit rows: %r" % rows)
    status, _, body = api_list(BULK, user_id=user, token_type=ttype)
    expect(status == 200 and body["total"] == 0, "API after revoke-all: %d %r" % (status, body.get("total")))
    status, _, body = api_list(BULK)
    expect(body["total"] == 137 - 1 - 18, "API total after both revocations: %r" % body["total"])
    set_filters()


def error_seen_in_log(rid, status):
    """The program's log line for this request id has this status (waits for it)."""
    lines = log_lines_with(b"request_id=" + rid.encode(), 0, wait=10)
    return any(re.search(rb"\bstatus=%d\b" % status, line) for line in lines)


def t_401():
    status, h, body = api_list(BULK, token=BAD_TOKEN)
    expect(status == 401, "API with a bad token: %d" % status)
    sign_in(BAD_TOKEN)
    s = open_client(BULK, expect_rows=False)
    expect(s["error"] == "Error 401: " + body["message"], "shown %r, the API says %r" % (s["error"], body["message"]))
    expect(RID_RE.match(s["rid"]), "request id shown: %r" % s["rid"])
    expect(error_seen_in_log(s["rid"], 401), "no log line with status=401 request_id=%s in %s" % (s["rid"], APP_LOG))
    expect(not s["tokensShown"], "the token list is shown after a 401")


def t_404():
    status, _, body = api_list(OTHER_TENANT)
    expect(status == 404, "API for another tenant's client: %d" % status)
    sign_in(ADMIN)
    s = open_client(OTHER_TENANT, expect_rows=False)
    expect(s["error"] == "Error 404: " + body["message"], "shown %r, the API says %r" % (s["error"], body["message"]))
    expect(RID_RE.match(s["rid"]) and error_seen_in_log(s["rid"], 404),
           "request id %r not in a status=404 log line" % s["rid"])


def t_html_as_text():
    ids, _ = api_ids(HTML_CLIENT)
    expect(len(ids) == 2, "the HTML client lists %d tokens" % len(ids))
    open_client(HTML_CLIENT)
    s = wait_ui(lambda s: s["ids"] == ids, "the HTML client's tokens")
    found = B.js(r"""
      const name = document.getElementById('client-name');
      const scopes = Array.from(document.querySelectorAll('#tokens-body td.scope')).map(td => td.textContent);
      return {name: name.textContent, nameChildren: name.children.length, scopes: scopes,
              injected: document.querySelectorAll('main img, main b, main i, #tokens-body script').length,
              xss: window.__xss === undefined ? null : window.__xss};""")
    expect(found["name"] == HTML_CLIENT and found["nameChildren"] == 0, "client id shown as %r" % found["name"])
    expect(found["scopes"] == [HTML_SCOPE, HTML_SCOPE], "scopes shown as %r" % found["scopes"])
    expect(found["injected"] == 0 and found["xss"] is None, "HTML became elements: %r" % found)
    # The confirmation names the client as text too.
    from selenium.webdriver.common.by import By
    B.driver.find_element(By.CSS_SELECTOR, '#tokens-body button[data-revoke]').click()
    s = wait_ui(lambda s: s["dialogOpen"], "the confirmation")
    expect(HTML_CLIENT in s["dialogText"], "dialog text %r" % s["dialogText"])
    expect(B.js("return document.querySelectorAll('#confirm-dialog img, #confirm-dialog b').length") == 0,
           "HTML became elements in the dialog")
    click("confirm-cancel")
    wait_ui(lambda s: not s["dialogOpen"], "Cancel")


INJECT = r"""
const missing = arguments[0];
window.__violations = [];
document.addEventListener('securitypolicyviolation', e => window.__violations.push(e.effectiveDirective));
const s = document.createElement('script');
s.textContent = 'window.__inline = 1;';
document.body.appendChild(s);
const d = document.createElement('div');
d.innerHTML = '<img src="' + missing + '" onerror="window.__handler = 1">' +
              '<p id="injected-style" style="width: 123px">x</p>';
document.body.appendChild(d);
"""


def t_csp_blocks_inline():
    # Control: the same injection runs on a page of the same origin without a
    # policy (the API's own JSON answer, which the browser shows as text).
    missing = BASE_URL + CONSOLE + "no-such-image.png"
    B.driver.get(BASE_URL + "/admin/oauth/clients/no-policy-here/tokens")
    B.js(INJECT, missing)
    time.sleep(1)
    control = B.js("return [window.__inline, window.__handler, "
                   "getComputedStyle(document.getElementById('injected-style')).width]")
    load_console()
    wait_ui(lambda s: s["signedIn"], "the console again")
    expect(control == [1, 1, "123px"], "the injection does not run even without a policy: %r" % control)
    first = len(B.console_messages())
    B.js(INJECT, missing)
    time.sleep(1)
    INJECTED_LOG[:] = [first, len(B.console_messages())]
    got = B.js("return [window.__inline === undefined, window.__handler === undefined, "
               "getComputedStyle(document.getElementById('injected-style')).width, window.__violations]")
    expect(got[0], "an injected inline script ran")
    expect(got[1], "an injected inline event handler ran")
    expect(got[2] != "123px", "an injected inline style applied")
    expect({"script-src-elem", "script-src-attr", "style-src-attr"} <= set(got[3]),
           "the browser reported these violations: %r" % got[3])
    B.js("document.querySelectorAll('#injected-style').forEach(e => e.parentNode.remove())")


def t_no_csp_violation_in_use():
    msgs = B.console_messages()
    expect(len(INJECTED_LOG) == 2, "the injection check did not run")
    first, end = INJECTED_LOG
    expect(any("Content Security Policy" in m["message"] for m in msgs[first:end]),
           "the deliberate injection left no CSP report in the browser's log")
    others = [m["message"] for m in msgs[:first] + msgs[end:]]
    csp = [m for m in others if "Content Security Policy" in m]
    expect(not csp, "CSP complaints during normal use: %r" % csp)
    uncaught = [m for m in others if "Uncaught" in m]
    expect(not uncaught, "script errors: %r" % uncaught)


def t_narrow():
    B.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                             {"width": 360, "height": 780, "deviceScaleFactor": 1, "mobile": True})
    try:
        load_console()
        wait_ui(lambda s: s["signedIn"], "still signed in after a reload (sessionStorage)")
        ids, _ = api_ids(BULK, page=1)
        open_client(BULK)
        wait_ui(lambda s: s["ids"] == ids, "page 1 at 360 px")
        over = B.js(r"""
          const w = document.documentElement.clientWidth;
          const out = [];
          if (document.documentElement.scrollWidth > w) out.push('page scrolls sideways: ' + document.documentElement.scrollWidth + ' > ' + w);
          for (const e of document.querySelectorAll('input, select, button, td, h1, h2, #summary')) {
            const r = e.getBoundingClientRect();
            if (r.width === 0 && r.height === 0) continue;
            if (r.left < 0 || r.right > w + 0.5) out.push((e.id || e.getAttribute('data-key') || e.getAttribute('data-revoke') || e.tagName) + ' spans ' + Math.round(r.left) + '..' + Math.round(r.right));
          }
          return [w, out];""")
        expect(over[0] == 360, "viewport is %r px wide" % over[0])
        expect(not over[1], "at 360 px: %s" % "; ".join(over[1][:8]))
        B.driver.save_screenshot(os.path.join(WORK, "console-360.png"))
        ids, _ = api_ids(BULK, page=2)
        pager_click("next")
        wait_ui(lambda s: s["ids"] == ids, "Next at 360 px")
        from selenium.webdriver.common.by import By
        B.driver.find_element(By.CSS_SELECTOR, '#tokens-body button[data-revoke]').click()
        wait_ui(lambda s: s["dialogOpen"], "the confirmation at 360 px")
        width = B.js("return document.getElementById('confirm-dialog').getBoundingClientRect().right")
        expect(width <= 360, "the confirmation reaches %r px" % width)
        click("confirm-cancel")
        wait_ui(lambda s: not s["dialogOpen"], "Cancel at 360 px")
    finally:
        B.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def t_screenshot():
    B.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                             {"width": 1100, "height": 960, "deviceScaleFactor": 1, "mobile": False})
    try:
        load_console()
        ids, _ = api_ids(BULK, page=3, page_size=10)
        open_client(BULK)
        set_filters(page_size="10")
        pager_click("page-3")
        wait_ui(lambda s: s["ids"] == ids, "acme-bulk page 3 of 10 per page")
        B.js("document.activeElement.blur(); window.scrollTo(0, 0);")
        path = os.path.join(WORK, "console.png")
        B.driver.save_screenshot(path)
        with open(path, "rb") as f:
            head = f.read(24)
        expect(head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG")
        w, h = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
        expect(w == 1100 and h == 960, "screenshot is %dx%d" % (w, h))
        if SCREENSHOT_COPY:
            shutil.copyfile(path, SCREENSHOT_COPY)
            note("screenshot copied to %s" % SCREENSHOT_COPY)
    finally:
        B.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def front_end_logs():
    """Every log file of the front end under test (next to APP_LOG), not the suites' own."""
    top = os.path.dirname(os.path.abspath(APP_LOG))
    out = []
    for root, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if d not in ("suites", "htdocs", "share", "libexec")]
        out += [os.path.join(root, f) for f in files if f.endswith((".log", ".out"))]
    return sorted(out)


def t_token_never_leaks():
    B.remember_urls()
    leaked = [u for u in URLS_SEEN for t in SECRETS if t in u]
    expect(len(URLS_SEEN) > 5 and not leaked, "URLs with a token: %r (of %d)" % (leaked, len(URLS_SEEN)))
    expect(not any(t in json.dumps(B.driver.get_cookies()) for t in SECRETS), "a cookie holds a token")
    logs = front_end_logs()
    saw_console = False
    deadline = time.time() + 10
    while True:
        texts = {}
        for path in logs:
            with open(path, "rb") as f:
                texts[path] = f.read().decode("utf-8", "replace")
        saw_console = any("/admin/console/" in t for t in texts.values())
        if saw_console or time.time() > deadline:
            break
        time.sleep(0.5)
    expect(saw_console, "no log among %r records a console request: the access log was not found" % logs)
    hashes = [hashlib.sha256(t.encode()).hexdigest() for t in SECRETS]
    for path, text in texts.items():
        for t in SECRETS + hashes:
            expect(t not in text, "%s holds a bearer token (or its hash)" % path)
    note("searched %d log files: %s" % (len(logs), " ".join(os.path.relpath(p, os.path.dirname(APP_LOG))
                                                             for p in logs)))


def t_sign_out():
    load_console()
    click("signout-button")
    wait_ui(lambda s: not s["signedIn"], "signed out")
    left = B.js("return Object.keys(sessionStorage).length")
    expect(left == 0, "sessionStorage keeps %d items after signing out" % left)


# ---------------------------------------------------------------- main

def main():
    require("BASE_URL", "DB_SOCKET", "DB_NAME", "APP_LOG")
    os.makedirs(WORK, exist_ok=True)
    test("fixture: sql/demo.sql and a client with HTML in its id and scopes", t_fixture)
    test("headers: /admin/console/ and its files carry CSP default-src 'self', frame-ancestors 'none', nosniff",
         t_headers)
    test("the API next to the console is still the program's", t_api_still_served)
    test("source: no inline script or style, no other site, no innerHTML, no cookies or localStorage",
         t_static_source)
    test("browser: the page loads in headless chromium, sign-in field focused, no errors", t_browser_starts)
    if B is None:
        note("no browser: the browser checks are not run")
        return summary()
    try:
        test("labels: every control has a label", t_labels)
        test("keyboard: Tab/Enter sign in, open a client, page; Enter/Escape on a revoke; focus ring",
             t_keyboard)
        test("token: kept in sessionStorage only (no localStorage, cookie or DOM)", t_token_storage)
        test("list: the exact total (API = SQL = shown) and page 1", t_list_total)
        test("paging by page numbers: Last, Previous, a number, Go to page", t_page_numbers)
        test("screenshot: WORK/console.png (CONSOLE_SCREENSHOT copies it)", t_screenshot)
        test("paging by cursor: every page by Next = SQL order, Previous, Link rel=next",
             t_cursor_paging)
        test("filters: by user, by token type, both: totals and rows as the API and SQL", t_filters)
        test("revoke one: confirmation names it; exactly that token revoked in SQL", t_revoke_one)
        test("revoke all: the dry run's count in the confirmation; Cancel changes nothing; "
             "confirm revokes exactly the matching tokens (SQL, API, audit)", t_revoke_all)
        test("401: a bad token shows the API's message and the request id of the log line", t_401)
        test("404: another tenant's client shows the API's message and request id", t_404)
        test("HTML in a client id and in scopes is shown as text", t_html_as_text)
        test("CSP: an injected inline script, event handler and style do not run (they do on a page without CSP)",
             t_csp_blocks_inline)
        test("360 px: no sideways scrolling, every control on screen, paging and dialog work", t_narrow)
        test("token never in a URL, a cookie, or the front end's logs", t_token_never_leaks)
        test("sign out forgets the token", t_sign_out)
        test("CSP: no violation and no script error in normal use (all of the above)", t_no_csp_violation_in_use)
    finally:
        B.quit()
    return summary()


if __name__ == "__main__":
    sys.exit(main())
