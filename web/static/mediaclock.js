// The PROGRAM-DATE-TIME of the frame on screen, for a browser that plays HLS itself (no hls.js).
// Safari says it: getStartDate() is the PROGRAM-DATE-TIME of media time 0. Chromium's own HLS
// (Chromium 156) does not (no getStartDate(), seekable empty), so this learns it from what the
// browser shows the page:
//   - which whole segments the player fetched, and when each request started: Resource Timing
//     entries of initiatorType 'video' (.../<rung>/seg-<msn>.m4s);
//   - where the buffered media ends, after each append: video.buffered;
//   - each segment's PROGRAM-DATE-TIME and EXTINF: the media playlist of the rung it came from,
//     fetched by the page when a segment it needs is not known yet.
// The player fetches one segment at a time and appends its data as it arrives, so while a
// segment's request is the newest one, the buffer grows by that segment; where the buffer ends
// once it is all in is that segment's end, in PROGRAM-DATE-TIME, which gives the offset between
// the two clocks. Only a request that started ISOLATED_MS or more after the one before it and
// before the one after it counts: in a burst (start-up, a switch of rung) an append may only be
// seen once the next request has started, and would be taken for the wrong segment.
// The buffered end is where audio and video both end, and audio may end before the video does
// (an AAC frame is 21 ms; this publisher's audio also started 19 ms before its video): so the
// segment's video ends at the first presented frame at or after that end (the next segment's
// first frame), and the offset is taken from that frame. Then it is exact, unless the audio ends
// a whole frame or more before the video, that frame was dropped, or a busy page saw an append
// late: so the offset is the one most of the last VOTES segments agree on (agreed()). A new
// timeline (the page loaded the stream again) is learnt anew, two segments in.
// Limit: a player that fetches parts (EXT-X-PART) is not followed (pdtAt returns null).
(function () {
  'use strict';
  var AGREE_MS = 25, KEEP = 12, PLAYLIST_GAP_MS = 500, ISOLATED_MS = 300, SETTLE_MS = 3000;
  var FRAME_SLACK = 0.0015; /* s: a frame's time and a buffered end, each rounded to the ms */
  var VOTES = 5;
  var RECHECK = 10; /* while segments agree with the offset, one in RECHECK is looked up (a playlist
                       fetch); after one that does not, every one, until they agree again */
  var SEGMENT = /\/seg-(\d+)\.m4s(?:[?#]|$)/, PART = /\/part-\d+\.\d+\.m4s(?:[?#]|$)/;

  function parsePlaylist(text, dates) { /* msn -> {pdt (Unix ms), dur (ms)} for each segment */
    var seq = 0, pdt = null, dur = null;
    text.split('\n').forEach(function (raw) {
      var line = raw.trim(), m;
      if ((m = /^#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(line))) seq = Number(m[1]);
      else if ((m = /^#EXT-X-PROGRAM-DATE-TIME:(.+)$/.exec(line))) pdt = Date.parse(m[1]);
      else if ((m = /^#EXTINF:([\d.]+)/.exec(line))) dur = Number(m[1]) * 1000;
      else if (line && line[0] !== '#') {
        if (pdt !== null && !isNaN(pdt) && dur !== null) dates[seq] = { pdt: pdt, dur: dur };
        if (pdt !== null && dur !== null) pdt += dur; /* the next segment follows on */
        seq += 1;
        dur = null;
      }
    });
  }

  function MediaClock(video) {
    this.video = video;
    this.loads = [];      /* segment requests, by start: {msn, url, start (performance ms),
                             end: the furthest buffered end (s) seen while it was the newest} */
    this.dates = {};      /* msn -> {pdt, dur} */
    this.growths = [];    /* buffered end changes not yet credited to a request: {at, end} */
    this.ends = [];       /* segment ends waiting for their frame: {pdt (ms), end (s)} */
    this.cands = [];      /* offsets (ms): pdt = offset + mediaTime * 1000 */
    this.offset = null;
    this.steady = false;  /* the last segment looked up agreed with the offset */
    this.lastEnd = null;
    this.presented = -1;  /* the last presented frame's mediaTime */
    this.parts = false;
    this.fetching = 0;
    var self = this;
    video.addEventListener('emptied', function () { self.reset(); }); /* a new load: a new timeline */
    if (window.PerformanceObserver) {
      try {
        new PerformanceObserver(function (list) { list.getEntries().forEach(self.entry, self); })
          .observe({ type: 'resource', buffered: true });
      } catch (e) { /* no Resource Timing: pdtAt stays null */ }
    }
  }

  MediaClock.prototype.reset = function () {
    this.loads = [];
    this.growths = [];
    this.ends = [];
    this.presented = -1;
    this.cands = [];
    this.offset = null;
    this.steady = false;
    this.lastEnd = null;
  };

  MediaClock.prototype.entry = function (e) {
    if (e.initiatorType !== 'video') return;
    if (PART.test(e.name)) { this.parts = true; return; }
    var m = SEGMENT.exec(e.name);
    if (!m) return;
    this.loads.push({ msn: Number(m[1]), url: e.name, start: e.startTime, end: null });
    this.loads.sort(function (a, b) { return a.start - b.start; });
  };

  // Called on each presented frame and a few times a second.
  MediaClock.prototype.update = function () {
    var b = this.video.buffered, now = performance.now();
    if (b.length) {
      var end = b.end(b.length - 1);
      if (this.lastEnd === null || Math.abs(end - this.lastEnd) > 1e-3)
        this.growths.push({ at: now, end: end });
      this.lastEnd = end;
    }
    while (this.growths.length && this.credit(this.growths[0], now)) this.growths.shift();
    while (this.loads.length > 2 && this.resolve(this.loads[1], this.loads[0], this.loads[2], now))
      this.loads.shift();
    if (this.loads.length > 64) this.loads.shift();
    if (this.growths.length > 256) this.growths.shift();
  };

  // A growth is the newest request's at the time. An entry comes in when its response has ended,
  // so which request that was is known once one that started later is in (or SETTLE_MS on).
  MediaClock.prototype.credit = function (g, now) {
    var n = this.loads.length, last = null;
    if (!n || (this.loads[n - 1].start <= g.at && now - g.at < SETTLE_MS)) return false;
    for (var i = 0; i < n && this.loads[i].start <= g.at; i++) last = this.loads[i];
    if (last && (last.end === null || g.end > last.end)) last.end = g.end;
    return true;
  };

  // A request, once the next one has started (or SETTLE_MS went by): done with, true.
  MediaClock.prototype.resolve = function (load, prev, next, now) {
    if (next.start - load.start < ISOLATED_MS || load.start - prev.start < ISOLATED_MS ||
        load.end === null)
      return true;
    var d = this.dates[load.msn];
    if (!d && this.steady && load.msn % RECHECK) return true; /* known: checked now and then */
    if (!d) { this.fetchDates(load); return now - next.start > SETTLE_MS; }
    for (var k in this.dates) if (Number(k) < load.msn - 100) delete this.dates[k];
    if (this.video.requestVideoFrameCallback && this.presented < load.end - FRAME_SLACK)
      this.ends.push({ pdt: d.pdt + d.dur, end: load.end }); /* its frame is still to come */
    else
      this.take(d.pdt + d.dur - load.end * 1000); /* no frame times: the buffered end itself */
    return true;
  };

  // Each presented frame (requestVideoFrameCallback's mediaTime), in order.
  MediaClock.prototype.frame = function (mediaTime) {
    this.presented = mediaTime;
    while (this.ends.length && mediaTime >= this.ends[0].end - FRAME_SLACK) {
      var e = this.ends.shift();
      if (mediaTime - e.end < 0.1) this.take(e.pdt - mediaTime * 1000); /* else a gap: no frame */
    }
    if (this.ends.length > KEEP) this.ends.shift();
  };

  MediaClock.prototype.take = function (cand) {
    this.cands.push(cand);
    if (this.cands.length > KEEP) this.cands.shift();
    this.offset = this.agreed();
    this.steady = this.offset !== null && Math.abs(cand - this.offset) <= AGREE_MS;
  };

  // The offset most of the last VOTES segments agree on (within AGREE_MS; at least two; a tie
  // goes to the newer), the smallest of them; else the one held so far.
  MediaClock.prototype.agreed = function () {
    var c = this.cands.slice(-VOTES), best = null, most = 1;
    for (var i = c.length - 1; i >= 0; i--) {
      var near = c.filter(function (x) { return Math.abs(x - c[i]) <= AGREE_MS; });
      if (near.length > most) { most = near.length; best = Math.min.apply(null, near); }
    }
    return best === null ? this.offset : best;
  };

  MediaClock.prototype.fetchDates = function (load) {
    var self = this, now = performance.now();
    if (now - this.fetching < PLAYLIST_GAP_MS) return;
    this.fetching = now;
    var url = load.url.replace(/seg-\d+\.m4s.*$/, 'media.m3u8');
    fetch(url, { cache: 'no-store' }).then(function (r) { return r.ok ? r.text() : ''; })
      .then(function (text) { parsePlaylist(text, self.dates); }, function () {});
  };

  // The PROGRAM-DATE-TIME (Unix ms) of the frame at mediaTime, or null while not known.
  MediaClock.prototype.pdtAt = function (mediaTime) {
    var v = this.video, start = v.getStartDate ? v.getStartDate().getTime() : NaN;
    if (!isNaN(start)) return start + mediaTime * 1000; /* Safari */
    if (this.parts || this.offset === null) return null;
    return this.offset + mediaTime * 1000;
  };

  window.shopcastMediaClock = function (video) { return new MediaClock(video); };
})();
