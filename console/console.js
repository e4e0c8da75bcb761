// console.js: the admin console: sign in with a bearer token, list, page, filter and revoke a client's tokens.
//
// The token lives in sessionStorage only (this tab) and leaves the browser only
// in the Authorization header; it never goes into a URL, a cookie or the page.
// Every piece of text from the API or the user reaches the DOM as textContent.
'use strict';

(function () {
  const TOKEN_KEY = 'autional.console.token';
  // The API sits next to the console: /admin/console/ -> /admin/oauth/clients/.
  const API_BASE = new URL('../oauth/clients/', document.baseURI);

  const $ = (id) => document.getElementById(id);

  const state = {
    client: null,       // the client id shown, or null
    userId: '',         // user_id filter ('' = none)
    tokenType: '',      // token_type filter ('' = none)
    pageSize: 20,
    mode: 'pages',      // 'pages' (page numbers) or 'cursor'
    page: 1,            // page number (mode 'pages')
    cursor: null,       // cursor of the page shown (mode 'cursor'; null = first)
    cursorTrail: [],    // cursors of the pages before it, for "Previous"
    nextCursor: null,   // next_cursor of the last list response
    cursorOffered: null // whether list responses carry next_cursor (null: not known yet)
  };

  // ---------------------------------------------------------------- token

  function storedToken() {
    try { return sessionStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
  }

  function storeToken(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
  }

  function forgetToken() {
    try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* storage unavailable */ }
  }

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(status, message, requestId) {
      super(message);
      this.status = status;        // HTTP status, 0 when nothing answered
      this.requestId = requestId;  // X-Request-Id of the answer, '' when none
    }
  }

  function tokensUrl(client, tokenId, params) {
    let path = encodeURIComponent(client) + '/tokens';
    if (tokenId) path += '/' + encodeURIComponent(tokenId);
    const url = new URL(path, API_BASE);
    if (params) {
      for (const [k, v] of Object.entries(params)) {
        if (v !== '' && v !== null && v !== undefined) url.searchParams.set(k, String(v));
      }
    }
    return url;
  }

  // api(method, url): the parsed JSON body of a 2xx answer; else throws ApiError
  // with the API's own message and the request id.
  async function api(method, url) {
    const token = storedToken();
    if (!token) throw new ApiError(0, 'Not signed in: paste a bearer token first.', '');
    let response;
    try {
      response = await fetch(url, {
        method: method,
        headers: { 'Authorization': 'Bearer ' + token, 'Accept': 'application/json' },
        credentials: 'omit',
        cache: 'no-store',
        referrerPolicy: 'no-referrer'
      });
    } catch (e) {
      throw new ApiError(0, 'The API could not be reached (' + e.message + ').', '');
    }
    const requestId = response.headers.get('X-Request-Id') || '';
    let body = null;
    const type = response.headers.get('Content-Type') || '';
    if (type.indexOf('application/json') === 0) {
      try { body = await response.json(); } catch (e) { body = null; }
    }
    if (!response.ok) {
      const message = body && typeof body.message === 'string' && body.message
        ? body.message
        : 'HTTP ' + response.status + ' ' + response.statusText + ' (no JSON answer from the API)';
      throw new ApiError(response.status, message, requestId);
    }
    if (!body) throw new ApiError(response.status, 'The API answered without JSON.', requestId);
    return body;
  }

  // ---------------------------------------------------------------- messages

  function showError(err) {
    const status = err.status ? 'Error ' + err.status + ': ' : 'Error: ';
    $('error-text').textContent = status + err.message;
    $('error-request-id').textContent = err.requestId || 'none (no answer from the API)';
    $('error').hidden = false;
    $('status').textContent = '';
  }

  function clearError() {
    $('error').hidden = true;
    $('error-text').textContent = '';
    $('error-request-id').textContent = '';
  }

  function showStatus(text) {
    $('status').textContent = text;
  }

  function plural(n, one, many) {
    return n + ' ' + (n === 1 ? one : many);
  }

  // A table cell with an RFC 3339 UTC time as "date time", each part unbroken.
  function timeCell(label, ts) {
    const cell = el('td', { class: 'time', 'data-label': label });
    const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})Z$/.exec(typeof ts === 'string' ? ts : '');
    if (m) cell.append(el('span', null, m[1]), ' ', el('span', null, m[2]));
    else cell.textContent = String(ts === undefined ? '' : ts);
    return cell;
  }

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    }
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function filterText() {
    const parts = [];
    if (state.userId) parts.push('user ' + state.userId);
    if (state.tokenType) parts.push(state.tokenType.replace('_', ' ') + 's only');
    return parts.length ? ' (' + parts.join(', ') + ')' : '';
  }

  // ---------------------------------------------------------------- sign in

  function renderSignedIn() {
    const signedIn = !!storedToken();
    $('signin-form').hidden = signedIn;
    $('signed-in').hidden = !signedIn;
    $('client-panel').hidden = !signedIn;
    if (!signedIn) $('tokens-panel').hidden = true;
  }

  function onSignIn(event) {
    event.preventDefault();
    const input = $('token-input');
    const token = input.value.trim();
    input.value = '';
    if (!token) return;
    storeToken(token);
    clearError();
    renderSignedIn();
    showStatus('Signed in. Open a client by its id.');
    $('client-input').focus();
  }

  function onSignOut() {
    forgetToken();
    state.client = null;
    $('tokens-body').replaceChildren();
    $('pager').replaceChildren();
    $('summary').textContent = '';
    clearError();
    renderSignedIn();
    showStatus('Signed out: the token is forgotten.');
    $('token-input').focus();
  }

  // ---------------------------------------------------------------- list

  function listParams() {
    const params = { page_size: state.pageSize, user_id: state.userId, token_type: state.tokenType };
    if (state.mode === 'cursor') {
      if (state.cursor) params.cursor = state.cursor;
    } else {
      params.page = state.page;
    }
    return params;
  }

  async function loadList(focusKey) {
    if (!state.client) return;
    let data;
    try {
      data = await api('GET', tokensUrl(state.client, null, listParams()));
    } catch (err) {
      showError(err);
      return false;
    }
    clearError();
    state.cursorOffered = Object.prototype.hasOwnProperty.call(data, 'next_cursor');
    state.nextCursor = state.cursorOffered ? data.next_cursor : null;
    if (!state.cursorOffered && state.mode === 'cursor') {
      state.mode = 'pages';
      $('mode-pages').checked = true;
    }
    $('mode-cursor').disabled = !state.cursorOffered;
    $('cursor-hint').hidden = state.cursorOffered;
    renderList(data);
    renderPager(data, focusKey);
    return true;
  }

  function renderList(data) {
    const items = Array.isArray(data.items) ? data.items : [];
    const pg = data.pagination || {};
    const total = typeof data.total === 'number' ? data.total : pg.total;
    let where;
    if (state.mode === 'cursor') {
      where = 'page ' + (state.cursorTrail.length + 1) + ' by cursor';
    } else {
      where = 'page ' + (pg.page || state.page) + ' of ' + (pg.total_pages || 0);
    }
    const count = typeof total === 'number' ? plural(total, 'active token', 'active tokens') : 'Active tokens';
    $('summary').textContent = count + filterText() +
      ' · ' + where + ' · ' + plural(items.length, 'shown', 'shown');

    const body = $('tokens-body');
    body.replaceChildren();
    if (items.length === 0) {
      const row = el('tr');
      const cell = el('td', { colspan: '7', class: 'empty' }, 'No active tokens on this page.');
      row.append(cell);
      body.append(row);
      return;
    }
    for (const item of items) {
      const row = el('tr', { 'data-token-id': item.id });
      row.append(
        el('td', { class: 'token-id', 'data-label': 'Token id' }, item.id),
        el('td', { class: 'type', 'data-label': 'Type' }, item.token_type === 'refresh_token' ? 'refresh' : 'access'),
        el('td', { 'data-label': 'User' }, item.user_id === undefined ? '(client credentials)' : item.user_id),
        el('td', { class: 'scope', 'data-label': 'Scope' }, item.scope),
        timeCell('Created', item.created_at),
        timeCell('Expires', item.expires_at)
      );
      const action = el('td', { class: 'action', 'data-label': '' });
      const button = el('button', {
        type: 'button', class: 'warn small', 'data-revoke': item.id,
        'aria-label': 'Revoke token ' + item.id
      }, 'Revoke');
      button.addEventListener('click', () => confirmRevokeOne(item.id, button));
      action.append(button);
      row.append(action);
      body.append(row);
    }
  }

  function pagerButton(label, key, enabled, onClick, current) {
    const b = el('button', { type: 'button', class: 'plain', 'data-key': key }, label);
    if (current) b.setAttribute('aria-current', 'page');
    b.disabled = !enabled;
    b.addEventListener('click', onClick);
    return b;
  }

  // Page numbers around the current page, with the first and last: 1 … 4 5 [6] 7 8 … 12.
  function pageWindow(page, pages) {
    const shown = new Set([1, pages]);
    for (let p = page - 2; p <= page + 2; p++) if (p >= 1 && p <= pages) shown.add(p);
    return Array.from(shown).filter((p) => p >= 1).sort((a, b) => a - b);
  }

  function renderPager(data, focusKey) {
    const nav = $('pager');
    nav.replaceChildren();
    if (state.mode === 'cursor') {
      const hasNext = typeof state.nextCursor === 'string' && state.nextCursor !== '';
      nav.setAttribute('aria-label', 'Pages (cursor)');
      nav.append(
        pagerButton('First page', 'first', state.cursorTrail.length > 0, () => goCursor('first')),
        pagerButton('Previous', 'prev', state.cursorTrail.length > 0, () => goCursor('prev')),
        pagerButton('Next', 'next', hasNext, () => goCursor('next'))
      );
    } else {
      const pg = data.pagination || {};
      const page = pg.page || state.page;
      const pages = pg.total_pages || 0;
      nav.setAttribute('aria-label', 'Pages');
      nav.append(
        pagerButton('First', 'first', page > 1, () => goPage(1)),
        pagerButton('Previous', 'prev', !!pg.has_prev, () => goPage(page - 1))
      );
      let last = 0;
      for (const p of pageWindow(page, pages)) {
        if (p > last + 1) nav.append(el('span', { class: 'gap', 'aria-hidden': 'true' }, '…'));
        const b = pagerButton(String(p), 'page-' + p, true, () => goPage(p), p === page);
        b.setAttribute('aria-label', 'Page ' + p);
        nav.append(b);
        last = p;
      }
      nav.append(
        pagerButton('Next', 'next', !!pg.has_next, () => goPage(page + 1)),
        pagerButton('Last', 'last', pages > 0 && page < pages, () => goPage(pages))
      );
      const goto = el('span', { class: 'goto' });
      const input = el('input', { type: 'number', id: 'goto-page', min: '1', inputmode: 'numeric' });
      if (pages > 0) input.setAttribute('max', String(pages));
      const label = el('label', { for: 'goto-page' }, 'Go to page');
      const go = pagerButton('Go', 'goto', true, () => {
        const n = parseInt(input.value, 10);
        if (n >= 1) goPage(n, 'goto');
      });
      input.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') { e.preventDefault(); go.click(); }
      });
      goto.append(label, input, go);
      nav.append(goto);
    }
    // Keyboard users keep their place: focus the same control in the new pager,
    // or the current page when that control is now disabled.
    if (focusKey) {
      const again = nav.querySelector('[data-key="' + focusKey + '"]');
      const target = again && !again.disabled ? again
        : nav.querySelector('[aria-current="page"]') || nav.querySelector('button:not(:disabled)');
      if (target) target.focus();
    }
  }

  function goPage(page, key) {
    state.page = page;
    loadList(key || focusedKey());
  }

  function goCursor(how) {
    if (how === 'next' && state.nextCursor) {
      state.cursorTrail.push(state.cursor);
      state.cursor = state.nextCursor;
    } else if (how === 'prev' && state.cursorTrail.length) {
      state.cursor = state.cursorTrail.pop();
    } else if (how === 'first') {
      state.cursor = null;
      state.cursorTrail = [];
    }
    loadList(focusedKey());
  }

  function focusedKey() {
    const active = document.activeElement;
    return active && $('pager').contains(active) ? active.getAttribute('data-key') : null;
  }

  function resetPaging() {
    state.page = 1;
    state.cursor = null;
    state.cursorTrail = [];
    state.nextCursor = null;
  }

  function readFilters() {
    state.userId = $('user-filter').value.trim();
    state.tokenType = $('type-filter').value;
    state.pageSize = parseInt($('page-size').value, 10) || 20;
    state.mode = $('mode-cursor').checked && !$('mode-cursor').disabled ? 'cursor' : 'pages';
  }

  async function onOpenClient(event) {
    event.preventDefault();
    const client = $('client-input').value.trim();
    if (!client) return;
    state.client = client;
    readFilters();
    resetPaging();
    $('client-name').textContent = client;
    showStatus('');
    const ok = await loadList(null);
    $('tokens-panel').hidden = !ok;
    if (ok) showStatus('Client ' + client + ' opened.');
  }

  async function onApplyFilters(event) {
    event.preventDefault();
    readFilters();
    resetPaging();
    const ok = await loadList(null);
    if (ok) showStatus('Filters applied.');
  }

  // ---------------------------------------------------------------- revoke

  let dialogReturnFocus = null;
  let dialogAction = null;

  function openConfirm(title, text, okLabel, action, returnFocus) {
    $('confirm-title').textContent = title;
    $('confirm-text').textContent = text;
    const ok = $('confirm-ok');
    ok.textContent = okLabel || '';
    ok.hidden = !okLabel;
    $('confirm-cancel').textContent = okLabel ? 'Cancel' : 'Close';
    dialogAction = action;
    dialogReturnFocus = returnFocus;
    $('confirm-dialog').showModal();
    $('confirm-cancel').focus();
  }

  function closeConfirm() {
    const dialog = $('confirm-dialog');
    if (dialog.open) dialog.close();
  }

  function onDialogClosed() {
    dialogAction = null;
    const back = dialogReturnFocus;
    dialogReturnFocus = null;
    if (back && document.contains(back) && !back.disabled) {
      back.focus();
    } else {
      $('summary').setAttribute('tabindex', '-1');
      $('summary').focus();
    }
  }

  async function onConfirmOk() {
    const action = dialogAction;
    dialogAction = null;
    closeConfirm();
    if (action) await action();
  }

  function confirmRevokeOne(tokenId, button) {
    openConfirm('Revoke one token',
      'Revoke token ' + tokenId + ' of client ' + state.client +
      '? It stops working at once; this cannot be undone.',
      'Revoke token', () => revokeOne(tokenId), button);
  }

  async function revokeOne(tokenId) {
    let data;
    try {
      data = await api('DELETE', tokensUrl(state.client, tokenId, null));
    } catch (err) {
      showError(err);
      return;
    }
    clearError();
    showStatus(data.revoked === 1 ? 'Token ' + tokenId + ' revoked.'
      : 'Token ' + tokenId + ' was revoked already.');
    await reloadAfterRevoke();
  }

  async function confirmRevokeAll() {
    const filters = { user_id: state.userId, token_type: state.tokenType };
    let dry;
    try {
      dry = await api('DELETE', tokensUrl(state.client, null, Object.assign({ dry_run: 'true' }, filters)));
    } catch (err) {
      showError(err);
      return;
    }
    clearError();
    const n = dry.revoked;
    if (n === 0) {
      openConfirm('Nothing to revoke', 'No active token of client ' + state.client + ' matches' +
        filterText() + '.', null, null, $('revoke-all-button'));
      return;
    }
    openConfirm('Revoke ' + plural(n, 'token', 'tokens'),
      'Revoke all ' + plural(n, 'active token', 'active tokens') + ' of client ' + state.client +
      filterText() + '? They stop working at once; this cannot be undone.',
      'Revoke ' + plural(n, 'token', 'tokens'), () => revokeAll(filters), $('revoke-all-button'));
  }

  async function revokeAll(filters) {
    let data;
    try {
      data = await api('DELETE', tokensUrl(state.client, null, filters));
    } catch (err) {
      showError(err);
      return;
    }
    clearError();
    showStatus('Revoked ' + plural(data.revoked, 'token', 'tokens') + '.');
    resetPaging();
    await reloadAfterRevoke();
  }

  async function reloadAfterRevoke() {
    const before = state.page;
    await loadList(null);
    // The page may now lie past the end: show the new last page instead.
    const rows = $('tokens-body').querySelectorAll('tr[data-token-id]').length;
    if (rows === 0 && state.mode === 'pages' && before > 1) {
      state.page = before - 1;
      await loadList(null);
    }
  }

  // ---------------------------------------------------------------- start

  function start() {
    $('signin-form').addEventListener('submit', onSignIn);
    $('signout-button').addEventListener('click', onSignOut);
    $('client-form').addEventListener('submit', onOpenClient);
    $('filter-form').addEventListener('submit', onApplyFilters);
    $('revoke-all-button').addEventListener('click', confirmRevokeAll);
    $('confirm-cancel').addEventListener('click', closeConfirm);
    $('confirm-ok').addEventListener('click', onConfirmOk);
    $('confirm-dialog').addEventListener('close', onDialogClosed);
    renderSignedIn();
    (storedToken() ? $('client-input') : $('token-input')).focus();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
