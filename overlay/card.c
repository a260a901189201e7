/* The product card: laid out and drawn with cairo/pango, converted once per redraw to straight-
 * alpha YUVA at the source resolution, and blended into each source frame before scaling.
 *
 * Invariants: the font map, context and layouts live as long as the card, and a redraw only
 * re-sets the texts that changed (pango keeps a layout's shaping until its text does). Every
 * size is a multiple of the frame's height / 720, so 360p, 720p and 1080p cards look alike;
 * the card sits at the bottom left of the title-safe area (the centre 90% of each side), at an
 * even x and y so that its chroma lines up with the frame's. */
#include "overlay/card.h"

#include <cairo.h>
#include <errno.h>
#include <inttypes.h>
#include <pango/pangocairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/blend.h"
#include "overlay/card_int.h"

#define REF_LINES  720.0 /* the sizes below are for a 720-line frame */
#define SLIDE_MS   300
#define NAME_BYTES 512 /* longer names are cut (at a character) before pango sees them */

/* Font sizes in pixels at 720 lines. */
static const struct {
    double px;
    int bold;
} fonts[OV__T_COUNT] = {
    [OV__T_NAME] = { 26, 1 }, [OV__T_PRICE] = { 36, 1 },     [OV__T_REGULAR] = { 22, 0 },
    [OV__T_SOLD] = { 20, 0 }, [OV__T_COUNTDOWN] = { 22, 1 },
};

typedef struct rgba_s {
    double r, g, b, a;
} rgba_t;

static const rgba_t bg = { 0.07, 0.08, 0.10, 0.82 }, white = { 1, 1, 1, 1 },
                    dim = { 1, 1, 1, 0.62 }, gold = { 1.0, 0.82, 0.25, 1 },
                    flash_red = { 1.0, 0.35, 0.21, 1 }, pill = { 0.90, 0.22, 0.21, 1 },
                    track = { 1, 1, 1, 0.22 }, stock_green = { 0.30, 0.80, 0.45, 1 },
                    slot = { 1, 1, 1, 0.10 };

/* A rectangle x0 <= x < x1, y0 <= y < y1 in the card; empty when x0 >= x1. */
typedef struct rect_s {
    int x0, y0, x1, y1;
} rect_t;

/* Pixel geometry for one frame size; text boxes are in card coordinates. */
typedef struct geom_s {
    int x, y, w, h; /* the card where it rests */
    int pad, gap, radius, bar_h, pill_pad, thumb;
    int line[OV__T_COUNT]; /* one line's logical height per text */
    int name_y, price_y, row_y, row_h, bar_y;
} geom_t;

struct ov_card_s {
    int fw, fh;
    ov__matrix_t m;
    PangoFontMap *fontmap;
    PangoContext *ctx;
    PangoLayout *lay[OV__T_COUNT];
    int on[OV__T_COUNT], tx[OV__T_COUNT], ty[OV__T_COUNT]; /* as placed for this redraw */
    cairo_surface_t *surf; /* the card's ARGB: always the whole current picture */
    ov__yuva_t pic;
    geom_t g;
    /* what the last redraw drew, to repaint only what changes (valid 0: everything) */
    struct {
        int valid, text_x, flash, bar_w;
        int on[OV__T_COUNT], tx[OV__T_COUNT], ty[OV__T_COUNT];
        rect_t ink[OV__T_COUNT];
    } drawn;
    /* the thumbnail scaled into its slot once per image: the buffer is held, so that its
     * address names it */
    AVBufferRef *thumb_ref;
    int thumb_w, thumb_h;
    cairo_surface_t *thumb_surf;
    /* what the picture shows and where */
    int shown, x;
    uint64_t version;
    int64_t secs; /* the countdown's seconds drawn; -1: no countdown */
    char product[sizeof(((ov_state_t *)0)->product_id)];
    int64_t slide_from_ms;
};

/* ---- texts ---- */

