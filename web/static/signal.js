// The shopcast.v1 WebSocket client (proto/SIGNAL.md): follows one stream's events in order, once
// each. Invariants: an event is handed on only if its offset is the next of the epoch we hold
// (a gap, or another epoch, sends resume instead, and nothing is handed on until the answer);
// after a close it reconnects with exponential backoff and jitter and resumes where it was.
// window.shopcastSignal exposes the socket, epoch, offset and what happened, for tests.
(function () {
  'use strict';
  var PING_MS = 20000;      /* the relay closes a silent client after ws-idle-s; and the clock */
  var BACKOFF_MS = 500;     /* first retry after 0.25 to 0.5 s ... */
  var BACKOFF_CAP_MS = 10000; /* ... doubling up to 5 to 10 s */
  var LOG_MAX = 500;
  var RESUME_WAIT_MS = 5000; /* no answer to a resume by then: reconnect, which resumes too */

  var sig = {
    socket: null,       /* the open (or opening) WebSocket, null between connections */
    stream: null,
    epoch: null,        /* the epoch and last offset seen: what a resume asks from */
    offset: 0,
    resuming: false,    /* a resume is out: events wait for its answer */
    clockOffset: 0,     /* server clock minus ours, ms (hello, then each pong) */
    rtt: null,
    connects: 0,
    log: [],            /* hello and resumed, with their recovered flags */
    events: [],         /* every stream event handed on: type, offset, epoch, n */
    closes: [],         /* close codes seen */
    errors: [],         /* error messages from the relay */
    n: 0,               /* messages received, in order: log and events carry it */
  };
  var listeners = {};
  var attempts = 0, pingTimer = null, pingId = 0, pings = {};

  function keep(list, item) {
    list.push(item);
    if (list.length > LOG_MAX) list.shift();
  }

  sig.on = function (type, fn) { (listeners[type] = listeners[type] || []).push(fn); };
  function emit(type, m) {
    (listeners[type] || []).forEach(function (fn) {
      try { fn(m); } catch (e) { setTimeout(function () { throw e; }); }
    });
  }
  sig.now = function () { return Date.now() + sig.clockOffset; }; /* the relay's clock, ms */

  function send(m) {
    var ws = sig.socket;
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m));
  }

  // Asks for everything after the last offset seen; on a fresh connection it also subscribes.
  function resume(first) {
    var m = { type: 'resume', epoch: sig.epoch, offset: sig.offset };
    if (first) { m.stream = sig.stream; m.role = 'viewer'; }
    sig.resuming = true;
    send(m);
    var ws = sig.socket;
    setTimeout(function () {
      if (sig.resuming && sig.socket === ws && ws) ws.close(4000, 'no answer to resume');
    }, RESUME_WAIT_MS);
  }

  function ping() {
    pingId += 1;
    pings[pingId] = Date.now();
    send({ type: 'ping', id: pingId });
  }

  function onHello(m) {
    sig.n += 1;
    keep(sig.log, { type: 'hello', recovered: m.recovered === false ? false : null,
                    epoch: m.epoch, offset: m.offset, n: sig.n, at: Date.now() });
    var fresh = sig.epoch !== null; /* a state replacing one we had */
    var newEpoch = fresh && sig.epoch !== m.epoch;
    sig.epoch = m.epoch;
    sig.offset = m.offset;
    sig.resuming = false;
    attempts = 0;
    if (typeof m.server_ms === 'number') sig.clockOffset = m.server_ms - Date.now();
    ping(); /* a round trip measures the clock better than one way */
    emit('hello', { msg: m, fresh: fresh, newEpoch: newEpoch });
  }

  function onResumed(m) {
    sig.n += 1;
    keep(sig.log, { type: 'resumed', recovered: m.recovered === true, epoch: m.epoch,
                    from: m.from, offset: m.offset, n: sig.n, at: Date.now() });
    sig.resuming = false;
    attempts = 0;
    emit('resumed', m);
  }

  function onPong(m) {
    var sent = pings[m.id];
    delete pings[m.id];
    if (sent === undefined || typeof m.server_ms !== 'number') return;
    var now = Date.now();
    sig.rtt = now - sent;
    sig.clockOffset = m.server_ms - (sent + now) / 2;
  }

  // A stream event: the next offset is handed on; an old one was seen; a gap resumes.
  function onEvent(m) {
    if (sig.resuming) return; /* the replay that follows the answer brings it */
    if (m.epoch !== sig.epoch || m.offset > sig.offset + 1) { resume(false); return; }
    if (m.offset <= sig.offset) return;
    sig.offset = m.offset;
    sig.n += 1;
    keep(sig.events, { type: m.type, offset: m.offset, epoch: m.epoch, n: sig.n, at: Date.now(),
                       perf: performance.now() });
    emit('event', m);
  }

  function onMessage(ev) {
    var m;
    try { m = JSON.parse(ev.data); } catch (e) { return; }
    if (!m || typeof m.type !== 'string') return;
    if (m.type === 'hello') onHello(m);
    else if (m.type === 'resumed') onResumed(m);
    else if (m.type === 'pong') onPong(m);
    else if (m.type === 'error') keep(sig.errors, { code: m.code, message: m.message });
    else if (typeof m.offset === 'number') onEvent(m);
    else emit(m.type, m); /* transient: part, segment */
  }

  function schedule() {
    var base = Math.min(BACKOFF_CAP_MS, BACKOFF_MS * Math.pow(2, attempts));
    attempts += 1;
    setTimeout(connect, base / 2 + Math.random() * base / 2); /* jitter: no stampede at restart */
  }

  function onClose(ws, e) {
    if (sig.socket !== ws) return;
    sig.socket = null;
    clearInterval(pingTimer);
    pings = {};
    keep(sig.closes, { code: e.code, at: Date.now() });
    emit('closed', e);
    schedule();
  }

  function connect() {
    var ws;
    try {
      ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host +
                         '/ws', 'shopcast.v1');
    } catch (e) {
      schedule();
      return;
    }
    sig.socket = ws;
    sig.connects += 1;
    ws.onopen = function () {
      if (sig.epoch !== null) resume(true);
      else send({ type: 'subscribe', stream: sig.stream, role: 'viewer' });
      pingTimer = setInterval(ping, PING_MS);
      emit('open');
    };
    ws.onmessage = function (ev) { if (sig.socket === ws) onMessage(ev); };
    ws.onclose = function (e) { onClose(ws, e); };
  }

  sig.start = function (stream) {
    if (sig.stream) return;
    sig.stream = stream;
    connect();
  };

  window.shopcastSignal = sig;
})();
