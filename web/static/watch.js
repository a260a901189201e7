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
  var player = { video: video, hls: null, fatal: null, errors: [], jumps: [], replay: false };
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
  // on the lowest rung (bench/RESULTS.md). This estimator times each transfer from its first byte
  // to its last instead: shopcast sends a held response whole once the media exists, so that span
  // is the link's alone, with no wait for media and no parsing. The estimate is the bytes of the
  // last LINK_WINDOW transfers over their summed time: a ratio of sums, so a part that arrives in
  // one burst (time ~0) adds its bytes but no time and cannot swing it, and a window counted in
  // transfers forgets a fast past as quickly as a slow one. Limit: a part that fits in one packet
  // has no span to time (it counts as the 1 ms clock step), so a silent still stream reads as a
  // fast link. Uses AbrController's bwEstimator, initEstimator and bitrateTestDelay: hls.js is
  // pinned in package.json, and tests/integration/test_abr.py checks the outcome in Chromium.
  var CLOCK_STEP_MS = 1, LINK_WINDOW = 9; /* 9 parts: 3 s, as hls.js's fast average */

  class LinkEstimator {
    constructor(base) { /* base: hls.js's own estimator, kept for its time-to-first-byte average */
      this.base = base;
      this.loads = [];
    }
    sample(ms, bytes) {
      this.loads.push({ ms: Math.max(ms, CLOCK_STEP_MS), bytes: bytes });
      if (this.loads.length > LINK_WINDOW) this.loads.shift();
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
        var frag = data.frag;
        var stats = data.part && data.part.stats.loaded ? data.part.stats : frag.stats;
        if (stats.aborted || frag.type !== 'main' || frag.sn === 'initSegment' || frag.bitrateTest)
          return super.onFragBuffered(event, data);
        this.bwEstimator.sample(stats.loading.end - stats.loading.first, stats.loaded);
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

  function jumpToTarget(hls) {
    var details = hls.latestLevelDetails, sync = hls.liveSyncPosition, b = video.buffered;
    if (!details || !details.live || sync === null || video.paused || video.seeking || !b.length)
      return;
    var now = video.currentTime, end = b.end(b.length - 1);
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