static const struct {
    const char *code, *symbol;
    int decimals;
} currencies[] = {
    { "CNY", "¥", 2 },  { "USD", "$", 2 }, { "EUR", "€", 2 },   { "GBP", "£", 2 },
    { "JPY", "¥", 0 },  { "KRW", "₩", 0 }, { "HKD", "HK$", 2 }, { "TWD", "NT$", 2 },
    { "SGD", "S$", 2 }, { "INR", "₹", 2 }, { "VND", "₫", 0 },
};

static int iso_code(const char *c)
{
    return c && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z' && c[2] >= 'A' &&
           c[2] <= 'Z' && !c[3];
}

int ov_format_price(char *buf, size_t len, const char *currency, int64_t minor)
{
    const char *sign = minor < 0 ? "-" : "", *symbol = NULL;
    uint64_t mag = minor < 0 ? -(uint64_t)minor : (uint64_t)minor;
    int decimals = 2;

    for (size_t i = 0; currency && i < sizeof(currencies) / sizeof(currencies[0]); i++) {
        if (!strcmp(currency, currencies[i].code)) {
            symbol = currencies[i].symbol;
            decimals = currencies[i].decimals;
        }
    }
    if (!decimals)
        return snprintf(buf, len, "%s%s%" PRIu64, sign, symbol, mag);
    if (symbol)
        return snprintf(buf, len, "%s%s%" PRIu64 ".%02" PRIu64, sign, symbol, mag / 100, mag % 100);
    return snprintf(buf, len, "%s%" PRIu64 ".%02" PRIu64 "%s%s", sign, mag / 100, mag % 100,
                    iso_code(currency) ? " " : "", iso_code(currency) ? currency : "");
}

/* Whole seconds left, a partial one counting as one; 0 at or after the end. */
static int64_t secs_left(int64_t ms_left)
{
    return ms_left <= 0 ? 0 : ms_left / 1000 + (ms_left % 1000 != 0);
}

int ov_format_countdown(char *buf, size_t len, int64_t ms_left)
{
    int64_t s = secs_left(ms_left);

    return snprintf(buf, len, "%02" PRId64 ":%02" PRId64, s / 60, s % 60);
}

/* What a name's character becomes on the card: line breaks and tabs a space, other control
 * characters (C0, DEL, C1) and broken UTF-8 U+FFFD. Markup is not special: pango gets text. */
static gunichar printable(gunichar ch)
{
    if (ch == '\t' || ch == '\n' || ch == '\r' || ch == 0x2028 || ch == 0x2029)
        return ' ';
    if (ch < 0x20 || (ch >= 0x7f && ch < 0xa0) || ch >= (gunichar)-2)
        return 0xFFFD;
    return ch;
}

static void clean_name(const char *in, char *out, size_t len)
{
    size_t o = 0;
    const char *p = in ? in : "";

    while (*p) {
        gunichar ch = g_utf8_get_char_validated(p, -1);
        size_t n = ch >= (gunichar)-2 ? 1 : (size_t)(g_utf8_next_char(p) - p);
        char utf8[6];
        int k = g_unichar_to_utf8(printable(ch), utf8);

        if (o + (size_t)k >= len)
            break;
        memcpy(out + o, utf8, (size_t)k);
        o += (size_t)k;
        p += n;
    }
    out[o] = '\0';
}

/* Returns 1 when the text changed; an unchanged layout keeps its shaping. */
static int set_text(PangoLayout *l, const char *s)
{
    if (!strcmp(pango_layout_get_text(l), s))
        return 0;
    pango_layout_set_text(l, s, -1);
    return 1;
}

static int regular_shown(const ov_state_t *st)
{
    return st->flash && st->price < st->regular_price;
}

