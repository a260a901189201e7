/* Unit tests for relay/media/compose.c: which frames are stamped (the first one, the first of
 * each change of what the card shows, once the card is in the picture, several versions between
 * two frames making one stamp),
 * which carry shopcast's SEI (those, and keyframes), and that the card is drawn on the frame
 * without touching a buffer the decoder still holds. */
#include <criterion/criterion.h>

#include <libavutil/frame.h>
#include <string.h>

#include "proto/sei.h"
#include "relay/media/compose.h"

#define SEQ0 1000

static rl_compose_t *c;
static AVFrame *f;
static int64_t pts;

static void setup(void)
{
    c = rl_compose_new("abc", SEQ0);
    f = av_frame_alloc();
    f->format = AV_PIX_FMT_YUV420P;
    f->width = 640;
    f->height = 360;
    cr_assert_eq(av_frame_get_buffer(f, 0), 0);
}

static void teardown(void)
{
    rl_compose_free(&c);
    av_frame_free(&f);
}

TestSuite(compose, .init = setup, .fini = teardown);

/* A grey picture, shown at 1 s + pts on the wall clock. */
static void grey(int key)
{
    cr_assert_eq(av_frame_make_writable(f), 0);
    for (int p = 0; p < 3; p++)
        memset(f->data[p], p ? 128 : 100, (size_t)f->linesize[p] * (p ? f->height / 2 : f->height));
    f->pts = pts += 33;
    f->pict_type = key ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
}

static int frame(int key, rl_stamp_t *s)
{
    grey(key);
    return rl_compose_frame(c, f, 1000 + f->pts, f->pts - 10, s);
}

static int luma_changed(const AVFrame *fr)
{
    for (int y = 0; y < fr->height; y++)
        for (int x = 0; x < fr->width; x++)
            if (fr->data[0][y * fr->linesize[0] + x] != 100)
                return 1;
    return 0;
}

/* Frames until one is stamped (a card slides in first): how many went before it, none drawn. */
static int until_stamped(rl_stamp_t *s)
{
    for (int n = 0; n < 30; n++) {
        if (frame(0, s))
            return n;
        cr_assert(!luma_changed(f), "drawn before the frame stamped");
    }
    cr_assert_fail("never stamped");
    return -1;
}

static ov_state_t *pinned(uint64_t version, const char *product, int64_t sold)
{
    ov_state_t *s = ov_state_new();

    s->version = version;
    s->pinned = 1;
    strcpy(s->product_id, product);
    strcpy(s->currency, "CNY");
    cr_assert_eq(ov_state_set_name(s, "柞水木耳"), 0);
    s->seq = version * 3;
    s->price = s->product_price = s->regular_price = 1280;
    s->sold = sold;
    s->stock = 100 - sold;
    return s;
}

/* The frame's shopcast SEI (1) into *out, none (0); fails on more than one. */
static int sei_of(const AVFrame *fr, sei_stamp_t *out)
{
    int n = 0;

    for (int i = 0; i < fr->nb_side_data; i++) {
        const AVFrameSideData *sd = fr->side_data[i];
        if (sd->type != AV_FRAME_DATA_SEI_UNREGISTERED)
            continue;
        cr_assert_eq(sei_decode(sd->data, sd->size, out), 0, "only shopcast's SEI stays");
        n++;
    }
    cr_assert_leq(n, 1);
    return n;
}

Test(compose, the_first_frame_says_what_the_card_shows)
{
    rl_stamp_t s;
    sei_stamp_t e;

    cr_assert_eq(frame(0, &s), 1);
    cr_expect_eq(s.seq, SEQ0);
    cr_expect_eq(s.pinned, 0);
    cr_expect_str_eq(s.product, "");
    cr_expect_eq(s.pts_ms, f->pts - 10);
    cr_expect_eq(s.pdt_ms, 1000 + f->pts);
    cr_assert_eq(sei_of(f, &e), 1);
    cr_expect(e.seq == SEQ0 && e.version == 0);
    cr_expect(!luma_changed(f), "nothing pinned, nothing drawn");
    cr_expect_eq(frame(0, &s), 0);
    cr_expect_eq(sei_of(f, &e), 0, "an unchanged frame carries no SEI");
}

