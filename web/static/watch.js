// Viewer page: plays /hls/<id>/master.m3u8 with hls.js in low-latency mode (or natively where the
// browser can), shows whether the stream is live, and recovers from network hiccups by itself.
(function () {
  'use strict';
  var id = location.pathname.split('/').filter(Boolean).pop();
  var video = document.getElementById('video');
  var badge = document.getElementById('badge');
  var message = document.getElementById('message');
  var unmute = document.getElementById('unmute');
  var src = '/hls/' + encodeURIComponent(id) + '/master.m3u8';
  var player = { video: video, hls: null, fatal: null, errors: [] };
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

  function poll() {
    fetch('/api/v1/streams/' + encodeURIComponent(id)).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (s) {
      if (s) showStream(s);
      else say('This stream does not exist.');
    }).catch(function () {}).finally(function () { setTimeout(poll, 5000); });
  }

  function play() {
    var p = video.play();
    if (p && p.catch) p.catch(function () { say('Tap to play'); });
  }

  function start() {
    if (window.Hls && Hls.isSupported()) {
      // Catch up (up to 1.5x) when behind the target latency: without it hls.js plays on
      // wherever it happened to start. After a stall hls.js adds liveSyncOnStallIncrease to its
      // target latency for the rest of the session (at most one target duration in all); one
      // stall, often at start-up while the browser is busy, should not cost a whole second
      // forever, so each stall adds a quarter of a second and repeated stalls still build up.
      var hls = new Hls({
        lowLatencyMode: true,
        backBufferLength: 30,
        maxLiveSyncPlaybackRate: 1.5,
        liveSyncOnStallIncrease: 0.25,
      });
      player.hls = hls;
      hls.on(Hls.Events.MANIFEST_PARSED, function () { say(''); play(); });
      hls.on(Hls.Events.ERROR, function (_, d) {
        player.errors.push(d.details);
        if (!d.fatal) return;
        if (d.type === Hls.ErrorTypes.NETWORK_ERROR) {
          say('Waiting for the stream…');
          setTimeout(function () { hls.loadSource(src); hls.startLoad(); }, 2000);
        } else if (d.type === Hls.ErrorTypes.MEDIA_ERROR) {
          hls.recoverMediaError();
        } else {
          player.fatal = d.details;
          say('Playback stopped (' + d.details + '). Reload the page to try again.');
        }
      });
      hls.loadSource(src);
      hls.attachMedia(video);
    } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
      video.src = src;
      video.addEventListener('loadedmetadata', play);
    } else {
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