/* Returns a bit per text that changed. */
static unsigned set_texts(ov_card_t *c, const ov_state_t *st, int64_t secs)
{
    char name[NAME_BYTES], buf[96];
    int64_t left = st->stock > 0 ? st->stock : 0;
    unsigned changed = 0;

    clean_name(st->name, name, sizeof(name));
    changed |= (unsigned)set_text(c->lay[OV__T_NAME], name) << OV__T_NAME;
    ov_format_price(buf, sizeof(buf), st->currency, st->price);
    changed |= (unsigned)set_text(c->lay[OV__T_PRICE], buf) << OV__T_PRICE;
    ov_format_price(buf, sizeof(buf), st->currency, st->regular_price);
    changed |= (unsigned)set_text(c->lay[OV__T_REGULAR], regular_shown(st) ? buf : "")
               << OV__T_REGULAR;
    snprintf(buf, sizeof(buf), "%" PRId64 " sold · %" PRId64 " left", st->sold, left);
    changed |= (unsigned)set_text(c->lay[OV__T_SOLD], buf) << OV__T_SOLD;
    ov_format_countdown(buf, sizeof(buf), secs * 1000);
    changed |= (unsigned)set_text(c->lay[OV__T_COUNTDOWN], secs >= 0 ? buf : "") << OV__T_COUNTDOWN;
    return changed;
}

/* ---- layout ---- */

static int px(double v720, int lines)
{
    int v = (int)(v720 * lines / REF_LINES + 0.5);

    return v > 1 ? v : 1;
}

static int logical_height(PangoLayout *l, const char *sample)
{
    int w, h;

    pango_layout_set_text(l, sample, -1);
    pango_layout_get_pixel_size(l, &w, &h);
    pango_layout_set_text(l, "", -1);
    return h;
}

/* Vertical: pad, two name lines, gap, price, gap, sold row, gap, stock bar, pad. */
static void make_geom(ov_card_t *c)
{
    geom_t *g = &c->g;
    int safe_x = (c->fw + 19) / 20, safe_y = (c->fh + 19) / 20, safe_w = c->fw - 2 * safe_x;

    g->pad = px(14, c->fh);
    g->gap = px(6, c->fh);
    g->radius = px(14, c->fh);
    g->bar_h = px(10, c->fh);
    g->pill_pad = px(8, c->fh);
    for (int i = 0; i < OV__T_COUNT; i++)
        g->line[i] = logical_height(c->lay[i], "Ag柞¥");
    g->row_h = g->line[OV__T_SOLD] > g->line[OV__T_COUNTDOWN] ? g->line[OV__T_SOLD]
                                                              : g->line[OV__T_COUNTDOWN];
    g->name_y = g->pad;
    g->price_y = g->name_y + 2 * g->line[OV__T_NAME] + g->gap;
    g->row_y = g->price_y + g->line[OV__T_PRICE] + g->gap;
    g->bar_y = g->row_y + g->row_h + g->gap;
    g->h = (g->bar_y + g->bar_h + g->pad + 1) & ~1;
    g->w = px(480, c->fh) < safe_w ? px(480, c->fh) : safe_w;
    g->w &= ~1;
    g->thumb = g->h - 2 * g->pad < g->w / 3 ? g->h - 2 * g->pad : g->w / 3;
    g->x = (safe_x + 1) & ~1;
    g->y = (c->fh - safe_y - g->h) & ~1;
}

static int text_x(const ov_card_t *c, const ov_state_t *st)
{
    return st->thumb ? 2 * c->g.pad + c->g.thumb : c->g.pad;
}

/* Places each text: sets its width (pango ellipsizes what does not fit) and its top-left. */
static void place_texts(ov_card_t *c, const ov_state_t *st)
{
    const geom_t *g = &c->g;
    int x0 = text_x(c, st), w = c->g.w - x0 - g->pad, pw, ph, cw, ch;

    pango_layout_set_width(c->lay[OV__T_PRICE], w * PANGO_SCALE);
    pango_layout_get_pixel_size(c->lay[OV__T_PRICE], &pw, &ph);
    pango_layout_get_pixel_size(c->lay[OV__T_COUNTDOWN], &cw, &ch);
    c->tx[OV__T_NAME] = c->tx[OV__T_PRICE] = c->tx[OV__T_SOLD] = x0;
    c->ty[OV__T_NAME] = g->name_y;
    c->ty[OV__T_PRICE] = g->price_y;
    c->tx[OV__T_REGULAR] = x0 + pw + 2 * g->gap;
    c->ty[OV__T_REGULAR] = g->price_y + (pango_layout_get_baseline(c->lay[OV__T_PRICE]) -
                                         pango_layout_get_baseline(c->lay[OV__T_REGULAR])) /
                                            PANGO_SCALE;
    c->ty[OV__T_SOLD] = g->row_y + (g->row_h - g->line[OV__T_SOLD]) / 2;
    c->tx[OV__T_COUNTDOWN] = x0 + w - cw - g->pill_pad;
    c->ty[OV__T_COUNTDOWN] = g->row_y + (g->row_h - g->line[OV__T_COUNTDOWN]) / 2;
    pango_layout_set_width(c->lay[OV__T_NAME], w * PANGO_SCALE);
    pango_layout_set_width(c->lay[OV__T_REGULAR], (x0 + w - c->tx[OV__T_REGULAR]) * PANGO_SCALE);
    pango_layout_set_width(c->lay[OV__T_SOLD],
                           (cw ? c->tx[OV__T_COUNTDOWN] - g->pill_pad - g->gap - x0 : w) *
                               PANGO_SCALE);
    for (int i = 0; i < OV__T_COUNT; i++)
        c->on[i] = *pango_layout_get_text(c->lay[i]) != '\0';
    c->on[OV__T_REGULAR] &= c->tx[OV__T_REGULAR] < x0 + w - 2 * g->gap;
}