Test(compose, a_pinned_product_is_stamped_on_the_first_frame_that_shows_it)
{
    rl_stamp_t s;
    sei_stamp_t e;

    frame(0, &s);
    rl_compose_publish(c, pinned(7, "tea-01", 3));
    cr_assert_lt(until_stamped(&s), 10, "the card takes a few frames to come into the picture");
    cr_expect_eq(s.seq, SEQ0 + 1);
    cr_expect_eq(s.version, 7);
    cr_expect_eq(s.state_seq, 21);
    cr_expect(s.pinned && !strcmp(s.product, "tea-01") && s.price == 1280 && s.sold == 3 &&
              s.stock == 97);
    cr_assert_eq(sei_of(f, &e), 1);
    cr_expect(e.seq == SEQ0 + 1 && e.version == 7);
    cr_expect(luma_changed(f), "the card is drawn");
    cr_expect_eq(frame(0, &s), 0);
    cr_expect(luma_changed(f), "and stays on the next frame");
}

Test(compose, versions_between_two_frames_make_one_stamp_of_the_newest)
{
    rl_stamp_t s;

    frame(0, &s);
    for (int i = 1; i <= 5; i++)
        rl_compose_publish(c, pinned((uint64_t)i, "tea-01", i));
    until_stamped(&s);
    cr_expect_eq(s.seq, SEQ0 + 1, "one stamp, the next number");
    cr_expect(s.version == 5 && s.sold == 5);
    cr_expect_eq(frame(0, &s), 0);
}

Test(compose, a_version_that_changes_nothing_shown_is_not_stamped)
{
    rl_stamp_t s;
    ov_state_t *again = pinned(9, "tea-01", 3), *idle = ov_state_new();

    frame(0, &s);
    rl_compose_publish(c, pinned(8, "tea-01", 3));
    until_stamped(&s);
    rl_compose_publish(c, again); /* an order for another product: a new version, the same card */
    cr_expect_eq(frame(0, &s), 0);
    rl_compose_publish(c, pinned(10, "tea-01", 4));
    cr_assert_eq(frame(0, &s), 1, "a sale is shown");
    cr_expect_eq(s.version, 10);
    rl_compose_publish(c, idle);
    cr_assert_eq(frame(0, &s), 1, "unpinned");
    cr_expect(!s.pinned && !s.sold && !s.price);
    idle = ov_state_new();
    idle->version = 11;
    idle->sold = 99; /* nothing pinned: whatever else differs is not shown */
    rl_compose_publish(c, idle);
    cr_expect_eq(frame(0, &s), 0);
}

Test(compose, a_change_back_before_the_frame_is_no_change)
{
    rl_stamp_t s;

    frame(0, &s);
    rl_compose_publish(c, pinned(1, "tea-01", 3));
    until_stamped(&s);
    rl_compose_publish(c, pinned(2, "tea-02", 3));
    rl_compose_publish(c, pinned(3, "tea-01", 3));
    cr_expect_eq(frame(0, &s), 0);
}

Test(compose, keyframes_carry_the_latest_stamp)
{
    rl_stamp_t s;
    sei_stamp_t e;

    frame(0, &s);
    rl_compose_publish(c, pinned(4, "tea-01", 1));
    until_stamped(&s);
    frame(0, &s);
    cr_assert_eq(frame(1, &s), 0, "a keyframe is no change");
    cr_assert_eq(sei_of(f, &e), 1);
    cr_expect(e.seq == SEQ0 + 1 && e.version == 4);
}

