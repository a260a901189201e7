/* Media worker: one thread per live stream, fed through a bounded queue from the network thread.
 *
 * Until the transcoder exists the worker is the recorder: with recording on it writes each
 * publish session to an MP4 file through libavformat; with it off it only drains the queue.
 * The queue holds at most `capacity` packets. When it is full the network thread drops, and the
 * drop is deliberate: audio packets are dropped one by one, video drops until the next keyframe
 * so that nothing downstream decodes a frame whose references were lost. Every drop is counted. */
#ifndef RELAY_MEDIA_H
#define RELAY_MEDIA_H

#include <libavcodec/avcodec.h>
#include <stdatomic.h>
#include <stddef.h>

enum { RL_MEDIA_VIDEO = 0, RL_MEDIA_AUDIO = 1, RL_MEDIA_NB };

typedef struct rl_media_s rl_media_t;

typedef struct rl_media_opts_s {
    const char *stream_id;
    const char *record_path;       /* NULL: do not record */
    int capacity;                  /* packets */
    void (*on_done)(void *opaque); /* called on the worker thread as it exits; must only wake */
    void *opaque;
} rl_media_opts_t;

typedef struct rl_media_stats_s {
    atomic_uint_fast64_t packets_in;
    atomic_uint_fast64_t dropped;
    atomic_uint_fast64_t bytes_written;
    atomic_uint_fast64_t ts_fixed; /* timestamps that went backwards and were mended */
} rl_media_stats_t;

/* Starts the worker thread. Returns NULL with err filled on failure. */
rl_media_t *rl_media_start(const rl_media_opts_t *o, char *err, size_t errlen);

/* Network thread only. A codec configuration for kind; par is copied. Never dropped. */
int rl_media_push_params(rl_media_t *m, int kind, const AVCodecParameters *par);

/* Network thread only. Takes ownership of *pkt (set to NULL) whether queued or dropped.
 * Returns 0, or -ENOBUFS when the packet was dropped (queue full or waiting for a keyframe). */
int rl_media_push_packet(rl_media_t *m, int kind, AVPacket **pkt);

/* Network thread only. No more input: the worker drains, closes the file and exits. */
void rl_media_finish(rl_media_t *m);

int rl_media_exited(rl_media_t *m);
rl_media_stats_t *rl_media_stats(rl_media_t *m);

/* Joins the thread (waiting for it if it has not exited) and frees everything; NULLs *m. */
void rl_media_free(rl_media_t **m);

#endif