/* ---- drawing ---- */

static void rounded(cairo_t *cr, double x, double y, double w, double h, double r)
{
    cairo_new_sub_path(cr);
    cairo_arc(cr, x + w - r, y + r, r, -G_PI / 2, 0);
    cairo_arc(cr, x + w - r, y + h - r, r, 0, G_PI / 2);
    cairo_arc(cr, x + r, y + h - r, r, G_PI / 2, G_PI);
    cairo_arc(cr, x + r, y + r, r, G_PI, 3 * G_PI / 2);
    cairo_close_path(cr);
}

static void fill_rounded(cairo_t *cr, double x, double y, double w, double h, double r, rgba_t col)
{
    rounded(cr, x, y, w, h, r);
    cairo_set_source_rgba(cr, col.r, col.g, col.b, col.a);
    cairo_fill(cr);
}

static void draw_text(ov_card_t *c, cairo_t *cr, int i, rgba_t col)
{
    if (!c->on[i])
        return;
    cairo_set_source_rgba(cr, col.r, col.g, col.b, col.a);
    cairo_move_to(cr, c->tx[i], c->ty[i]);
    pango_cairo_show_layout(cr, c->lay[i]);
}

/* The slot and the image scaled to fit it (aspect kept), clipped to its rounded corners, drawn
 * into the card's thumbnail surface once per image: scaling costs milliseconds. */
static void draw_thumb(ov_card_t *c, cairo_t *cr, const AVBufferRef *buf, int tw, int th)
{
    int size = c->g.thumb, big = tw > th ? tw : th;
    cairo_surface_t *img;
    double k;

    fill_rounded(cr, 0, 0, size, size, c->g.radius / 2.0, slot);
    if (tw < 1 || th < 1 || tw > OV_THUMB_MAX || th > OV_THUMB_MAX ||
        buf->size < (size_t)tw * th * 4)
        return;
    k = (double)size / big;
    img = cairo_image_surface_create_for_data(buf->data, CAIRO_FORMAT_ARGB32, tw, th, tw * 4);
    rounded(cr, 0, 0, size, size, c->g.radius / 2.0);
    cairo_clip(cr);
    cairo_translate(cr, (size - tw * k) / 2, (size - th * k) / 2);
    cairo_scale(cr, k, k);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
    cairo_paint(cr);
    cairo_surface_destroy(img);
}

static void drop_thumb(ov_card_t *c)
{
    av_buffer_unref(&c->thumb_ref);
    if (c->thumb_surf)
        cairo_surface_destroy(c->thumb_surf);
    c->thumb_surf = NULL;
}