Test(compose, the_publishers_sei_is_replaced)
{
    static const uint8_t x264_uuid[16] = { 0xdc, 0x45, 0xe9, 0xbd, 0xe6, 0xd9, 0x48, 0xb7,
                                           0x96, 0x2c, 0xd8, 0x20, 0xd9, 0x23, 0xee, 0xef };
    AVFrameSideData *sd;
    rl_stamp_t s;
    sei_stamp_t e;

    frame(0, &s);
    for (int key = 0; key < 2; key++) {
        grey(key);
        sd = av_frame_new_side_data(f, AV_FRAME_DATA_SEI_UNREGISTERED, 20);
        memcpy(sd->data, x264_uuid, 16);
        memcpy(sd->data + 16, "x264", 4);
        rl_compose_frame(c, f, 1000 + f->pts, f->pts - 10, &s);
        cr_expect_eq(sei_of(f, &e), key, "key %d", key);
    }
}

Test(compose, the_card_never_draws_into_a_buffer_the_decoder_holds)
{
    AVFrame *held = av_frame_alloc();
    rl_stamp_t s;

    frame(0, &s);
    rl_compose_publish(c, pinned(1, "tea-01", 3));
    until_stamped(&s);
    grey(0);
    cr_assert_eq(av_frame_ref(held, f), 0); /* as a reference frame of the decoder */
    rl_compose_frame(c, f, 1000 + f->pts, f->pts - 10, &s);
    cr_expect(luma_changed(f));
    cr_expect(!luma_changed(held), "the decoder's picture stays clean");
    av_frame_free(&held);
}

/* A decoder's next picture, as the transcoder gets it: new buffers, which the decoder keeps. */
static void next_decoded(AVFrame *dec)
{
    av_frame_unref(f); /* the encoders are done with the last one */
    f->format = AV_PIX_FMT_YUV420P;
    f->width = 640;
    f->height = 360;
    cr_assert_eq(av_frame_get_buffer(f, 0), 0);
    grey(0);
    av_frame_unref(dec);
    cr_assert_eq(av_frame_ref(dec, f), 0);
}

Test(compose, a_held_picture_is_copied_into_the_same_buffer_every_frame)
{
    AVFrame *dec = av_frame_alloc();
    uint8_t *first = NULL;
    rl_stamp_t s;

    frame(0, &s);
    rl_compose_publish(c, pinned(1, "tea-01", 3));
    until_stamped(&s);
    for (int i = 0; i < 4; i++) {
        next_decoded(dec);
        rl_compose_frame(c, f, 1000 + f->pts, f->pts - 10, &s);
        cr_expect(luma_changed(f));
        cr_expect(!luma_changed(dec), "frame %d: the decoder's picture stays clean", i);
        cr_expect_neq(f->data[0], dec->data[0]);
        if (!first)
            first = f->data[0];
        cr_expect_eq(f->data[0], first, "frame %d: a new picture was allocated for the card", i);
    }
    av_frame_free(&dec);
}

Test(compose, a_product_id_cannot_break_the_playlists_quotes)
{
    rl_stamp_t s;

    frame(0, &s);
    rl_compose_publish(c, pinned(1, "a\"b\nc", 3));
    until_stamped(&s);
    cr_expect_str_eq(s.product, "a_b_c");
}

Test(compose, a_flash_sale_ending_by_its_clock_is_a_change_on_the_frame_where_it_ends)
{
    ov_state_t *sale = pinned(2, "tea-01", 3), *after;
    rl_stamp_t s;

    frame(0, &s);
    rl_compose_publish(c, pinned(1, "tea-01", 3));
    until_stamped(&s);
    sale->flash = 1;
    sale->price = 990;
    sale->flash_left = 10;
    sale->flash_ends_ms = 1000 + pts + 3 * 33 + 10; /* between the third and fourth frame */
    after = pinned(3, "tea-01", 3);
    rl_compose_publish(c, sale);
    cr_assert_eq(frame(0, &s), 1);
    cr_expect(s.flash && s.price == 990);
    cr_expect_eq(frame(0, &s), 0);
    cr_expect_eq(frame(0, &s), 0);
    cr_assert_eq(frame(0, &s), 1, "the sale ended at this frame's date");
    cr_expect(!s.flash && s.price == 1280 && s.version == 2);
    rl_compose_publish(c, after); /* the relay's state without the sale, later */
    cr_expect_eq(frame(0, &s), 0, "shows what the frames already showed");
}
