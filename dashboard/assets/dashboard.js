// Nexus dashboard: renders the data embedded in the page, then keeps it
// current from the server's event stream (/v1/events), falling back to
// polling the JSON endpoints. Every text from the server is inserted with
// textContent or setAttribute, never as HTML.
'use strict';

(function () {
  const POINTS = 60;            // samples kept per chart
  const POLL_MS = 5000;         // polling period when the stream is down
  const MAX_BACKOFF_MS = 30000; // longest wait between reconnections
  const FAILS_BEFORE_POLL = 3;  // stream failures before polling starts
  const SVG_NS = 'http://www.w3.org/2000/svg';

  const $ = (id) => document.getElementById(id);

  const state = {
    stats: null,
    health: null,
    backends: [],
    history: [],
    keys: new Set(),      // history entry keys, to drop duplicates
    expanded: new Set(),  // history keys whose error is open
    historyCap: 100,
    uptime: null,         // {seconds, at}: uptime seconds at time `at`
    prev: null,           // {total, avg, at}: last stats sample, for charts
    rate: [],
    latency: [],
    matrixSig: '',
    cards: new Map(),     // backend id -> card element
  };

  // ---- helpers -------------------------------------------------------

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    if (attrs) {
      for (const k of Object.keys(attrs)) e.setAttribute(k, attrs[k]);
    }
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function num(x) {
    return typeof x === 'number' && isFinite(x) ? x : 0;
  }

  function setText(id, text) {
    const e = $(id);
    const s = String(text);
    if (e && e.textContent !== s) e.textContent = s;
  }

  function fmtUptime(s) {
    s = Math.max(0, Math.floor(s));
    const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
    if (d > 0) return d + 'd ' + h + 'h';
    if (h > 0) return h + 'h ' + m + 'm';
    if (m > 0) return m + 'm ' + (s % 60) + 's';
    return s + 's';
  }

  function fmtMs(ms) {
    if (typeof ms !== 'number' || !isFinite(ms)) return '–';
    if (ms >= 10000) return (ms / 1000).toFixed(1) + ' s';
    if (ms < 10) return ms.toFixed(1) + ' ms';
    return Math.round(ms) + ' ms';
  }

  function fmtRate(r) {
    if (r >= 100) return Math.round(r) + '/s';
    return r.toFixed(r >= 10 ? 1 : 2) + '/s';
  }

  function fmtTime(ts) {
    const d = new Date(ts);
    if (isNaN(d.getTime())) return '';
    return d.toLocaleTimeString([], { hour12: false });
  }

  function entryKey(e) {
    return String(e.request_id) + '|' + String(e.timestamp);
  }

  function isOK(status) {
    return status >= 200 && status < 300;
  }

  // ---- summary cards -------------------------------------------------

  function renderSummary() {
    const st = state.stats;
    const req = st && st.requests ? st.requests : null;
    if (req) {
      const total = num(req.total), ok = num(req.success), bad = num(req.errors);
      setText('total-requests', total);
      setText('requests-detail', ok + ' ok · ' + bad + ' failed');
      setText('success-rate', total > 0 ? (100 * ok / total).toFixed(1) + '%' : '–');
      setText('latency-detail', req.average_duration_ms !== undefined
        ? 'avg ' + fmtMs(num(req.average_duration_ms)) + (req.p95_duration_ms !== undefined ? ' · p95 ' + fmtMs(num(req.p95_duration_ms)) : '')
        : '');
    }
    const bs = state.backends;
    let healthy = 0;
    const models = new Set();
    for (const b of bs) {
      if (b.status !== 'healthy') continue;
      healthy++;
      for (const m of b.models || []) models.add(m.id);
    }
    if (bs.length > 0 || !state.health) {
      setText('active-backends', healthy + ' / ' + bs.length);
      setText('model-count', models.size);
    } else {
      const hb = state.health.backends || {};
      setText('active-backends', num(hb.healthy) + ' / ' + num(hb.total));
      setText('model-count', num(state.health.models));
    }
    setText('backends-detail', bs.length - healthy > 0 ? (bs.length - healthy) + ' not serving' : 'all serving');
    renderUptime();
  }

  function renderUptime() {
    if (!state.uptime) return;
    setText('uptime', fmtUptime(state.uptime.seconds + (Date.now() - state.uptime.at) / 1000));
  }

  function noteUptime(seconds) {
    if (typeof seconds === 'number') state.uptime = { seconds: seconds, at: Date.now() };
  }

  // ---- backend cards -------------------------------------------------

  function statsBackend(b) {
    const list = state.stats && Array.isArray(state.stats.backends) ? state.stats.backends : [];
    for (const s of list) if (s.id === b.id) return s;
    return null;
  }

  function newCard(name) {
    const card = el('article', { class: 'backend', 'data-backend': name });
    const head = el('header');
    head.append(el('h3', { 'data-field': 'name' }, name), el('span', { class: 'badge', 'data-field': 'status' }));
    const dl = el('dl');
    for (const [field, label] of [['latency', 'Probe latency'], ['pending', 'Pending'], ['requests', 'Requests'], ['avg', 'Avg. request']]) {
      const div = el('div');
      div.append(el('dt', null, label), el('dd', { 'data-field': field }));
      dl.append(div);
    }
    card.append(head, el('p', { class: 'meta', 'data-field': 'url' }), dl,
      el('p', { class: 'meta', 'data-field': 'load' }),
      el('p', { class: 'chips', 'data-field': 'models' }), el('p', { class: 'error', 'data-field': 'error' }));
    return card;
  }

  // loadText describes what a backend's engine reports about its load
  // (GET /v1/backends "load"), '' when it reports nothing.
  function loadText(l) {
    if (!l) return '';
    const parts = [];
    if (l.running !== null && l.running !== undefined) parts.push('running ' + num(l.running));
    if (l.waiting !== null && l.waiting !== undefined) parts.push('waiting ' + num(l.waiting));
    if (l.kv_cache_usage !== null && l.kv_cache_usage !== undefined) parts.push('KV ' + Math.round(num(l.kv_cache_usage) * 100) + '%');
    if (l.slots_total !== null && l.slots_total !== undefined) parts.push('slots ' + num(l.slots_busy) + '/' + num(l.slots_total));
    if (Array.isArray(l.loaded_models)) parts.push('loaded: ' + (l.loaded_models.map((m) => String(m.name)).join(', ') || 'none'));
    if (parts.length === 0) return '';
    return 'Reported load: ' + parts.join(' · ') + (l.stale ? ' (stale)' : '');
  }

  function field(card, name) {
    return card.querySelector('[data-field="' + name + '"]');
  }

  function setField(card, name, text) {
    const f = field(card, name);
    const s = String(text);
    if (f.textContent !== s) f.textContent = s;
  }

  function renderBackends() {
    const grid = $('backends');
    const seen = new Set();
    let pos = 0;
    for (const b of state.backends) {
      const key = String(b.id || b.name);
      seen.add(key);
      let card = state.cards.get(key);
      if (!card) {
        card = newCard(String(b.name));
        state.cards.set(key, card);
      }
      if (grid.children[pos] !== card) grid.insertBefore(card, grid.children[pos] || null); // registry order
      pos++;
      const s = statsBackend(b);
      card.dataset.status = String(b.status || 'unknown');
      setField(card, 'status', b.status || 'unknown');
      setField(card, 'url', [b.url, b.type].filter(Boolean).join(' · '));
      setField(card, 'latency', b.latency_ms > 0 ? fmtMs(b.latency_ms) : '–');
      setField(card, 'pending', num(b.pending));
      setField(card, 'requests', s ? num(s.requests) : num(b.requests));
      setField(card, 'avg', s && num(s.requests) > 0 ? fmtMs(num(s.average_latency_ms)) : '–');
      const ids = (b.models || []).map((m) => String(m.id));
      const chips = field(card, 'models');
      if (chips.dataset.sig !== ids.join('\n')) {
        chips.dataset.sig = ids.join('\n');
        chips.replaceChildren(...ids.map((id) => el('span', { class: 'chip' }, id)));
      }
      const load = loadText(b.load);
      setField(card, 'load', load);
      field(card, 'load').hidden = load === '';
      const err = field(card, 'error');
      setField(card, 'error', b.last_error || '');
      err.hidden = !b.last_error;
    }
    for (const [key, card] of state.cards) {
      if (!seen.has(key)) {
        card.remove();
        state.cards.delete(key);
      }
    }
    $('backends-empty').hidden = state.backends.length > 0;
  }

  // ---- model x backend matrix ----------------------------------------

  function renderMatrix() {
    const rows = new Map(); // model id -> {ctx, vision, tools, json, on: Map(backend -> healthy)}
    for (const b of state.backends) {
      for (const m of b.models || []) {
        let r = rows.get(m.id);
        if (!r) {
          r = { ctx: 0, vision: false, tools: false, json: false, on: new Map() };
          rows.set(m.id, r);
        }
        const c = m.capabilities || {};
        r.ctx = Math.max(r.ctx, num(m.context_length));
        r.vision = r.vision || !!c.vision;
        r.tools = r.tools || !!c.tools;
        r.json = r.json || !!c.json_mode;
        r.on.set(String(b.name), b.status === 'healthy');
      }
    }
    const perModel = new Map();
    if (state.stats && Array.isArray(state.stats.models)) {
      for (const m of state.stats.models) perModel.set(m.name, num(m.requests));
    }
    const names = state.backends.map((b) => String(b.name));
    const ids = [...rows.keys()].sort();
    const sig = JSON.stringify([names, ids.map((id) => {
      const r = rows.get(id);
      return [id, r.ctx, r.vision, r.tools, r.json, [...r.on], perModel.get(id) || 0];
    })]);
    if (sig === state.matrixSig) return;
    state.matrixSig = sig;

    const table = $('models-matrix');
    const head = el('tr');
    head.append(el('th', null, 'Model'), el('th', { class: 'num' }, 'Context'), el('th', null, 'Capabilities'), el('th', { class: 'num' }, 'Requests'));
    for (const n of names) head.append(el('th', { class: 'center', 'data-backend-col': n }, n));
    table.tHead.replaceChildren(head);
    const body = [];
    for (const id of ids) {
      const r = rows.get(id);
      const tr = el('tr', { 'data-model': id });
      tr.append(el('td', { class: 'model' }, id), el('td', { class: 'num' }, r.ctx > 0 ? r.ctx.toLocaleString() : '–'));
      const caps = el('td');
      for (const [on, label] of [[r.vision, 'vision'], [r.tools, 'tools'], [r.json, 'json']]) {
        if (on) caps.append(el('span', { class: 'chip cap' }, label));
      }
      tr.append(caps, el('td', { class: 'num' }, perModel.get(id) || 0));
      for (const n of names) {
        const has = r.on.has(n);
        const td = el('td', { class: 'center cell', 'data-backend-col': n }, has ? '✓' : '·');
        if (has) {
          td.dataset.healthy = String(r.on.get(n));
          td.title = r.on.get(n) ? n + ' serves ' + id : n + ' lists ' + id + ' but is not healthy';
        }
        tr.append(td);
      }
      body.push(tr);
    }
    table.tBodies[0].replaceChildren(...body);
    $('models-empty').hidden = ids.length > 0;
  }

  // ---- request history -----------------------------------------------

  function historyRows(e) {
    const key = entryKey(e);
    const ok = isOK(e.status);
    const tr = el('tr', { 'data-request-id': String(e.request_id), 'data-key': key, class: ok ? 'ok' : 'bad' });
    const time = el('td', { class: 'time' }, fmtTime(e.timestamp));
    time.title = String(e.timestamp) + (e.request_id ? '\nrequest id ' + e.request_id : '');
    const model = el('td', { class: 'model' }, e.model || '–');
    if (e.actual_model && e.actual_model !== e.model) {
      model.append(el('span', { class: 'actual' }, ' → ' + e.actual_model));
    }
    if (e.fallback) model.append(el('span', { class: 'chip warn' }, 'fallback'));
    if (e.stream) model.append(el('span', { class: 'chip' }, 'stream'));
    if (e.endpoint && e.endpoint !== 'chat') model.append(el('span', { class: 'chip' }, e.endpoint));
    if (e.key) model.append(el('span', { class: 'chip' }, 'key ' + e.key));
    const backend = el('td', null, e.backend || '–');
    if (e.route_reason) backend.title = 'route: ' + e.route_reason + (e.attempts > 1 ? ' · ' + e.attempts + ' attempts' : '');
    const status = el('td', { class: 'status' });
    if (e.error) {
      const btn = el('button', { type: 'button', class: 'badge bad', 'data-toggle': key,
        'aria-expanded': String(state.expanded.has(key)) }, String(e.status));
      btn.title = 'Show the error';
      status.append(btn);
    } else {
      status.append(el('span', { class: 'badge ' + (ok ? 'good' : 'bad') }, String(e.status)));
    }
    const tokens = num(e.prompt_tokens) + num(e.completion_tokens);
    const tok = el('td', { class: 'num' }, tokens > 0 ? tokens : '–');
    if (tokens > 0) tok.title = num(e.prompt_tokens) + ' prompt + ' + num(e.completion_tokens) + ' completion';
    tr.append(time, model, backend, status, el('td', { class: 'num' }, fmtMs(num(e.duration_ms))), tok);
    const out = [tr];
    if (e.error) {
      const detail = el('tr', { class: 'detail', 'data-detail-for': key });
      const td = el('td', { colspan: '6' });
      td.append(el('pre', null, e.error));
      detail.append(td);
      detail.hidden = !state.expanded.has(key);
      out.push(detail);
    }
    return out;
  }

  function renderHistoryCount() {
    setText('history-count', 'last ' + state.history.length + ' of ' + state.historyCap);
    $('history-empty').hidden = state.history.length > 0;
  }

  function renderHistory() {
    const rows = [];
    for (let i = state.history.length - 1; i >= 0; i--) rows.push(...historyRows(state.history[i]));
    $('history').tBodies[0].replaceChildren(...rows);
    renderHistoryCount();
  }

  function trimHistory() {
    let trimmed = false;
    while (state.history.length > state.historyCap) {
      const old = state.history.shift();
      const k = entryKey(old);
      state.keys.delete(k);
      state.expanded.delete(k);
      trimmed = true;
    }
    return trimmed;
  }

  // addEntry shows one new request at the top of the table.
  function addEntry(e) {
    if (!e || typeof e !== 'object') return;
    const key = entryKey(e);
    if (state.keys.has(key)) return;
    const last = state.history[state.history.length - 1];
    state.keys.add(key);
    state.history.push(e);
    if (last && new Date(e.timestamp) < new Date(last.timestamp)) {
      state.history.sort((a, b) => new Date(a.timestamp) - new Date(b.timestamp));
      trimHistory();
      renderHistory();
      return;
    }
    const body = $('history').tBodies[0];
    body.prepend(...historyRows(e));
    if (trimHistory()) {
      const keep = new Set(state.keys);
      for (const tr of [...body.rows]) {
        const k = tr.dataset.key || tr.dataset.detailFor;
        if (!keep.has(k)) tr.remove();
      }
    }
    renderHistoryCount();
  }

  // mergeHistory adds a full list from /v1/history to what is shown.
  function mergeHistory(list) {
    if (!Array.isArray(list)) return;
    let added = false;
    for (const e of list) {
      const key = entryKey(e);
      if (state.keys.has(key)) continue;
      state.keys.add(key);
      state.history.push(e);
      added = true;
    }
    if (!added) return;
    state.history.sort((a, b) => new Date(a.timestamp) - new Date(b.timestamp));
    trimHistory();
    renderHistory();
  }

  function onHistoryClick(ev) {
    const btn = ev.target.closest('button[data-toggle]');
    if (!btn) return;
    const key = btn.dataset.toggle;
    const open = !state.expanded.has(key);
    if (open) state.expanded.add(key); else state.expanded.delete(key);
    btn.setAttribute('aria-expanded', String(open));
    for (const tr of $('history').tBodies[0].rows) {
      if (tr.dataset.detailFor === key) tr.hidden = !open;
    }
  }

  // ---- charts --------------------------------------------------------

  function pushPoint(series, v) {
    series.push(v);
    while (series.length > POINTS) series.shift();
  }

  function sample(st) {
    const req = st && st.requests;
    if (!req) return;
    const now = Date.now(), total = num(req.total), avg = num(req.average_duration_ms);
    const prev = state.prev;
    if (!prev || total < prev.total) {
      state.prev = { total: total, avg: avg, at: now };
      return;
    }
    const dt = (now - prev.at) / 1000;
    if (dt < 0.25) return; // too close to the last sample to mean anything
    const dn = total - prev.total;
    pushPoint(state.rate, dn / dt);
    pushPoint(state.latency, dn > 0 ? Math.max(0, (avg * total - prev.avg * prev.total) / dn) : null);
    state.prev = { total: total, avg: avg, at: now };
    renderCharts();
  }

  function drawChart(svg, series) {
    const w = 300, h = 60;
    let max = 0;
    for (const v of series) if (v !== null && v > max) max = v;
    max = max > 0 ? max * 1.15 : 1;
    const step = w / (POINTS - 1), off = POINTS - series.length;
    let d = '', run = 0; // run: points in the current unbroken segment
    const endRun = () => {
      if (run === 1) d += 'l 1 0 '; // a lone sample shows as a dot
      run = 0;
    };
    series.forEach((v, i) => {
      if (v === null) {
        endRun();
        return;
      }
      const x = ((off + i) * step).toFixed(1), y = (h - (v / max) * (h - 2) - 1).toFixed(1);
      d += (run > 0 ? 'L' : 'M') + x + ' ' + y + ' ';
      run++;
    });
    endRun();
    let path = svg.querySelector('path');
    if (!path) {
      path = document.createElementNS(SVG_NS, 'path');
      svg.append(path);
    }
    path.setAttribute('d', d.trim());
    svg.dataset.points = String(series.length);
  }

  function renderCharts() {
    drawChart($('chart-rate'), state.rate);
    drawChart($('chart-latency'), state.latency);
    const r = state.rate[state.rate.length - 1];
    setText('rate-value', r === undefined ? '' : fmtRate(r));
    let l = null;
    for (let i = state.latency.length - 1; i >= 0 && l === null; i--) l = state.latency[i];
    setText('latency-value', l === null ? '' : fmtMs(l));
  }

  // ---- applying data -------------------------------------------------

  function applyStats(st) {
    if (!st || typeof st !== 'object') return;
    state.stats = st;
    noteUptime(st.uptime_seconds);
    if (conn.pollTimer) {
      // Without the event stream, backend states come from the statistics.
      for (const b of state.backends) {
        const s = statsBackend(b);
        if (!s) continue;
        if (s.status) b.status = s.status;
        b.pending = num(s.pending);
        if (s.probe_latency_ms !== undefined) b.latency_ms = num(s.probe_latency_ms);
      }
    }
    sample(st);
    renderSummary();
    renderBackends();
    renderMatrix();
  }

  function applyBackends(list) {
    if (!Array.isArray(list)) return;
    state.backends = list;
    renderSummary();
    renderBackends();
    renderMatrix();
  }

  function applyHealth(h) {
    if (!h || typeof h !== 'object') return;
    state.health = h;
    if (!state.stats) noteUptime(h.uptime_seconds);
    renderSummary();
  }

  // applyModels takes a /v1/models body (polling mode): it lists the
  // models of healthy backends, one entry per (model, backend).
  function applyModels(body) {
    if (!body || !Array.isArray(body.data)) return;
    const byBackend = new Map();
    for (const m of body.data) {
      if (!byBackend.has(m.owned_by)) byBackend.set(m.owned_by, []);
      byBackend.get(m.owned_by).push({ id: m.id, context_length: m.context_length, capabilities: m.capabilities });
    }
    if (state.backends.length === 0) {
      // No backend list (no registry): show what /v1/models tells.
      state.backends = [...byBackend.keys()].sort().map((name) =>
        ({ id: name, name: name, status: 'healthy', models: byBackend.get(name) }));
    }
    for (const b of state.backends) {
      if (b.status === 'healthy' && byBackend.has(b.name)) b.models = byBackend.get(b.name);
    }
    renderSummary();
    renderBackends();
    renderMatrix();
  }

  // ---- connection: event stream, back-off, polling --------------------

  const conn = { es: null, failures: 0, retryTimer: 0, pollTimer: 0 };

  function setMode(mode, text) {
    const c = $('connection');
    c.dataset.state = mode;
    setText('connection-text', text);
  }

  async function getJSON(url) {
    try {
      const r = await fetch(url, { cache: 'no-store', headers: { Accept: 'application/json' } });
      if (!r.ok) return null;
      return await r.json();
    } catch (e) {
      return null;
    }
  }

  async function fetchHistory() {
    mergeHistory(await getJSON('v1/history'));
  }

  function guard(fn) {
    return (ev) => {
      try {
        fn(JSON.parse(ev.data));
      } catch (err) {
        console.warn('nexus dashboard: bad event', ev.type, err);
      }
    };
  }

  function connect() {
    clearTimeout(conn.retryTimer);
    conn.retryTimer = 0;
    if (typeof EventSource !== 'function') {
      startPolling();
      return;
    }
    const es = new EventSource('v1/events');
    conn.es = es;
    es.addEventListener('open', () => {
      conn.failures = 0;
      stopPolling();
      setMode('live', 'Live');
      fetchHistory(); // entries added before the stream opened
    });
    es.addEventListener('request', guard(addEntry));
    es.addEventListener('stats', guard(applyStats));
    es.addEventListener('backends', guard(applyBackends));
    es.addEventListener('health', guard(applyHealth));
    es.addEventListener('resync', () => { fetchHistory(); });
    es.addEventListener('error', () => {
      if (conn.es !== es) return;
      es.close();
      conn.es = null;
      conn.failures++;
      const delay = Math.min(MAX_BACKOFF_MS, 1000 * Math.pow(2, conn.failures - 1));
      if (conn.failures >= FAILS_BEFORE_POLL) {
        startPolling();
      } else {
        setMode('reconnecting', 'Reconnecting in ' + Math.round(delay / 1000) + ' s');
      }
      conn.retryTimer = setTimeout(connect, delay);
    });
  }

  async function poll() {
    // One request for everything the page shows, served by the dashboard
    // itself (relative, so it works under any prefix).
    const d = await getJSON('v1/dashboard');
    if (!conn.pollTimer) return; // the stream came back meanwhile
    if (d) {
      if (d.stats) applyStats(d.stats);
      if (d.history) mergeHistory(d.history);
      if (d.models) applyModels(d.models);
      if (d.health) applyHealth(d.health);
      if (d.backends) applyBackends(d.backends);
    }
    if (d) {
      setMode('polling', 'Polling every ' + POLL_MS / 1000 + ' s');
    } else {
      setMode('offline', 'Offline, retrying');
    }
  }

  function startPolling() {
    if (conn.pollTimer) return;
    setMode('polling', 'Polling every ' + POLL_MS / 1000 + ' s');
    conn.pollTimer = setInterval(poll, POLL_MS);
    poll();
  }

  function stopPolling() {
    clearInterval(conn.pollTimer);
    conn.pollTimer = 0;
  }

  // ---- start ---------------------------------------------------------

  function start() {
    document.documentElement.classList.add('js');
    let init = {};
    try {
      init = JSON.parse($('initial-data').textContent || '{}') || {};
    } catch (err) {
      console.warn('nexus dashboard: bad initial data', err);
    }
    if (typeof init.history_capacity === 'number' && init.history_capacity > 0) state.historyCap = init.history_capacity;
    $('history').tBodies[0].addEventListener('click', onHistoryClick);
    applyHealth(init.health);
    applyBackends(init.backends || []);
    if (state.backends.length === 0) applyModels(init.models);
    applyStats(init.stats);
    mergeHistory(init.history || []);
    renderHistory();
    renderCharts();
    setInterval(renderUptime, 1000);
    connect();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