/* Brings the thumbnail surface up to date: 1 when it changed, 0 when not, -ENOMEM. */
static int cache_thumb(ov_card_t *c, const ov_state_t *st)
{
    const uint8_t *want = st->thumb ? st->thumb->data : NULL;
    cairo_t *cr;
    int bad;

    if (want == (c->thumb_ref ? c->thumb_ref->data : NULL) && st->thumb_w == c->thumb_w &&
        st->thumb_h == c->thumb_h)
        return 0;
    drop_thumb(c);
    c->thumb_w = st->thumb_w;
    c->thumb_h = st->thumb_h;
    if (!st->thumb)
        return 1;
    c->thumb_ref = av_buffer_ref(st->thumb);
    c->thumb_surf = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, c->g.thumb, c->g.thumb);
    cr = cairo_create(c->thumb_surf);
    if (c->thumb_ref)
        draw_thumb(c, cr, c->thumb_ref, st->thumb_w, st->thumb_h);
    bad = !c->thumb_ref || cairo_status(cr) != CAIRO_STATUS_SUCCESS;
    cairo_destroy(cr);
    if (bad)
        drop_thumb(c); /* the next redraw tries again */
    return bad ? -ENOMEM : 1;
}

static int bar_width(const ov_card_t *c, const ov_state_t *st)
{
    int w = c->g.w - text_x(c, st) - c->g.pad;
    int64_t left = st->stock > 0 ? st->stock : 0, sold = st->sold > 0 ? st->sold : 0;
    double frac = left + sold > 0 ? (double)left / (double)(left + sold) : 0;

    return frac > 0 ? c->g.bar_h + (int)((w - c->g.bar_h) * frac + 0.5) : 0;
}

/* Units left against units left + sold. */
static void draw_stock(ov_card_t *c, cairo_t *cr, const ov_state_t *st)
{
    const geom_t *g = &c->g;
    int x0 = text_x(c, st), fill = bar_width(c, st);

    fill_rounded(cr, x0, g->bar_y, g->w - x0 - g->pad, g->bar_h, g->bar_h / 2.0, track);
    if (fill)
        fill_rounded(cr, x0, g->bar_y, fill, g->bar_h, g->bar_h / 2.0,
                     st->flash ? flash_red : stock_green);
}

static void draw_countdown(ov_card_t *c, cairo_t *cr)
{
    int cw, ch;

    if (!c->on[OV__T_COUNTDOWN])
        return;
    pango_layout_get_pixel_size(c->lay[OV__T_COUNTDOWN], &cw, &ch);
    fill_rounded(cr, c->tx[OV__T_COUNTDOWN] - c->g.pill_pad, c->g.row_y, cw + 2 * c->g.pill_pad,
                 c->g.row_h, c->g.row_h / 2.0, pill);
    draw_text(c, cr, OV__T_COUNTDOWN, white);
}

/* Everything, inside the clip: what lies outside it stays as the last redraw left it. The
 * background goes down with SOURCE onto the cleared surface: cairo turns OVER onto a surface it
 * knows is clear into SOURCE, but not under a clip, and the two round differently, so a
 * partial redraw would not make the picture a full one makes. */
static void draw_card(ov_card_t *c, cairo_t *cr, const ov_state_t *st)
{
    cairo_set_operator(cr, CAIRO_OPERATOR_CLEAR);
    cairo_paint(cr);
    cairo_set_operator(cr, CAIRO_OPERATOR_SOURCE);
    fill_rounded(cr, 0, 0, c->g.w, c->g.h, c->g.radius, bg);
    cairo_set_operator(cr, CAIRO_OPERATOR_OVER);
    if (c->thumb_surf) {
        cairo_set_source_surface(cr, c->thumb_surf, c->g.pad, c->g.pad);
        cairo_paint(cr);
    }
    draw_text(c, cr, OV__T_NAME, white);
    draw_text(c, cr, OV__T_PRICE, st->flash ? flash_red : gold);
    draw_text(c, cr, OV__T_REGULAR, dim);
    draw_text(c, cr, OV__T_SOLD, dim);
    draw_countdown(c, cr);
    draw_stock(c, cr, st);
}

/* ---- what a redraw repaints ---- */

static rect_t join(rect_t a, rect_t b)
{
    if (a.x0 >= a.x1)
        return b;
    if (b.x0 >= b.x1)
        return a;
    return (rect_t){ a.x0 < b.x0 ? a.x0 : b.x0, a.y0 < b.y0 ? a.y0 : b.y0,
                     a.x1 > b.x1 ? a.x1 : b.x1, a.y1 > b.y1 ? a.y1 : b.y1 };
}

