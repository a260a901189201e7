/* A product's picture: an upload (PNG or JPEG) made into the card's thumbnail and stored with
 * shopcast_product_image, or removed.
 *
 * The upload is checked from its header on the network thread (its kind, its size in pixels),
 * so a refused one costs no decoding; decoding and scaling (relay/commerce/image.c) run on
 * libuv's thread pool, never on the network thread, which carries live media. At most
 * IMAGE_JOBS uploads are decoded at once, since one may take a few hundred MB at the pixel
 * limit; more get 503. A job outlives its request if the client goes: it finds the request
 * again by id, or not, and frees itself once Redis has answered. */
#include "relay/routes/routes.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#include "relay/commerce/commerce.h"
#include "relay/commerce/image.h"
#include "overlay/state.h"

#define IMAGE_JOBS 2

typedef struct image_job_s {
    uv_work_t work;
    rl_server_t *srv;
    uint64_t req_id;
    char stream[32];
    char *upload; /* taken from the request */
    size_t upload_len;
    uint8_t *thumb; /* SCI1 */
    size_t thumb_len;
    int w, h, rc;
    char err[160];
} image_job_t;

static int jobs_running; /* network thread only */

static void job_free(image_job_t *job)
{
    free(job->upload);
    free(job->thumb);
    free(job);
}

/* On the thread pool: only the job's own bytes are touched. */
static void job_work(uv_work_t *w)
{
    image_job_t *job = w->data;

    job->rc = rl_image_thumbnail((const uint8_t *)job->upload, job->upload_len, RL_IMAGE_SIDE_MAX,
                                 OV_THUMB_MAX, &job->thumb, &job->thumb_len, &job->w, &job->h,
                                 job->err, sizeof(job->err));
    free(job->upload);
    job->upload = NULL;
}

static int status_of(int rc)
{
    return rc == -ENOTSUP ? 415 : rc == -EFBIG ? 413 : rc == -ENOMEM ? 500 : 400;
}

/* The job is the reply's owner: it lives until Redis has answered. */
static void on_stored(void *owner, uint64_t token, int rc, redisReply *reply)
{
    image_job_t *job = owner;
    rl_http_req_t *r = rl__route_fcall_reply(job->srv, token, reply);

    (void)rc;
    if (r && reply->type != REDIS_REPLY_INTEGER)
        rl__route_bad_reply(r, "shopcast_product_image");
    else if (r)
        rl_http_respond_json(r, 200,
                             json_pack("{s:s, s:{s:i, s:i}, s:I}", "product", r->sub, "image",
                                       "width", job->w, "height", job->h, "seq",
                                       (json_int_t)reply->integer));
    job_free(job);
}

static void job_done(uv_work_t *w, int status)
{
    image_job_t *job = w->data;
    rl_http_req_t *r = rl_http_take_pending(job->srv, job->req_id);
    const char *args[2];
    size_t lens[2];

    jobs_running--;
    if (!r || status < 0 || job->rc < 0) {
        if (r)
            rl_http_error(r, status < 0 ? 500 : status_of(job->rc),
                          status < 0 ? "image decoding was cancelled" : job->err);
        job_free(job);
        return;
    }
    args[0] = r->sub;
    lens[0] = strlen(r->sub);
    args[1] = (const char *)job->thumb;
    lens[1] = job->thumb_len;
    if (rl__route_fcall(r, job, "shopcast_product_image", 0, job->stream, 2, args, lens,
                        on_stored) < 0)
        job_free(job);
}

/* Content-Type image/png or image/jpeg, parameters allowed. The bytes decide the decoder. */
static int is_image_type(rl_http_req_t *r)
{
    static const char *const types[] = { "image/png", "image/jpeg" };
    char ct[128];
    size_t n;

    if (lws_hdr_copy(r->wsi, ct, sizeof(ct), WSI_TOKEN_HTTP_CONTENT_TYPE) <= 0)
        return 0;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        n = strlen(types[i]);
        if (!strncasecmp(ct, types[i], n) && (!ct[n] || ct[n] == ';' || ct[n] == ' '))
            return 1;
    }
    return 0;
}

/* Whether the upload may be decoded now; answers r when not. */
static int admit(rl_http_req_t *r)
{
    char err[160];
    int rc;

    if (!is_image_type(r)) {
        rl_http_error(r, 415, "Content-Type must be image/png or image/jpeg");
        return 0;
    }
    if ((rc = rl_image_check((const uint8_t *)r->body, r->body ? r->body_len : 0, RL_IMAGE_SIDE_MAX,
                             err, sizeof(err))) < 0) {
        rl_http_error(r, status_of(rc), err);
        return 0;
    }
    if (!rl_commerce_ready(r->srv)) { /* no decoding for a picture that cannot be stored */
        rl_http_unavailable(r, "Redis unavailable");
        return 0;
    }
    if (jobs_running >= IMAGE_JOBS) {
        r->retry_after = 1;
        rl_http_error(r, 503, "busy decoding other uploads: try again");
        return 0;
    }
    return 1;
}

void rl_route_product_image_put(rl_http_req_t *r, const char *id)
{
    image_job_t *job;

    if (!admit(r))
        return;
    if (!(job = calloc(1, sizeof(*job)))) {
        rl_http_error(r, 500, "out of memory");
        return;
    }
    job->srv = r->srv;
    job->req_id = r->id;
    snprintf(job->stream, sizeof(job->stream), "%s", id);
    job->upload = r->body; /* takes ownership of the body */
    job->upload_len = r->body_len;
    r->body = NULL;
    r->body_len = r->body_cap = 0;
    job->work.data = job;
    if (uv_queue_work(&r->srv->loop, &job->work, job_work, job_done) < 0) {
        job_free(job);
        rl_http_error(r, 500, "cannot queue the decoding");
        return;
    }
    jobs_running++;
    rl_http_wait_reply(r);
}

void rl_route_product_image_delete(rl_http_req_t *r, const char *id)
{
    const char *args[2] = { r->sub, "" };

    rl__route_fcall(r, r->srv, "shopcast_product_image", 0, id, 2, args, NULL, rl__route_on_done);
}
