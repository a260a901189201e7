// Product replay (讲解回放) on the viewer page of a show that has ended: plays the stream's newest
// recording that has chapters (its VOD HLS) and lists "Watch the part about <product>" links,
// each of which seeks the video to where that product was pinned. The chapters come from
// GET /api/v1/streams/<id>/recordings/<session>/chapters (README, "Product replay"): start_s is
// seconds from the VOD's first frame, the player's own timeline. Every string from the server goes
// into the page as text (textContent), never as markup.
// API: window.shopcastReplay.start({video, streamId, container, takeVideo}); container is an empty
// element (hidden until there is something to show); takeVideo, if given, is called just before
// the replay takes the video over, only when there is a recording with chapters to play (so the
// page may keep waiting for the live stream otherwise). Returns a promise of whether it plays.
// window.shopcastReplay.state says what it did.
(function () {
  var SEEK_INTO_S = 0.005; /* under a frame at 120 fps */
  'use strict';
  var state = { vod: null, session: null, chapters: [], hls: null, seekedTo: null, error: null };

  function json(url) {
    return fetch(url).then(function (r) {
      if (!r.ok) throw new Error(url + ': ' + r.status);
      return r.json();
    });
  }

  // Session names are UTC start times ("20261129T144602Z-1"): newest first by name.
  function newestFirst(recs) {
    return recs.filter(function (r) { return r.chapters_url; }).sort(function (a, b) {
      return a.session < b.session ? 1 : a.session > b.session ? -1 : 0;
    });
  }

  // The first of recs (newest first) whose chapters list something, with them.
  function withChapters(recs, i) {
    if (i >= recs.length) return Promise.resolve(null);
    return json(recs[i].chapters_url).then(function (c) {
      return c.chapters && c.chapters.length ? { rec: recs[i], chapters: c.chapters } : null;
    }, function () { return null; }).then(function (found) {
      return found || withChapters(recs, i + 1);
    });
  }

  function play(video, src) {
    if (window.Hls && Hls.isSupported()) {
      // A recording: no live edge, so hls.js's defaults (not low latency) fit.
      var hls = new Hls({ lowLatencyMode: false });
      state.hls = hls;
      hls.on(Hls.Events.ERROR, function (_, d) {
        if (!d.fatal) return;
        if (d.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
        else state.error = d.details;
      });
      hls.loadSource(src);
      hls.attachMedia(video);
    } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
      video.src = src;
    } else {
      state.error = 'no HLS playback in this browser';
    }
  }

  function whenReady(video, fn) {
    if (video.readyState >= 1) fn();
    else video.addEventListener('loadedmetadata', fn, { once: true });
  }

  function seek(video, chapter) {
    whenReady(video, function () {
      // Chapter times are whole milliseconds, and a frame's time is not (8.6333 s at 30 fps): a
      // seek to 8.633 would show the frame before the chapter. A few ms in is its first frame.
      state.seekedTo = chapter.start_s + SEEK_INTO_S;
      video.currentTime = state.seekedTo;
      var p = video.play();
      if (p && p.catch) p.catch(function () {});
    });
  }

  function link(video, chapter) {
    var li = document.createElement('li');
    var a = document.createElement('a');
    a.href = '#' + encodeURIComponent(chapter.id);
    a.className = 'chapter';
    a.dataset.product = chapter.product;
    a.textContent = 'Watch the part about ' + chapter.name;
    a.addEventListener('click', function (e) {
      e.preventDefault();
      seek(video, chapter);
    });
    li.appendChild(a);
    return li;
  }

  function show(o, found) {
    var h = document.createElement('h2');
    var list = document.createElement('ul');
    h.textContent = 'Product replay';
    found.chapters.forEach(function (c) { list.appendChild(link(o.video, c)); });
    o.container.textContent = '';
    o.container.appendChild(h);
    o.container.appendChild(list);
    o.container.hidden = false;
  }

  function start(o) {
    var base = '/api/v1/streams/' + encodeURIComponent(o.streamId);
    return json(base + '/recordings').then(function (r) {
      return withChapters(newestFirst(r.recordings || []), 0);
    }).then(function (found) {
      if (!found) return false;
      if (o.takeVideo) o.takeVideo();
      state.vod = found.rec.vod_url;
      state.session = found.rec.session;
      state.chapters = found.chapters;
      play(o.video, found.rec.vod_url);
      show(o, found);
      return true;
    }).catch(function (e) { state.error = String(e); return false; });
  }

  window.shopcastReplay = { start: start, state: state };
})();