/* The strip of the text column a row of the card occupies, half a gap above and below. */
static rect_t band(const ov_card_t *c, const ov_state_t *st, int y, int h)
{
    return (rect_t){ text_x(c, st) - c->g.pad / 2, y - c->g.gap / 2, c->g.w - c->g.pad / 2,
                     y + h + (c->g.gap + 1) / 2 };
}

static rect_t text_band(const ov_card_t *c, const ov_state_t *st, int i)
{
    const geom_t *g = &c->g;

    if (i == OV__T_NAME)
        return band(c, st, g->name_y, 2 * g->line[OV__T_NAME]);
    if (i == OV__T_PRICE || i == OV__T_REGULAR)
        return band(c, st, g->price_y, g->line[OV__T_PRICE]);
    return band(c, st, g->row_y, g->row_h);
}

/* Where text i's pixels are (the countdown's with its pill), a pixel wider for antialiasing;
 * empty when it is not drawn. */
static rect_t ink(const ov_card_t *c, int i)
{
    PangoRectangle r, l;
    rect_t ink;

    if (!c->on[i])
        return (rect_t){ 0, 0, 0, 0 };
    pango_layout_get_pixel_extents(c->lay[i], &r, &l);
    ink = (rect_t){ c->tx[i] + r.x - 1, c->ty[i] + r.y - 1, c->tx[i] + r.x + r.width + 1,
                    c->ty[i] + r.y + r.height + 1 };
    if (i != OV__T_COUNTDOWN)
        return ink;
    return join(ink,
                (rect_t){ c->tx[i] - c->g.pill_pad - 1, c->g.row_y - 1,
                          c->tx[i] + l.width + c->g.pill_pad + 1, c->g.row_y + c->g.row_h + 1 });
}

/* The part of the card this redraw must repaint: each text that changed or moved (its row, where
 * its pixels were and where they will be), the bar, or everything. */
static rect_t dirty(ov_card_t *c, const ov_state_t *st, unsigned changed, int full)
{
    rect_t all = { 0, 0, c->g.w, c->g.h }, r = { 0, 0, 0, 0 };
    int flash = st->flash != c->drawn.flash;

    if (full || !c->drawn.valid || text_x(c, st) != c->drawn.text_x)
        return all;
    for (int i = 0; i < OV__T_COUNT; i++) {
        if ((changed >> i & 1) || flash || c->on[i] != c->drawn.on[i] ||
            c->tx[i] != c->drawn.tx[i] || c->ty[i] != c->drawn.ty[i])
            r = join(join(r, text_band(c, st, i)), join(c->drawn.ink[i], ink(c, i)));
    }
    if (flash || bar_width(c, st) != c->drawn.bar_w)
        r = join(r, band(c, st, c->g.bar_y, c->g.bar_h));
    r.x0 = r.x0 > 0 ? r.x0 : 0;
    r.y0 = r.y0 > 0 ? r.y0 : 0;
    r.x1 = r.x1 < c->g.w ? r.x1 : c->g.w;
    r.y1 = r.y1 < c->g.h ? r.y1 : c->g.h;
    return r;
}

static void remember(ov_card_t *c, const ov_state_t *st)
{
    c->drawn.valid = 1;
    c->drawn.text_x = text_x(c, st);
    c->drawn.flash = st->flash;
    c->drawn.bar_w = bar_width(c, st);
    for (int i = 0; i < OV__T_COUNT; i++) {
        c->drawn.on[i] = c->on[i];
        c->drawn.tx[i] = c->tx[i];
        c->drawn.ty[i] = c->ty[i];
        c->drawn.ink[i] = ink(c, i);
    }
}

/* Draws st into the ARGB surface, only where it differs from the last picture (all of it when
 * full), and converts that part: 1 when something was drawn, 0 when st looks the same as the
 * last picture, -ENOMEM (the YUVA picture then stays as it was). */
