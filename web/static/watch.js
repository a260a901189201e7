// Viewer page: plays /hls/<id>/master.m3u8 with hls.js in low-latency mode (or natively where the
// browser can), shows whether the stream is live, and recovers from network hiccups by itself.
// The product panel and the live channel are panel.js and signal.js; a show that is neither live
// nor on air is handed to replay.js (window.shopcastReplay), when the page has it.
(function () {
  'use strict';
  var id = location.pathname.split('/').filter(Boolean).pop();
  var video = document.getElementById('video');
  var badge = document.getElementById('badge');
  var message = document.getElementById('message');
  var unmute = document.getElementById('unmute');
  var src = '/hls/' + encodeURIComponent(id) + '/master.m3u8';
  var player = { video: video, hls: null, fatal: null, errors: [], jumps: [], resyncs: [], replay: false,
                 timed: { resource: 0, server: 0, none: 0 } }; /* linkTime's sources */
  window.shopcastPlayer = player;

  function say(text) {
    message.textContent = text || '';
    message.hidden = !text;
  }

  function showStream(s) {
    document.getElementById('title').textContent = s.title || 'Live sale';
    document.title = (s.title || 'Live sale') + ' · shopcast';
    badge.textContent = s.live ? 'live' : s.on_air ? 'back soon' : 'offline';
    badge.className = 'badge' + (s.live ? ' live' : '');
  }

  // --- product replay (sig-replay): a show that has ended plays its recording instead ---
  var replayTried = false, replaying = false;
  function takeVideo() { // only once a recording with chapters was found
    replaying = true;
    if (player.hls) { player.hls.destroy(); player.hls = null; }
    say('');
  }
  function replayIfEnded(s) {
    if (replaying && s.live) location.reload(); // the seller is back: live again
    if (replayTried || s.live || s.on_air || !window.shopcastReplay) return;
    replayTried = true;
    window.shopcastReplay.start({ video: video, streamId: id, container: document.getElementById('replay'),
                                  takeVideo: takeVideo });
  }
  // --- end of product replay ---

  function poll() {
    fetch('/api/v1/streams/' + encodeURIComponent(id)).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (s) {
      if (s) { showStream(s); replayIfEnded(s); } // replayIfEnded: product replay (sig-replay)
      else say('This stream does not exist.');
    }).catch(function () {}).finally(function () { setTimeout(poll, 5000); });
  }

  function play() {
    var p = video.play();
    if (p && p.catch) p.catch(function () { say('Tap to play'); });
  }

  // hls.js 1.6 estimates the link per part as bytes / (request start to parsed, less the usual
  // time to first byte), and any sample under 50 ms counts as 50 ms. On a fast link a part
  // arrives in a millisecond or two, so the estimate is part size / 50 ms: it follows the picture,
  // not the link, and a still picture (parts of ~6 KB, mostly audio: ~1 Mbit/s) kept every viewer
  // on the lowest rung (bench/RESULTS.md). This estimator times the link alone, from the
  // browser's Resource Timing of each request: request sent to last byte, less what shopcast says
  // in Server-Timing (relay/http/http.c) it held the request for (a part asked for before it
  // existed) and the connection's least round trip; and never less than first byte to last.
  // Resource Timing is the network stack's own clock: XMLHttpRequest's events come 3-9 ms later
  // on a busy machine, a fixed cost that read a fast link as 3 Mbit/s with 3 kB parts. And time
  // from the request, not from the first byte, is what times a response that arrives in one
  // read, as a still picture's few-kB parts do on a link that delivers in bursts (and always
  // under Chromium's network emulation): first to last is 0 there, which read a 1.2 Mbit/s link
  // as fast and chose 720p. Without Resource Timing or Server-Timing (another server, a cache,
  // another origin without Timing-Allow-Origin) the transfer is first byte to last as hls.js saw
  // it. The estimate is the bytes of the transfers of the last LINK_WINDOW_S of media over their
  // summed time: a ratio of sums, so one odd transfer cannot swing it, and a window counted in
  // media forgets a fast past as quickly as a slow one, whatever the part length. Uses
  // AbrController's bwEstimator, initEstimator and bitrateTestDelay: hls.js is pinned in
  // package.json, and tests/integration/test_abr.py checks the outcome in Chromium.
  var CLOCK_STEP_MS = 1, LINK_WINDOW_S = 3; /* 3 s, as hls.js's fast average */
  var TIMINGS_MAX = 64;
  var timings = new Map(); /* URL -> Resource Timing entry, until linkTime takes it */

  // Entries come to the observer some time after the response, at times after hls.js has
  // buffered the part; the page's buffer has them at once, but holds 250 (40 s of a stream), and
  // once it was full a third of the parts went untimed, their one-read transfers taken as fast:
  // hls.js climbed to 720p on test_abr's 1.2 Mbit/s link and stalled. So the buffer is emptied
  // whenever it fills (nothing else on the page reads it: mediaclock.js observes).
  if (performance.clearResourceTimings && performance.addEventListener)
    performance.addEventListener('resourcetimingbufferfull', function () {
      performance.clearResourceTimings();
    });
  if (window.PerformanceObserver) {
    try {
      new PerformanceObserver(function (list) {
        list.getEntries().forEach(function (e) {
          if (e.initiatorType !== 'xmlhttprequest') return;
          timings.set(e.name, e);
          if (timings.size > TIMINGS_MAX) timings.delete(timings.keys().next().value);
        });
      }).observe({ type: 'resource' });
    } catch (e) { /* no Resource Timing: first byte to last */ }
  }

  // ms the link took to bring url (loading: hls.js's times for it)
  function linkTime(url, loading) {
    var e = timings.get(url) || performance.getEntriesByName(url).pop(), ms = loading.end - loading.first;
    var server = {};
    timings.delete(url);
    if (e && e.requestStart > 0) { /* 0: another origin that did not allow timing */
      (e.serverTiming || []).forEach(function (t) { server[t.name] = t.duration; });
      ms = e.responseEnd - e.responseStart;
      if ('hold' in server && 'rtt' in server)
        ms = Math.max(ms, e.responseEnd - e.requestStart - server.hold - server.rtt);
      player.timed['hold' in server ? 'server' : 'resource']++;
    } else {
      player.timed.none++;
    }
    return Math.max(ms, CLOCK_STEP_MS);
  }

  class LinkEstimator {
    constructor(base) { /* base: hls.js's own estimator, kept for its time-to-first-byte average */
      this.base = base;
      this.loads = [];
    }
    sample(ms, bytes, seconds) {
      var media = 0;
      this.loads.push({ ms: ms, bytes: bytes, seconds: seconds });
      this.loads.forEach(function (l) { media += l.seconds; });
      while (this.loads.length > 1 && media - this.loads[0].seconds >= LINK_WINDOW_S)
        media -= this.loads.shift().seconds;
    }
    canEstimate() { return this.loads.length > 0; }
    getEstimate() {
      var ms = 0, bytes = 0;
      if (!this.loads.length) return this.base.defaultEstimate;
      this.loads.forEach(function (l) { ms += l.ms; bytes += l.bytes; });
      return (8000 * bytes) / ms;
    }
    get defaultEstimate() { return this.base.defaultEstimate; }
    sampleTTFB(ms) { this.base.sampleTTFB(ms); }
    getEstimateTTFB() { return this.base.getEstimateTTFB(); }
    update(slow, fast) { this.base.update(slow, fast); }
    destroy() {}
  }

  function linkAbrController(Base) {
    return class extends Base {
      initEstimator() { return new LinkEstimator(super.initEstimator()); }
      onFragBuffered(event, data) {
        var frag = data.frag, part = data.part && data.part.stats.loaded ? data.part : null;
        var stats = (part || frag).stats;
        if (stats.aborted || frag.type !== 'main' || frag.sn === 'initSegment' || frag.bitrateTest)
          return super.onFragBuffered(event, data);
        this.bwEstimator.sample(linkTime((part || frag).url, stats.loading), stats.loaded,
                                (part || frag).duration);
        stats.bwEstimate = this.bwEstimator.getEstimate();
        this.bitrateTestDelay = 0;
        spareCatchUp(this.hls, stats.bwEstimate);
      }
    };
  }

  // Catching up on the target latency at rate r plays, and so must fetch, r times the rendition's
  // bitrate, and hls.js does it whenever more than one second is buffered: on a link with little
  // to spare over the rendition (1.2 Mbit/s against 360p's 1.02 Mbit/s peak) 1.5x drained the
  // buffer to that second, and the next larger-than-average segment stalled playback
  // (tests/integration/test_abr.py). So the catch-up rate is what the link can spare: half of the
  // estimate's margin over the rendition's declared peak, from none up to MAX_CATCH_UP. hls.js
  // reads its config on every check, and leaves the rate alone once the limit is 1, so the page
  // puts a sped-up video back to 1 itself.
  var MAX_CATCH_UP = 1.5, MIN_CATCH_UP = 1.05;

  function spareCatchUp(hls, estimate) {
    var level = hls.levels[hls.currentLevel];
    if (!level || !level.bitrate) return;
    var rate = Math.min(MAX_CATCH_UP, 1 + (estimate / level.bitrate - 1) / 2);
    if (rate < MIN_CATCH_UP) {
      rate = 1;
      if (video.playbackRate > 1) video.playbackRate = 1;
    }
    hls.config.maxLiveSyncPlaybackRate = rate;
  }

  // hls.js starts at the independent part before its target position: with a keyframe a segment
  // (1 s), that is on average half a segment further behind than the target, and it catches up
  // only with more than one second buffered, which a sub-second target never has. So it stayed
  // 0.5 s behind for good (bench/RESULTS.md, glass-to-glass at 200 ms parts). When it is more than
  // JUMP_MIN_S behind its target and will not catch up by itself, the page jumps forward to the
  // target within what is already buffered, keeping three parts ahead (the least PART-HOLD-BACK
  // the LL-HLS spec allows: what absorbs a late part; with two, a part that the encoder's worker
  // delivered 300 ms late on a busy machine emptied the buffer): no request, only frames skipped,
  // once. The target is hls.js's own, so it grows with stalls as hls.js's does.
  var JUMP_MIN_S = 0.25, CATCH_UP_BUFFER_S = 1; /* hls.js's rate catch-up needs > 1 s buffered */
  // A viewer more than LIVE_MAX_BEHIND_S behind its target latency is put back at the live edge:
  // hls.js's rate catch-up works only within a target duration of its target, and the jump above
  // only within what is buffered, so a player that started far back (once in a glass-to-glass
  // run, 15 s: bench/RESULTS.md) stayed there, the product card's countdown 15 s late. Counted
  // from the target, which hls.js raises with each stall, so that a viewer on a slow link whose
  // stalls put it a few seconds behind is not sent to the edge to stall again (test_abr.py: with
  // 5 s from the edge it was, at 4.96 s). (hls.js's own liveMaxLatencyDurationCount cannot be
  // used: it must come with liveSyncDurationCount, which then overrides PART-HOLD-BACK.)
  var LIVE_MAX_BEHIND_S = 5;

  function jumpToTarget(hls) {
    var details = hls.latestLevelDetails, sync = hls.liveSyncPosition, b = video.buffered;
    if (!details || !details.live || sync === null || video.paused || video.seeking || !b.length)
      return;
    var now = video.currentTime, end = b.end(b.length - 1);
    if (hls.latency > hls.targetLatency + LIVE_MAX_BEHIND_S) {
      player.resyncs.push({ from: now, to: sync, latency: hls.latency, target: hls.targetLatency });
      video.currentTime = sync;
      return;
    }
    if (now < b.start(b.length - 1) || end - now > CATCH_UP_BUFFER_S) return;
    var to = Math.min(sync, end - 3 * (details.partTarget || details.targetduration));
    if (to - now < JUMP_MIN_S || hls.latency - hls.targetLatency < JUMP_MIN_S) return;
    // only where the link has plenty to spare (spareCatchUp allows the full rate): on a link
    // barely above the rendition, a thin buffer is what stalls (tests/integration/test_abr.py)
    if (hls.config.maxLiveSyncPlaybackRate < MAX_CATCH_UP) return;
    player.jumps.push({ from: now, to: to, latency: hls.latency, target: hls.targetLatency });
    video.currentTime = to;
  }

  // The browser's own player gives up for good on an error: Chromium 156's stops with
  // DEMUXER_ERROR_COULD_NOT_PARSE when it has played every segment of a stream that has only just
  // started (two segments) before the next one is listed. So it starts again, a little later
  // each time (2 s, doubling to 16 s), and from the live edge.
  function nativeRetry() {
    var wait = 2000;
    video.addEventListener('error', function () {
      if (replaying) return; // product replay (sig-replay)
      player.errors.push(video.error ? video.error.message || 'code ' + video.error.code : 'error');
      say('Waiting for the stream…');
      setTimeout(function () { video.src = src; video.load(); }, wait);
      wait = Math.min(wait * 2, 16000);
    });
    video.addEventListener('playing', function () { wait = 2000; });
  }

  function start() {
    if (window.Hls && Hls.isSupported()) {
      // Catch up (up to 1.5x, as far as the link can spare: spareCatchUp) when behind the target
      // latency: without it hls.js plays on wherever it happened to start. After a stall hls.js
      // adds liveSyncOnStallIncrease to its target latency for the rest of the session (at most
      // one target duration in all); one stall, often at start-up while the browser is busy,
      // should not cost a whole second forever, so each stall adds a quarter of a second and
      // repeated stalls still build up.
      var hls = new Hls({
        lowLatencyMode: true,
        backBufferLength: 30,
        maxLiveSyncPlaybackRate: MAX_CATCH_UP,
        liveSyncOnStallIncrease: 0.25,
        abrController: linkAbrController(Hls.DefaultConfig.abrController),
      });
      player.hls = hls;
      window.shopcastPanel.attach({ video: video, hls: hls, streamId: id }); /* before any load */
      hls.on(Hls.Events.MANIFEST_PARSED, function () { say(''); play(); });
      hls.on(Hls.Events.ERROR, function (_, d) {
        player.errors.push(d.details);
        if (!d.fatal || replaying) return; // replaying: product replay (sig-replay)
        if (d.type === Hls.ErrorTypes.NETWORK_ERROR) {
          say('Waiting for the stream…');
          setTimeout(function () {
            if (player.hls === hls) { hls.loadSource(src); hls.startLoad(); }
          }, 2000);
        } else if (d.type === Hls.ErrorTypes.MEDIA_ERROR) {
          hls.recoverMediaError();
        } else {
          player.fatal = d.details;
          say('Playback stopped (' + d.details + '). Reload the page to try again.');
        }
      });
      video.addEventListener('timeupdate', function () {
        if (player.hls === hls && !replaying) jumpToTarget(hls);
      });
      hls.loadSource(src);
      hls.attachMedia(video);
    } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
      window.shopcastPanel.attach({ video: video, hls: null, streamId: id });
      video.src = src;
      video.addEventListener('loadedmetadata', play);
      nativeRetry();
    } else {
      window.shopcastPanel.attach({ video: video, hls: null, streamId: id });
      say('This browser cannot play live video.');
    }
  }

  video.addEventListener('playing', function () { say(''); unmute.hidden = !video.muted; });
  unmute.addEventListener('click', function () { video.muted = false; unmute.hidden = true; play(); });
  message.addEventListener('click', play);
  say('Connecting…');
  poll();
  start();
})();
