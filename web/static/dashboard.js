// Operator dashboard: sign in with the operator token, create streams and show what OBS needs,
// watch each stream's health, viewers and sales live, and drive the card (products, images, pin,
// flash sales). REST (/api/v1, Bearer token) for every change and for the figures while the
// WebSocket is away; the WebSocket (/ws, shopcast.v1, proto/SIGNAL.md) as operator for the live
// figures, resuming by epoch and offset after a drop. Every string from the server goes into the
// page as text (textContent, input values), never as markup.
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = 'shopcast-operator-token';
  const KEYFRAME_WARN_S = 2;   // above this, suggest OBS's keyframe setting
  const CHART_POINTS = 600;    // 10 minutes at one point a second
  const state = {
    token: sessionStorage.getItem(TOKEN_KEY) || '',
    streams: [], current: null, stream: null, sales: null, health: null, viewers: null,
    live: null, chart: null, chartData: [[], [], []], pollTimer: null, salesTimer: null,
    editing: null, errors: [], events: [], sessions: [],
  };
  window.shopcastDashboard = state; // for tests and for the curious: what the page knows

  // ---- small helpers ----
  function text(el, s) { el.textContent = s == null ? '' : String(s); return el; }
  function show(el, on) { el.hidden = !on; }
  function notice(msg, bad) {
    const n = $('notice');
    text(n, msg);
    n.className = 'notice' + (bad ? ' bad' : '');
    show(n, !!msg);
  }
  function digits(currency) {
    try {
      return new Intl.NumberFormat('en', { style: 'currency', currency })
        .resolvedOptions().maximumFractionDigits;
    } catch (e) { return 2; }
  }
  function money(minor, currency) {
    const d = digits(currency);
    const v = Number(minor) / Math.pow(10, d);
    try {
      return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(v);
    } catch (e) { return v.toFixed(d) + ' ' + currency; }
  }
  function toMinor(s, currency) { // "29.90" -> 2990, exactly, or NaN
    const d = digits(currency);
    const m = /^\s*(\d+)(?:[.,](\d*))?\s*$/.exec(s);
    if (!m || (m[2] || '').length > d) return NaN;
    return Number(m[1]) * Math.pow(10, d) + Number(((m[2] || '') + '000').slice(0, d) || 0);
  }
  function fromMinor(v, currency) { return (Number(v) / Math.pow(10, digits(currency))).toFixed(digits(currency)); }
  function duration(s) {
    s = Math.max(0, Math.floor(s));
    const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, r = s % 60;
    return (h ? h + ':' + String(m).padStart(2, '0') : m) + ':' + String(r).padStart(2, '0');
  }

  // ---- REST ----
  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }
  async function api(method, path, body, contentType) {
    const headers = { Authorization: 'Bearer ' + state.token };
    let data;
    if (body instanceof Blob) {
      data = body;
      headers['Content-Type'] = contentType || body.type;
    } else if (body !== undefined) {
      data = JSON.stringify(body);
      headers['Content-Type'] = 'application/json';
    }
    const r = await fetch(path, { method, headers, body: data });
    let j = null;
    try { j = await r.json(); } catch (e) { /* 204, or not JSON */ }
    if (r.status === 401 && path.startsWith('/api/')) {
      signOut('The operator token was refused: sign in again.');
      throw new ApiError(401, 'operator token refused');
    }
    if (!r.ok)
      throw new ApiError(r.status, (j && j.error) || r.status + ' ' + r.statusText);
    return j;
  }
  const streamPath = (id, rest) => '/api/v1/streams/' + encodeURIComponent(id) + (rest || '');
  function failed(what) {
    return (e) => { if (e.status !== 401) notice(what + ': ' + e.message, true); };
  }

  // ---- signing in ----
  // The token is checked with a read-only operator call that needs no stream of ours: the sales
  // of a stream id that cannot exist (ids are 12 characters). 401: the token is wrong; anything
  // else (404, or 503 with Redis away) means it passed the operator check.
  async function checkToken(token) {
    const r = await fetch('/api/v1/streams/0/sales', { headers: { Authorization: 'Bearer ' + token } });
    return r.status !== 401;
  }
  async function signIn(token) {
    const err = $('signin-error');
    show(err, false);
    let ok;
    try { ok = await checkToken(token); } catch (e) {
      text(err, 'shopcast does not answer: ' + e.message);
      show(err, true);
      return;
    }
    if (!ok) {
      text(err, 'Wrong operator token. It is operator-token in the config, or the file ' +
                'data/operator-token (DATA_DIR/operator-token) on the server.');
      show(err, true);
      return;
    }
    state.token = token;
    sessionStorage.setItem(TOKEN_KEY, token);
    show($('signin'), false);
    show($('app'), true);
    show($('signout'), true);
    await loadStreams();
    const want = new URLSearchParams(location.hash.slice(1)).get('stream');
    const first = state.streams.find((s) => s.id === want) || state.streams[0];
    if (first) select(first.id);
  }
  function signOut(msg) {
    state.token = '';
    sessionStorage.removeItem(TOKEN_KEY);
    closeLive();
    stopPolling();
    state.current = null;
    show($('app'), false);
    show($('signout'), false);
    show($('conn'), false);
    show($('signin'), true);
    const err = $('signin-error');
    text(err, msg || '');
    show(err, !!msg);
  }

  // ---- streams ----
  function stateOf(s) { return s.live ? 'live' : s.on_air ? 'slate' : 'offline'; }
  async function loadStreams() {
    const j = await api('GET', '/api/v1/streams');
    state.streams = j.streams || [];
    renderStreams();
  }
  function renderStreams() {
    const ul = $('streams');
    ul.replaceChildren();
    for (const s of state.streams) {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'stream' + (s.id === state.current ? ' current' : '');
      b.dataset.id = s.id;
      const badge = text(document.createElement('span'), stateOf(s));
      badge.className = 'badge ' + stateOf(s);
      b.append(text(document.createElement('span'), s.title), ' ', badge);
      b.addEventListener('click', () => select(s.id));
      li.append(b);
      ul.append(li);
    }
    show($('no-streams'), state.streams.length === 0);
  }
  function showObs(created) {
    const port = created.rtmp_port || 1935;
    text($('obs-server'), 'rtmp://' + location.hostname + ':' + port + '/live');
    $('obs-key').value = created.key;
    show($('obs-copied'), false);
    show($('obs'), true);
  }
  async function copyKey() {
    const input = $('obs-key');
    try {
      await navigator.clipboard.writeText(input.value);
    } catch (e) { // no clipboard API (plain http on another host): select it for Ctrl-C
      input.focus();
      input.select();
      try { document.execCommand('copy'); } catch (e2) { /* selected: the operator copies */ }
    }
    show($('obs-copied'), true);
  }
  async function createStream(ev) {
    ev.preventDefault();
    const title = $('create-title').value.trim();
    if (!title) return;
    try {
      const s = await api('POST', '/api/v1/streams', { title });
      $('create-title').value = '';
      showObs(s);
      await loadStreams();
      select(s.id);
    } catch (e) { failed('Creating the stream failed')(e); }
  }
  async function revokeKey() {
    const s = state.stream;
    if (!s || !confirm('Revoke the stream key of “' + s.title + '”? A publisher using it is ' +
                       'disconnected now, and OBS needs the new key to stream again.')) return;
    try {
      showObs(await api('POST', streamPath(s.id, '/key')));
      notice('The old key is revoked. The new key is below.');
    } catch (e) { failed('Revoking the key failed')(e); }
  }

  function select(id) {
    closeLive();
    stopPolling();
    state.current = id;
    state.stream = state.streams.find((s) => s.id === id) || null;
    state.sales = state.health = state.viewers = null;
    state.chartData = [[], [], []];
    $('ticker').replaceChildren();
    history.replaceState(null, '', '#stream=' + encodeURIComponent(id));
    renderStreams();
    show($('stream'), true);
    text($('st-id'), id);
    $('st-watch').href = '/watch/' + encodeURIComponent(id);
    makeChart();
    refreshStream();
    refreshSales();
    state.salesTimer = setInterval(refreshSales, 10000);
    openLive(id);
  }

  // ---- figures: REST while the WebSocket is away, the WebSocket's health once a second ----
  function healthFromRest(s) {
    const v = s.video || {};
    return {
      ingest: s.live ? { kbps: v.bitrate_kbps, fps: v.fps,
                         keyframe_interval_ms: v.keyframe_interval_s * 1000,
                         dropped_frames: s.dropped_packets, codec: v.codec, width: v.width,
                         height: v.height } : null,
      rungs: (s.renditions || []).map((r) => ({ name: r.name, speed: r.encoder_speed,
        part_ready_p50_ms: r.part_ready_ms && r.part_ready_ms.p50,
        part_ready_p95_ms: r.part_ready_ms && r.part_ready_ms.p95 })),
      uptime_s: s.uptime_s, orders_per_minute: state.sales ? state.sales.orders_per_minute : null,
    };
  }
  async function refreshStream() {
    const id = state.current;
    try {
      const s = await api('GET', streamPath(id));
      if (id !== state.current) return;
      state.stream = Object.assign({}, state.stream, s);
      const i = state.streams.findIndex((x) => x.id === id);
      if (i >= 0 && stateOf(state.streams[i]) !== stateOf(s)) {
        state.streams[i] = s;
        renderStreams();
      }
      if (!state.liveState) state.streamState = stateOf(s);
      renderHeader();
      if (!liveOpen()) {
        renderHealth(healthFromRest(s));
        chartPoint(state.sales ? state.sales.orders_per_minute : null, state.viewers);
      }
      renderCard(s.card ? cardFromRest(s.card) : null);
    } catch (e) {
      if (e.status === 404) notice('This stream no longer exists.', true);
    }
    if (id === state.current && !liveOpen())
      state.pollTimer = setTimeout(refreshStream, 2000);
  }
  function stopPolling() {
    clearTimeout(state.pollTimer);
    clearInterval(state.salesTimer);
    clearTimeout(state.salesSoon);
    state.salesSoon = null;
  }
  function renderHeader() {
    const s = state.stream;
    if (!s) return;
    text($('st-title'), s.title);
    const st = state.streamState || stateOf(s);
    text($('st-state'), st);
    $('st-state').className = 'badge ' + st;
    const up = state.health && state.health.uptime_s != null ? state.health.uptime_s : s.uptime_s;
    text($('st-uptime'), st === 'live' && up ? 'up ' + duration(up) : '');
  }
  function renderHealth(h) {
    state.health = h;
    const ing = h.ingest;
    text($('f-kbps'), ing && ing.kbps != null ? Math.round(ing.kbps) + ' kbit/s' : '–');
    text($('f-fps'), ing && ing.fps != null ? (+ing.fps).toFixed(1) : '–');
    const kf = ing && ing.keyframe_interval_ms ? ing.keyframe_interval_ms / 1000 : null;
    text($('f-kf'), kf ? kf.toFixed(1) + ' s' : '–');
    $('f-kf').className = kf > KEYFRAME_WARN_S ? 'bad' : '';
    text($('f-dropped'), ing && ing.dropped_frames != null ? ing.dropped_frames : '–');
    show($('kf-advice'), kf > KEYFRAME_WARN_S);
    text($('kf-advice-s'), kf ? kf.toFixed(1) + ' s' : '');
    text($('ingest-source'), ing && ing.codec ? 'Source: ' + ing.codec + ' ' + ing.width + '×' +
         ing.height : '');
    if (h.viewers != null) state.viewers = h.viewers;
    text($('f-viewers'), state.viewers != null ? state.viewers : '–');
    const opm = h.orders_per_minute != null ? h.orders_per_minute
      : state.sales ? state.sales.orders_per_minute : null;
    text($('f-opm'), opm != null ? opm : '–');
    const tb = $('rungs');
    tb.replaceChildren();
    for (const r of h.rungs || []) {
      const tr = document.createElement('tr');
      const speed = text(document.createElement('td'), r.speed != null ? (+r.speed).toFixed(2) + '×' : '–');
      if (r.speed != null && r.speed < 1) speed.className = 'bad';
      tr.append(text(document.createElement('td'), r.name), speed,
                text(document.createElement('td'), ms(r.part_ready_p50_ms)),
                text(document.createElement('td'), ms(r.part_ready_p95_ms)));
      tb.append(tr);
    }
    renderHeader();
  }
  function ms(v) { return v != null ? Math.round(v) + ' ms' : '–'; }

  // ---- sales ----
  async function refreshSales() {
    const id = state.current;
    try {
      const j = await api('GET', streamPath(id, '/sales'));
      if (id !== state.current) return;
      state.sales = j;
      renderSales();
    } catch (e) {
      if (e.status !== 404) failed('Reading the sales failed')(e);
    }
  }
  function salesSoon() { // an order or price event: read the figures, at most twice a second
    if (state.salesSoon) return;
    state.salesSoon = setTimeout(() => { state.salesSoon = null; refreshSales(); }, 500);
  }
  function renderSales() {
    const tb = $('sales'), tpl = $('sale-row'), sel = $('flash-product');
    const products = state.sales.products || [];
    const keep = sel.value;
    tb.replaceChildren();
    sel.replaceChildren();
    const revenue = {};
    for (const p of products) {
      const tr = tpl.content.firstElementChild.cloneNode(true);
      tr.dataset.id = p.id;
      text(tr.querySelector('.name'), p.name);
      text(tr.querySelector('.pid'), p.id);
      text(tr.querySelector('.hasimg'), p.image ? 'with picture' : '');
      text(tr.querySelector('.price'), money(p.price, p.currency));
      text(tr.querySelector('.sold'), p.sold);
      text(tr.querySelector('.stock'), p.stock);
      text(tr.querySelector('.revenue'), money(p.revenue || 0, p.currency));
      tr.querySelector('.pin').addEventListener('click', () => pin(p.id));
      tr.querySelector('.edit').addEventListener('click', () => editProduct(p));
      tr.querySelector('input[type=file]').addEventListener('change', (ev) => upload(p.id, ev.target));
      tb.append(tr);
      revenue[p.currency] = (revenue[p.currency] || 0) + (p.revenue || 0);
      const o = text(document.createElement('option'), p.name);
      o.value = p.id;
      sel.append(o);
    }
    if (keep) sel.value = keep;
    const parts = Object.keys(revenue).map((c) => money(revenue[c], c));
    text($('revenue'), parts.length ? parts.join(' + ') : '–');
    text($('f-opm'), state.sales.orders_per_minute);
  }
  function tick(m) { // "someone bought 2 × honey"
    const li = text(document.createElement('li'), 'someone bought ' + m.qty + ' × ' + m.name);
    const ol = $('ticker');
    ol.prepend(li);
    while (ol.children.length > 8) ol.lastChild.remove();
  }

  // ---- the card: pinned product and flash sale ----
  function cardFromRest(c) {
    if (!c.pinned) return { pinned: false, product: null, flash: null };
    return { pinned: true, product: { id: c.product, name: c.name, currency: c.currency,
      price: c.price, regular_price: c.regular_price }, sold: c.sold, stock: c.stock,
      flash: c.flash ? { price: c.price, ends_ms: c.flash.ends_ms, left: c.flash.left } : null };
  }
  function renderCard(card) {
    state.card = card;
    const p = card && card.pinned && card.product;
    text($('pinned'), p ? 'Pinned: ' + p.name + ' (' + p.id + ') at ' + money(p.price, p.currency)
      : 'Nothing pinned.');
    $('pinned').className = p ? '' : 'muted';
    const f = card && card.flash;
    text($('flash-state'), f && p ? 'Flash sale on ' + p.name + ': ' + money(f.price != null ? f.price : p.price, p.currency) +
         ', ' + f.left + ' left, ends in ' + duration((f.ends_ms - Date.now()) / 1000)
      : 'No flash sale on the pinned product.');
    for (const tr of $('sales').children)
      tr.classList.toggle('pinned', !!p && tr.dataset.id === p.id);
  }
  // One change of what the card shows: the call, then the outcome said and shown at once.
  async function cardChange(method, rest, body, done, what) {
    try {
      await api(method, streamPath(state.current, rest), body);
      notice(done);
      refreshStreamOnce();
    } catch (e) { failed(what)(e); }
  }
  const pin = (pid) => cardChange('PUT', '/pinned', { product: pid },
                                  'Pinned ' + pid + ': the card slides into the video.', 'Pinning failed');
  const unpin = () => cardChange('DELETE', '/pinned', undefined, 'Unpinned.', 'Unpinning failed');
  const stopFlash = () => cardChange('DELETE', '/flash', undefined, 'Flash sale stopped.',
                                     'Stopping the flash sale failed');
  function startFlash(ev) {
    ev.preventDefault();
    const pid = $('flash-product').value;
    const p = ((state.sales && state.sales.products) || []).find((x) => x.id === pid);
    if (!p) return notice('Choose a product.', true);
    const price = toMinor($('flash-price').value, p.currency);
    if (!(price > 0)) return notice('The flash price is a number such as 29.90.', true);
    return cardChange('POST', '/flash', { product: pid, price,
      duration_s: Math.round(Number($('flash-minutes').value) * 60),
      cap: Number($('flash-cap').value) || 0, limit: Number($('flash-limit').value) || 0 },
    'Flash sale started on ' + p.name + '.', 'Starting the flash sale failed');
  }
  function refreshStreamOnce() { // a change we made: show it now, not at the next poll
    refreshSales();
    api('GET', streamPath(state.current)).then((s) => {
      state.stream = Object.assign({}, state.stream, s);
      renderCard(s.card ? cardFromRest(s.card) : null);
    }).catch(() => {});
  }

  // ---- products ----
  function productBody(editing) {
    const currency = $('p-currency').value.trim().toUpperCase();
    const price = toMinor($('p-price').value, currency);
    const regular = $('p-regular').value.trim() ? toMinor($('p-regular').value, currency) : undefined;
    if (!(price > 0) || (regular !== undefined && !(regular > 0)))
      throw new ApiError(0, 'prices are numbers such as 39.90');
    const b = { name: $('p-name').value, price, currency, stock: Number($('p-stock').value) };
    if (regular !== undefined) b.regular_price = regular;
    if (!editing && $('p-id').value.trim()) b.id = $('p-id').value.trim();
    return b;
  }
  async function saveProduct(ev) {
    ev.preventDefault();
    const editing = state.editing;
    try {
      const body = productBody(editing);
      if (editing)
        await api('PATCH', streamPath(state.current, '/products/' + encodeURIComponent(editing)), body);
      else
        await api('POST', streamPath(state.current, '/products'), body);
      notice((editing ? 'Saved ' : 'Added ') + body.name + '.');
      resetProductForm();
      refreshSales();
    } catch (e) { failed(editing ? 'Saving the product failed' : 'Adding the product failed')(e); }
  }
  function editProduct(p) {
    state.editing = p.id;
    text($('product-form-title'), 'Edit ' + p.id);
    $('p-id').value = p.id;
    $('p-id').disabled = true;
    $('p-name').value = p.name;
    $('p-currency').value = p.currency;
    $('p-price').value = fromMinor(p.price, p.currency);
    $('p-regular').value = fromMinor(p.regular_price, p.currency);
    $('p-stock').value = p.stock;
    text($('p-submit'), 'Save');
    show($('p-cancel'), true);
    $('product-form').scrollIntoView({ block: 'nearest' });
  }
  function resetProductForm() {
    state.editing = null;
    $('product-form').reset();
    $('p-id').disabled = false;
    text($('product-form-title'), 'Add a product');
    text($('p-submit'), 'Add product');
    show($('p-cancel'), false);
  }
  async function upload(pid, input) {
    const file = input.files && input.files[0];
    if (!file) return;
    try {
      const j = await api('PUT', streamPath(state.current, '/products/' + encodeURIComponent(pid) + '/image'),
                          file, file.type || 'image/jpeg');
      notice('Picture of ' + pid + ' uploaded (' + j.image.width + '×' + j.image.height + ').');
      refreshSales();
    } catch (e) { failed('Uploading the picture failed')(e); }
    input.value = '';
  }

  // ---- the live channel: shopcast.v1 as operator (proto/SIGNAL.md) ----
  function liveOpen() { return !!(state.live && state.live.ws && state.live.ws.readyState === 1 && state.live.subscribed); }
  function connStatus(s) { // the live channel: 'live', 'reconnecting', 'gone'
    text($('conn'), s === 'live' ? 'live updates on' : s === 'gone' ? 'stream gone'
      : 'live updates reconnecting…');
    $('conn').className = 'conn ' + s;
    show($('conn'), true);
  }
  function openLive(id) {
    const live = { id, ws: null, epoch: null, offset: 0, backoff: 500, timer: null, subscribed: false, closed: false };
    state.live = live;
    connect(live);
  }
  function closeLive() {
    const live = state.live;
    state.live = null;
    state.liveState = null;
    state.streamState = null;
    if (!live) return;
    live.closed = true;
    clearTimeout(live.timer);
    if (live.ws) live.ws.close(1000);
  }
  function send(live, m) { if (live.ws && live.ws.readyState === 1) live.ws.send(JSON.stringify(m)); }
  function connect(live) {
    const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
    let ws;
    try { ws = new WebSocket(url, 'shopcast.v1'); } catch (e) { return retry(live); }
    live.ws = ws;
    ws.onopen = () => {
      const who = { stream: live.id, role: 'operator', token: state.token };
      if (live.epoch) send(live, Object.assign({ type: 'resume', epoch: live.epoch, offset: live.offset }, who));
      else send(live, Object.assign({ type: 'subscribe' }, who));
    };
    ws.onmessage = (ev) => {
      let m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (live === state.live) onMessage(live, m);
    };
    ws.onclose = (ev) => {
      live.subscribed = false;
      if (live.closed || live !== state.live) return;
      if (ev.code === 4401) return signOut('The relay refused the operator token: sign in again.');
      if (ev.code === 4404) { connStatus('gone'); return notice('This stream no longer exists.', true); }
      connStatus('reconnecting');
      if (!state.pollTimer) refreshStream(); // the figures come by REST until it is back
      retry(live);
    };
  }
  function retry(live) { // backoff with jitter, from 0.5 s doubling to 10 s
    const wait = live.backoff / 2 + Math.random() * live.backoff / 2;
    live.backoff = Math.min(live.backoff * 2, 10000);
    live.timer = setTimeout(() => { if (live === state.live) connect(live); }, wait);
  }
  // Events of the stream carry offsets: one seen already is dropped, a gap asks for a resume
  // (SIGNAL.md: a client that sees a gap resumes by itself).
  function inOrder(live, m) {
    if (m.epoch !== live.epoch) return false;
    if (m.offset <= live.offset) return false;
    if (m.offset > live.offset + 1) {
      if (!live.resuming) {
        live.resuming = true;
        send(live, { type: 'resume', epoch: live.epoch, offset: live.offset });
      }
      return false;
    }
    live.offset = m.offset;
    return true;
  }
  function onMessage(live, m) {
    if (m.type !== 'part' && m.type !== 'segment') { // what came lately, media notices aside
      state.events.push(m.type);
      if (state.events.length > 200) state.events.shift();
    }
    if (m.type === 'hello' || m.type === 'resumed') // how each connection began
      state.sessions.push({ type: m.type, recovered: m.recovered, offset: m.offset });
    switch (m.type) {
    case 'hello': return onHello(live, m);
    case 'resumed':
      live.resuming = false;
      live.epoch = m.epoch;
      live.offset = m.from - 1;
      live.subscribed = true;
      live.backoff = 500;
      return connStatus('live');
    case 'health': return onHealth(m);
    case 'error':
      state.errors.push(m);
      if (m.code === 'forbidden') return signOut('The relay refused the operator token: sign in again.');
      return;
    case 'part': case 'segment': case 'pong': return;
    }
    if (typeof m.offset === 'number' && !inOrder(live, m)) return;
    switch (m.type) {
    case 'stream':
      state.liveState = true;
      state.streamState = m.state;
      if (m.state !== 'live' && state.health) state.health.uptime_s = null;
      return renderHeader();
    case 'viewers':
      state.viewers = m.count;
      return text($('f-viewers'), m.count);
    case 'sold': // merged by the relay, up to 10 a second: applied here, the table read soon
      if (state.card && state.card.product && state.card.product.id === m.product)
        renderCard(Object.assign({}, state.card, { sold: m.sold, stock: m.stock }));
      return salesSoon();
    case 'product':
      renderCard(m.card);
      return salesSoon();
    case 'price': case 'flash_sale': // the card's whole state comes with the stream's JSON
      refreshStreamOnce();
      return;
    case 'order':
      tick(m);
      return salesSoon();
    }
  }
  function onHello(live, m) {
    live.resuming = false;
    live.epoch = m.epoch;
    live.offset = m.offset;
    live.subscribed = true;
    live.backoff = 500;
    clearTimeout(state.pollTimer);
    state.pollTimer = null;
    connStatus('live');
    state.liveState = true;
    state.streamState = m.state;
    state.viewers = m.viewers;
    text($('f-viewers'), m.viewers);
    if (m.card !== undefined) renderCard(m.card);
    if (m.health) onHealth(m.health);
    else renderHeader();
    if (m.recovered === false) refreshSales(); // what was missed is not replayed: read it all
  }
  function onHealth(h) {
    renderHealth(h);
    chartPoint(h.orders_per_minute, h.viewers);
  }

  // ---- the chart (uPlot, from npm, served by shopcast) ----
  function makeChart() {
    const el = $('chart');
    if (state.chart) state.chart.destroy();
    state.chart = null;
    el.replaceChildren();
    if (typeof uPlot === 'undefined') { text(el, 'The chart library did not load.'); return; }
    const width = () => Math.max(260, el.clientWidth || 600);
    state.chart = new uPlot({
      width: width(), height: 220,
      scales: { x: { time: true }, opm: { range: (u, a, b) => [0, Math.max(5, b)] },
                viewers: { range: (u, a, b) => [0, Math.max(5, b)] } },
      series: [{}, { label: 'orders/min', scale: 'opm', stroke: '#d9480f', width: 2 },
               { label: 'viewers', scale: 'viewers', stroke: '#1971c2', width: 2 }],
      axes: [{}, { scale: 'opm', label: 'orders/min' },
             { scale: 'viewers', side: 1, label: 'viewers', grid: { show: false } }],
    }, state.chartData, el);
    new ResizeObserver(() => state.chart && state.chart.setSize({ width: width(), height: 220 })).observe(el);
  }
  function chartPoint(opm, viewers) {
    const d = state.chartData;
    d[0].push(Date.now() / 1000);
    d[1].push(opm != null ? opm : null);
    d[2].push(viewers != null ? viewers : null);
    if (d[0].length > CHART_POINTS) d.forEach((a) => a.shift());
    if (state.chart) state.chart.setData(d);
  }

  // ---- wiring ----
  $('signin-form').addEventListener('submit', (ev) => { ev.preventDefault(); signIn($('token').value.trim()); });
  $('signout').addEventListener('click', () => signOut(''));
  $('create-form').addEventListener('submit', createStream);
  $('obs-copy').addEventListener('click', copyKey);
  $('revoke').addEventListener('click', revokeKey);
  $('unpin').addEventListener('click', unpin);
  $('flash-form').addEventListener('submit', startFlash);
  $('flash-stop').addEventListener('click', stopFlash);
  $('product-form').addEventListener('submit', saveProduct);
  $('p-cancel').addEventListener('click', resetProductForm);
  setInterval(() => { if (state.card) renderCard(state.card); renderHeader(); }, 1000);
  if (state.token) signIn(state.token);
})();
