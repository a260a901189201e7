/* Recorder: one publish session written to an MP4 file through libavformat.
 *
 * Worker thread only. Fragmented MP4, so a crash or power cut loses at most the last fragment.
 * The file opens at the first video keyframe (or the first audio packet of an audio-only stream)
 * and closes when the recorder is freed. A codec change mid-session ends the file: MP4 cannot
 * change its sample description half way. */
#ifndef RELAY_RECORDER_H
#define RELAY_RECORDER_H

#include <libavcodec/avcodec.h>
#include <stdint.h>

typedef struct rl_recorder_s rl_recorder_t;

rl_recorder_t *rl_recorder_new(const char *stream_id, const char *path);
/* kind: RL_MEDIA_VIDEO or RL_MEDIA_AUDIO; par is copied. */
void rl_recorder_params(rl_recorder_t *r, int kind, const AVCodecParameters *par);
/* pts/dts in ms; the packet is borrowed but its fields may be changed. */
void rl_recorder_packet(rl_recorder_t *r, int kind, AVPacket *pkt);
uint64_t rl_recorder_ts_fixed(const rl_recorder_t *r);
/* Closes the file properly and frees; NULLs *r. */
void rl_recorder_free(rl_recorder_t **r);

#endif