static int redraw(ov_card_t *c, const ov_state_t *st, int64_t secs, int full)
{
    int thumb = cache_thumb(c, st); /* first: when it fails, nothing else has changed */
    cairo_t *cr;
    cairo_status_t status;
    unsigned changed;
    rect_t r;

    if (thumb < 0)
        return thumb;
    changed = set_texts(c, st, secs);
    place_texts(c, st);
    r = dirty(c, st, changed, full || thumb);
    if (r.x0 >= r.x1 || r.y0 >= r.y1)
        return 0;
    c->drawn.valid = 0; /* until the picture is whole again */
    cr = cairo_create(c->surf);
    cairo_rectangle(cr, r.x0, r.y0, r.x1 - r.x0, r.y1 - r.y0);
    cairo_clip(cr);
    draw_card(c, cr, st);
    status = cairo_status(cr);
    cairo_destroy(cr);
    if (status != CAIRO_STATUS_SUCCESS)
        return -ENOMEM;
    cairo_surface_flush(c->surf);
    ov__yuva_convert(&c->pic, cairo_image_surface_get_data(c->surf),
                     cairo_image_surface_get_stride(c->surf), &c->m, r.x0, r.y0, r.x1 - r.x0,
                     r.y1 - r.y0);
    remember(c, st);
    return 1;
}

/* ---- the card's life ---- */

static int make_layouts(ov_card_t *c)
{
    for (int i = 0; i < OV__T_COUNT; i++) {
        PangoFontDescription *fd = pango_font_description_new();

        if (!(c->lay[i] = pango_layout_new(c->ctx))) {
            pango_font_description_free(fd);
            return -ENOMEM;
        }
        pango_font_description_set_family(fd, "Sans");
        pango_font_description_set_weight(fd,
                                          fonts[i].bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
        pango_font_description_set_absolute_size(fd, fonts[i].px * c->fh / REF_LINES * PANGO_SCALE);
        pango_layout_set_font_description(c->lay[i], fd);
        pango_font_description_free(fd);
        pango_layout_set_ellipsize(c->lay[i], PANGO_ELLIPSIZE_END);
        pango_layout_set_single_paragraph_mode(c->lay[i], TRUE);
    }
    /* the name wraps to two lines at most, the second ellipsized */
    pango_layout_set_wrap(c->lay[OV__T_NAME], PANGO_WRAP_WORD_CHAR);
    pango_layout_set_height(c->lay[OV__T_NAME], -2);
    return 0;
}

static void strike(PangoLayout *l)
{
    PangoAttrList *attrs = pango_attr_list_new();

    pango_attr_list_insert(attrs, pango_attr_strikethrough_new(TRUE));
    pango_layout_set_attributes(l, attrs);
    pango_attr_list_unref(attrs);
}

/* Grey antialiasing and unhinted metrics: text scales with the frame, and its edges carry the
 * partial alpha the blend is made for. */
static int make_pango(ov_card_t *c)
{
    cairo_font_options_t *fo = cairo_font_options_create();

    c->fontmap = pango_cairo_font_map_new();
    c->ctx = c->fontmap ? pango_font_map_create_context(c->fontmap) : NULL;
    if (!c->ctx) {
        cairo_font_options_destroy(fo);
        return -ENOMEM;
    }
    cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_SLIGHT);
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    pango_cairo_context_set_font_options(c->ctx, fo);
    cairo_font_options_destroy(fo);
    /* Han characters take the Simplified Chinese forms (fontconfig prefers zh-cn fonts) */
    pango_context_set_language(c->ctx, pango_language_from_string("zh-cn"));
    if (make_layouts(c) < 0)
        return -ENOMEM;
    strike(c->lay[OV__T_REGULAR]);
    return 0;
}

