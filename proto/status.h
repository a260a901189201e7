/* Return codes shared by every module: 0 ok, negative error, and two flow-control codes.
 *
 * System errors are returned as -errno and AVERROR values pass through untouched. The two codes
 * below sit in a range neither uses (errno < 4096; AVERROR tags are large negative numbers). */
#ifndef PROTO_STATUS_H
#define PROTO_STATUS_H

#define RL_EAGAIN (-20001) /* need more bytes: call again with more input */
#define RL_DONE   (-20002) /* finished: nothing more will come from this object */

#endif
