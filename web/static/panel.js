// The viewer page's product panel: what the card in the video shows (name, price, sold, stock,
// flash-sale countdown), the Buy button, the viewer count and the order ticker.
// Invariant: a stamped change (product, price, flash_sale, sold; hello's card) reaches the panel
// on the presented frame that shows it in the video: the first frame whose SEI seq (shopcast's
// user-data-unregistered SEI, read by hls.js) is >= the change's seq, found each frame with
// requestVideoFrameCallback. Playing natively (no SEI), at the frame whose PROGRAM-DATE-TIME
// (mediaclock.js) reaches the change's pdt_ms. Every server string goes into the DOM as text.
// window.shopcastPanel exposes the card shown and a log of when each change was applied.
(function () {
  'use strict';
  var SEI_UUID = 'b9cb6d6b-85b4-4afd-a7d1-7851c5139f5a'; /* proto/sei.h */
  var STAMPED = { product: 1, price: 1, flash_sale: 1, sold: 1 };
  var SEI_KEEP_S = 90;      /* SEI samples kept behind the presented frame */
  var PDT_LATE_MS = 1000;   /* with hls.js, an event whose SEI never came: applied once the picture
                               is this far past its pdt_ms ... */
  var WALL_LATE_MS = 20000; /* ... or, with no picture moving, once the relay's clock is */
  var TICKER_MAX = 5;
  var RETRY_MS = 500, RETRY_CAP_MS = 8000, RETRIES = 8;

  var el = function (id) { return document.getElementById(id); };
  var ui = {
    panel: el('panel'), name: el('p-name'), price: el('p-price'), regular: el('p-regular'),
    flash: el('p-flash'), countdown: el('p-countdown'), left: el('p-left'), sold: el('p-sold'),
    stock: el('p-stock'), buy: el('buy'), result: el('buy-result'), ticker: el('ticker'),
    viewers: el('viewers'),
  };
  var panel = {
    card: null,     /* the card as the panel shows it (SIGNAL.md `card`) */
    state: null,    /* the stream's state, as the relay last said */
    seis: [],       /* [{pts (s, the media element's timeline), seq}], by pts */
    pending: [],    /* stamped changes waiting for their frame, in offset order */
    log: [],        /* each applied change: seq, type, offset, via, frameSeq, mediaTime, wall */
    frames: 0,      /* frames presented (requestVideoFrameCallback) */
    lastMediaTime: null,
    orders: [],     /* each Buy: order_id, status, body, attempts */
  };
  var video = null, hls = null, clock = null, halfFrame = 1 / 120;

  // ---- formatting ----
  var formats = {};
  function money(minor, currency) {
    var f = formats[currency];
    if (f === undefined) {
      try {
        f = new Intl.NumberFormat(navigator.language || 'en',
                                  { style: 'currency', currency: currency, currencyDisplay: 'narrowSymbol' });
      } catch (e) {
        f = null; /* not a currency Intl knows: plain figures */
      }
      formats[currency] = f;
    }
    if (!f) return (minor / 100).toFixed(2) + ' ' + String(currency);
    return f.format(minor / Math.pow(10, f.resolvedOptions().maximumFractionDigits));
  }
  function clock(ms) {
    var s = Math.max(0, Math.ceil(ms / 1000));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), ss = s % 60;
    var mm = (h ? String(m).padStart(2, '0') : String(m)) + ':' + String(ss).padStart(2, '0');
    return h ? h + ':' + mm : mm;
  }
  function count(n) { return typeof n === 'number' ? n.toLocaleString() : '–'; }

  // ---- the panel ----
  function render() {
    var c = panel.card, p = c && c.pinned && c.product;
    ui.panel.hidden = !p;
    if (!p) return;
    ui.name.textContent = p.name;
    ui.price.textContent = money(p.price, p.currency);
    ui.regular.hidden = !(p.regular_price > p.price);
    ui.regular.textContent = ui.regular.hidden ? '' : money(p.regular_price, p.currency);
    ui.sold.textContent = count(c.sold);
    ui.stock.textContent = count(c.stock);
    ui.buy.disabled = inFlight || c.stock === 0;
    ui.buy.textContent = c.stock === 0 ? 'Sold out' : 'Buy ' + money(p.price, p.currency);
    tick();
  }

  function tick() { /* the countdown, on the relay's clock */
    var c = panel.card, f = c && c.pinned && c.product && c.flash;
    var left = f ? f.ends_ms - window.shopcastSignal.now() : 0;
    ui.flash.hidden = !(f && left > 0);
    if (ui.flash.hidden) return;
    ui.countdown.textContent = clock(left);
    ui.left.textContent = count(f.left);
  }

  function sameProduct(m) {
    return panel.card && panel.card.product && panel.card.product.id === m.product;
  }

  // One change, as SIGNAL.md says each event carries it.
  function change(m) {
    var c = panel.card;
    if (m.type === 'hello' || m.type === 'product') {
      panel.card = m.card ? JSON.parse(JSON.stringify(m.card)) : null;
    } else if (m.type === 'price' && sameProduct(m)) {
      c.product.price = m.price;
      c.product.regular_price = m.regular_price;
      if (m.currency) c.product.currency = m.currency;
    } else if (m.type === 'flash_sale' && sameProduct(m)) {
      c.flash = m.active ? { price: m.price, ends_ms: m.ends_ms, left: m.left } : null;
    } else if (m.type === 'sold' && sameProduct(m)) {
      c.sold = m.sold;
      c.stock = m.stock;
      if (c.flash && typeof m.left === 'number') c.flash.left = m.left;
    }
  }

  function apply(items, via, frameSeq, mediaTime) {
    items.forEach(function (it) {
      change(it.msg);
      panel.log.push({ seq: it.seq, pdt: it.pdt, type: it.msg.type, offset: it.msg.offset, via: via,
                       frameSeq: frameSeq, mediaTime: mediaTime, wall: Date.now(),
                       perf: performance.now() });
      if (panel.log.length > 500) panel.log.shift();
    });
    if (items.length) render();
  }

  // ---- the frame each change waits for ----
  function onUserdata(_, data) {
    data.samples.forEach(function (s) {
      if (s.uuid !== SEI_UUID || typeof s.userData !== 'string') return;
      var stamp;
      try { stamp = JSON.parse(s.userData); } catch (e) { return; }
      if (typeof stamp.seq === 'number') addSei(s.pts, stamp.seq);
    });
  }

  function addSei(pts, seq) { /* sorted by pts; the same frame from another rung once */
    var a = panel.seis, i = a.length;
    while (i > 0 && a[i - 1].pts > pts) i--;
    if (i > 0 && Math.abs(a[i - 1].pts - pts) < 1e-4) { a[i - 1].seq = seq; return; }
    a.splice(i, 0, { pts: pts, seq: seq });
  }

  // The seq of the newest SEI at or before t; drops samples long behind it.
  function seqAt(t) {
    var a = panel.seis, seq = null, i;
    for (i = a.length - 1; i >= 0; i--) if (a[i].pts <= t) { seq = a[i].seq; break; }
    while (a.length > 1 && a[1].pts < t - SEI_KEEP_S) a.shift();
    return seq;
  }

  function presentedPdt(mediaTime) { /* the PROGRAM-DATE-TIME of the frame on screen, ms */
    if (hls) return hls.playingDate ? hls.playingDate.getTime() : null;
    return clock ? clock.pdtAt(mediaTime) : null;
  }

  function due(it, frameSeq, pdt) {
    if (it.seq === null) return 'unstamped';
    if (frameSeq !== null && frameSeq >= it.seq) return 'sei';
    if (pdt !== null && it.pdt !== null && pdt + halfFrame * 1000 >= it.pdt + (hls ? PDT_LATE_MS : 0))
      return 'pdt';
    if (it.pdt === null) return 'no_pdt';
    if (window.shopcastSignal.now() > it.pdt + WALL_LATE_MS) return 'late';
    if (panel.state === 'offline' || panel.state === 'ended') return 'off_air';
    return null;
  }

  // Applies, in order, each pending change the frame at mediaTime shows (or that waited too long).
  function settle(mediaTime) {
    if (clock) clock.update();
    var frameSeq = mediaTime === null || !hls ? null : seqAt(mediaTime + halfFrame);
    var pdt = mediaTime === null ? null : presentedPdt(mediaTime);
    while (panel.pending.length) {
      var via = due(panel.pending[0], frameSeq, pdt);
      if (!via) break;
      var batch = [panel.pending.shift()]; /* and every other change of the same frame */
      while (panel.pending.length && panel.pending[0].seq === batch[0].seq) batch.push(panel.pending.shift());
      apply(batch, via, frameSeq, mediaTime);
    }
  }

  function onFrame(now, meta) {
    panel.frames += 1;
    if (panel.lastMediaTime !== null) { /* half the shortest frame seen: never the next frame */
      var d = meta.mediaTime - panel.lastMediaTime;
      if (d > 0.002) halfFrame = Math.min(halfFrame, d / 2);
    }
    panel.lastMediaTime = meta.mediaTime;
    if (clock) clock.frame(meta.mediaTime);
    settle(meta.mediaTime);
    video.requestVideoFrameCallback(onFrame);
  }

  function watchFrames() {
    if (video.requestVideoFrameCallback) {
      video.requestVideoFrameCallback(onFrame);
    } else { /* older browsers: the picture's time, once per display frame */
      (function loop() {
        if (!video.paused) settle(video.currentTime);
        requestAnimationFrame(loop);
      })();
    }
    // Changes must also land while no frame is presented (paused, stalled, off air).
    setInterval(function () { settle(null); tick(); }, 250);
  }

  function queue(msg, stamp) {
    panel.pending.push({ msg: msg, seq: stamp && typeof stamp.seq === 'number' ? stamp.seq : null,
                         pdt: stamp && typeof stamp.pdt_ms === 'number' ? stamp.pdt_ms : null });
    settle(null);
  }

  // ---- what the channel says ----
  function onHello(h) {
    var m = h.msg;
    panel.pending = []; /* a fresh state replaces anything not yet shown */
    if (h.newEpoch) panel.seis = []; /* the relay restarted: its SEI numbering may too */
    panel.state = m.state;
    showViewers(m.viewers);
    queue(m, m.stamp);
  }

  function onEvent(m) {
    if (STAMPED[m.type]) queue(m, m);
    else if (m.type === 'viewers') showViewers(m.count);
    else if (m.type === 'order') addTicker(m);
    else if (m.type === 'stream') panel.state = m.state;
  }

  function showViewers(n) {
    ui.viewers.hidden = typeof n !== 'number';
    ui.viewers.textContent = ui.viewers.hidden ? '' : count(n) + ' watching';
  }

  function addTicker(m) {
    var li = document.createElement('li');
    li.textContent = 'Someone bought ' + m.qty + ' × ' + m.name;
    ui.ticker.insertBefore(li, ui.ticker.firstChild);
    while (ui.ticker.children.length > TICKER_MAX) ui.ticker.removeChild(ui.ticker.lastChild);
  }

  // ---- Buy ----
  var inFlight = false;
  function randomId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join('');
  }
  function buyer() { /* one id per browser: flash sales with a per-buyer limit need one */
    var id = null;
    try { id = localStorage.getItem('shopcast.buyer'); } catch (e) { /* storage off */ }
    if (!id) {
      id = 'b-' + randomId();
      try { localStorage.setItem('shopcast.buyer', id); } catch (e) { /* a session's id */ }
    }
    return id;
  }

  function say(text, kind) {
    ui.result.textContent = text;
    ui.result.className = 'buy-result' + (kind ? ' ' + kind : '');
  }

  function retryAfter(r, tries) {
    var s = Number(r && r.headers.get('Retry-After'));
    return s > 0 ? s * 1000 : Math.min(RETRY_CAP_MS, RETRY_MS * Math.pow(2, tries));
  }

  // Sends the order until it has an answer; a retry is the same order (the same order_id and body).
  function place(order) {
    order.attempts += 1;
    fetch('/api/v1/streams/' + encodeURIComponent(panel.streamId) + '/orders', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: order.body,
    }).then(function (r) {
      if (r.status === 503 && order.attempts < RETRIES) {
        say('Placing your order…');
        setTimeout(function () { place(order); }, retryAfter(r, order.attempts));
        return null;
      }
      return r.json().catch(function () { return {}; }).then(function (b) { answered(order, r, b); });
    }, function () {
      if (order.attempts >= RETRIES) { done(order, 0, null); say('No connection: try again.', 'bad'); return; }
      say('Connection lost, retrying…');
      setTimeout(function () { place(order); }, retryAfter(null, order.attempts));
    });
  }

  function done(order, status, body) {
    order.status = status;
    order.reply = body;
    inFlight = false;
    render();
  }

  function answered(order, r, b) {
    var p = panel.card && panel.card.product;
    done(order, r.status, b);
    if (r.status === 201) say('Order placed: ' + money(b.amount, b.currency) + '. Thank you!', 'good');
    else if (r.status === 200) say('This order was already placed.', 'good');
    else if (r.status === 429) {
      say('Too many orders at once: slow down and try again in a moment.', 'bad');
      ui.buy.disabled = true;
      setTimeout(render, retryAfter(r, 0));
    } else if (b.error === 'sold_out') say('Sold out.', 'bad');
    else if (b.error === 'limit_reached') say('You have bought the most this sale allows (' + b.limit + ').', 'bad');
    else if (b.error === 'buyer_required') say('This sale needs you signed in.', 'bad');
    else if (b.error === 'price_changed') {
      if (p && p.id === order.product) { p.price = b.price; if (b.currency) p.currency = b.currency; render(); }
      say('The price is now ' + money(b.price, b.currency || (p && p.currency)) + '. Tap Buy again to order at it.', 'bad');
    } else say('Order refused: ' + (b.error || 'HTTP ' + r.status) + '.', 'bad');
  }

  function buy() {
    var c = panel.card, p = c && c.pinned && c.product;
    if (!p || inFlight) return;
    var order = { order_id: randomId(), product: p.id, price: p.price, attempts: 0, status: null };
    order.body = JSON.stringify({ order_id: order.order_id, product: p.id, qty: 1, price: p.price,
                                  buyer: buyer() });
    panel.orders.push(order);
    inFlight = true;
    ui.buy.disabled = true;
    say('Placing your order…');
    place(order);
  }

  // Starts the panel: video (and hls, before it loads anything) play the stream.
  panel.attach = function (opts) {
    video = opts.video;
    hls = opts.hls || null;
    panel.streamId = opts.streamId;
    if (hls) hls.on(window.Hls.Events.FRAG_PARSING_USERDATA, onUserdata);
    else if (window.shopcastMediaClock) panel.clock = clock = window.shopcastMediaClock(video);
    ui.buy.addEventListener('click', buy);
    watchFrames();
    var s = window.shopcastSignal;
    s.on('hello', onHello);
    s.on('event', onEvent);
    s.start(opts.streamId);
  };

  window.shopcastPanel = panel;
})();