ov_card_t *ov_card_new(int width, int height, enum AVPixelFormat pix_fmt,
                       enum AVColorSpace colorspace, enum AVColorRange range, char *err,
                       size_t errlen)
{
    ov_card_t *c = NULL;

    if (pix_fmt != AV_PIX_FMT_YUV420P && pix_fmt != AV_PIX_FMT_YUVJ420P) {
        snprintf(err, errlen, "card: pixel format %d is not yuv420p/yuvj420p", pix_fmt);
        return NULL;
    }
    if (width < 64 || height < 64 || width > 16384 || height > 16384) {
        snprintf(err, errlen, "card: frame size %dx%d out of 64..16384", width, height);
        return NULL;
    }
    if (!(c = calloc(1, sizeof(*c))))
        goto fail;
    c->fw = width;
    c->fh = height;
    ov__matrix_init(&c->m, colorspace, range, pix_fmt, height);
    if (make_pango(c) < 0)
        goto fail;
    make_geom(c);
    c->surf = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, c->g.w, c->g.h);
    if (cairo_surface_status(c->surf) != CAIRO_STATUS_SUCCESS ||
        ov__yuva_alloc(&c->pic, c->g.w, c->g.h) < 0)
        goto fail;
    c->secs = -1;
    return c;
fail:
    snprintf(err, errlen, "card: out of memory");
    ov_card_free(&c);
    return NULL;
}

void ov_card_free(ov_card_t **cp)
{
    ov_card_t *c = cp ? *cp : NULL;

    if (!c)
        return;
    for (int i = 0; i < OV__T_COUNT; i++)
        if (c->lay[i])
            g_object_unref(c->lay[i]);
    if (c->ctx)
        g_object_unref(c->ctx);
    if (c->fontmap)
        g_object_unref(c->fontmap);
    if (c->surf)
        cairo_surface_destroy(c->surf);
    drop_thumb(c);
    ov__yuva_free(&c->pic);
    free(c);
    *cp = NULL;
}

/* x while sliding in: from just off the left edge to its place, easing out (cubic). */
static int slide_x(const ov_card_t *c, int64_t now_ms)
{
    int64_t t = now_ms - c->slide_from_ms;
    double p = t <= 0 ? 0 : t >= SLIDE_MS ? 1 : (double)t / SLIDE_MS, q = 1 - p;
    int x = -c->g.w + (int)((c->g.x + c->g.w) * (1 - q * q * q) + 0.5);

    return x - (x & 1); /* even, rounding down, negative too */
}

static int hide(ov_card_t *c)
{
    if (!c->shown)
        return 0;
    c->shown = 0;
    return 1;
}

int ov_card_update(ov_card_t *c, const ov_state_t *st, int64_t now_ms)
{
    int64_t secs;
    int fresh, changed = 0, x;

    if (!st || !st->pinned)
        return hide(c);
    secs = st->flash ? secs_left(st->flash_ends_ms - now_ms) : -1;
    fresh = !c->shown || strncmp(c->product, st->product_id, sizeof(c->product));
    if (fresh || st->version != c->version || secs != c->secs) {
        int r = redraw(c, st, secs, fresh);

        if (r < 0)
            return r;
        c->version = st->version;
        c->secs = secs;
        changed = r || !c->shown;
    }
    if (fresh) {
        memcpy(c->product, st->product_id, sizeof(c->product));
        c->slide_from_ms = now_ms;
        c->shown = 1;
    }
    x = slide_x(c, now_ms);
    changed |= x != c->x;
    c->x = x;
    return changed;
}

void ov_card_blend(const ov_card_t *c, AVFrame *frame)
{
    if (!c->shown || (frame->format != AV_PIX_FMT_YUV420P && frame->format != AV_PIX_FMT_YUVJ420P))
        return;
    ov__yuva_blend(&c->pic, c->x, c->g.y, frame->data, frame->linesize, frame->width,
                   frame->height);
}

int ov_card_rect(const ov_card_t *c, int *x, int *y, int *w, int *h)
{
    *x = c->x;
    *y = c->g.y;
    *w = c->g.w;
    *h = c->g.h;
    return c->shown;
}

PangoLayout *ov__card_text(const ov_card_t *c, int i, int *x, int *y)
{
    *x = c->tx[i];
    *y = c->ty[i];
    return c->on[i] ? c->lay[i] : NULL;
}

const ov__yuva_t *ov__card_picture(const ov_card_t *c)
{
    return &c->pic;
}

int ov__card_redraw(ov_card_t *c, const ov_state_t *st, int64_t now_ms, int full)
{
    return redraw(c, st, st->flash ? secs_left(st->flash_ends_ms - now_ms) : -1, full);
}
