/* The contract's household JSON Lines, and the flat layout's CSV, read into columns,
 * strictly, in one pass (parse_csv: see "CSV" below). Texts are written as Arrow's string
 * views (16 bytes a row; up to 12 bytes in the view, longer texts in the column's data), the
 * layout polars keeps texts in.
 *
 * engine.batch.lines calls parse() with a block of whole lines and the fields of the two
 * levels (household and member) from the fact catalogue. Each line is either read whole into
 * the columns or left out with status SLOW, for the record-by-record path to read and report
 * in its own words: this reader takes only what it can read exactly, and sends everything
 * else there. A line is read only if it is one JSON object, starting at the line's first byte
 * and ending at its last (a trailing carriage return aside), with:
 *
 *   - only the level's fields, each at most once, and a "members" array of 1..max_members
 *     member objects (the same rules for their fields), no two with the same id (the
 *     member_id column, when given);
 *   - texts as JSON strings of valid UTF-8 (the escapes decoded; a \u0000 or a lone
 *     surrogate is left to the slow path), booleans as true or false;
 *   - money as a JSON number without an exponent and of at most 15 digits (read exactly as
 *     the nearest double: an integer below 2^53 divided by a power of ten up to 10^15, both
 *     exact, is rounded once); integers as JSON integers of at most 18 digits;
 *   - dates as "YYYY-MM-DD", a day of the calendar from the year 1 on, written without
 *     escapes: as Arrow's date32 (days since 1970-01-01), where polars would otherwise match
 *     and parse every text (most of a block's checking);
 *   - an enum fact's value as one of its values (at most MAX_ENUM_VALUES), written without
 *     escapes: as its index, which the checks turn into the polars enum by gathering its
 *     categories (a fifth of the cost of casting each text).
 *
 * No null, nested value, exponent, or anything else: such a line is SLOW. A field left out is
 * a null in its column (the vectorised checks apply the defaults and the requirements).
 *
 * The work is done without the GIL: the screening's worker threads read blocks side by side.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* K_DATE and K_ENUM: the JSON reader's only (the CSV reader reads them as texts). */
enum { K_TEXT = 0, K_BOOL = 1, K_MONEY = 2, K_INTEGER = 3, K_DATE = 4, K_ENUM = 5 };
#define MAX_VALUES 32
enum { S_READ = 0, S_SLOW = 1, S_EMPTY = 2 };
enum { OK = 0, FAIL = -1, NOMEM = -2 };

#define MAX_FIELDS 63
#define MAX_DIGITS 15
#define MAX_INT_DIGITS 18

typedef struct {
    char *p;
    size_t len, cap;
} buf_t;

static int reserve(buf_t *b, size_t extra)
{
    if (b->len + extra <= b->cap)
        return OK;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + extra)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL)
        return NOMEM;
    b->p = p;
    b->cap = cap;
    return OK;
}

typedef struct {
    const char *name;
    size_t name_len;
    int kind;
    buf_t data;  /* texts longer than a view holds, or one value a row: 1 byte (bool), 8 */
    buf_t views; /* texts: Arrow's string views, 16 bytes a row */
    buf_t valid; /* one byte a row */
    size_t mark; /* data's length when the line being read began */
    /* K_ENUM: the values, each read as its index (a uint32: the row of the polars enum's
     * category, which the checks gather) */
    int n_values;
    const char *values[MAX_VALUES];
    size_t value_lens[MAX_VALUES];
    /* The value of each `value_hash`: its index, -1 for none, COLLIDING where two share it. */
    signed char by_value[64];
} column_t;

/* The bytes a row of the column takes in its values (`views` for a text, `data` otherwise). */
static size_t row_size(const column_t *c)
{
    switch (c->kind) {
    case K_TEXT: return 16;
    case K_BOOL: return 1;
    case K_DATE: case K_ENUM: return 4;
    default: return 8;
    }
}

static buf_t *values_of(column_t *c)
{
    return c->kind == K_TEXT ? &c->views : &c->data;
}

typedef struct {
    column_t cols[MAX_FIELDS];
    int n;
    /* The field that followed each field (or the members, index n, or the object's start,
     * MAX_FIELDS + 1) the last time: the one `read_field` tries first; -1 before any. */
    signed char after[MAX_FIELDS + 2];
    /* The field of each key's hash (`key_hash`): its index, `n` for the members, -1 for no
     * field, COLLIDING where two names share the hash (`find` then compares them all). */
    signed char by_hash[256];
    size_t rows;
    size_t cap; /* rows every column has room for, zeroed past `rows` */
} level_t;

typedef struct {
    level_t household, member;
    const char *members_key;
    size_t members_key_len;
    long max_members;
    int member_id; /* the member level's column of ids (-1: none) */
    buf_t parent; /* uint32 a member row: its household's row */
} reader_t;

static const double POW10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7,
                               1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

/* Room for `rows` rows of `size` bytes in b (which has room for `old`), the new ones zeroed:
 * a first allocation is calloc's, whose pages cost nothing until they are written. */
static int grow_zeroed(buf_t *b, size_t old, size_t rows, size_t size)
{
    if (rows > SIZE_MAX / size)
        return NOMEM;
    if (b->p == NULL) {
        b->p = calloc(rows, size);
        if (b->p == NULL)
            return NOMEM;
    } else {
        char *p = realloc(b->p, rows * size);
        if (p == NULL)
            return NOMEM;
        memset(p + old * size, 0, (rows - old) * size);
        b->p = p;
    }
    b->cap = rows * size;
    return OK;
}

/* Room for `cap` rows (at least 1) in every column of the level. A row not written is a
 * null in every column: its bytes are zero. */
static int grow_level(level_t *lv, size_t cap)
{
    for (int i = 0; i < lv->n; i++) {
        column_t *c = &lv->cols[i];
        if (grow_zeroed(&c->valid, lv->cap, cap, 1) != OK ||
            grow_zeroed(values_of(c), lv->cap, cap, row_size(c)) != OK)
            return NOMEM;
    }
    lv->cap = cap;
    return OK;
}

/* A new row, every value null: the columns are sized ahead (`parse` counts the lines and the
 * objects of the block), and grown only should that count fall short. */
static int add_row(level_t *lv)
{
    if (lv->rows == lv->cap && grow_level(lv, lv->cap ? lv->cap * 2 : 1024) != OK)
        return NOMEM;
    lv->rows++;
    return OK;
}

/* Where a line begins: `truncate_level` goes back there. */
static void mark_level(level_t *lv)
{
    for (int i = 0; i < lv->n; i++)
        lv->cols[i].mark = lv->cols[i].data.len;
}

/* Arrow's string view of `len` bytes of text: up to 12 of them in the view itself, a longer
 * text as its length, its first 4 bytes and its offset in the column's data (buffer 0). */
static void write_view(char *view, const void *text, size_t len, int32_t offset)
{
    int32_t n = (int32_t)len;
    memcpy(view, &n, 4);
    if (len <= 12) {
        memset(view + 4, 0, 12);
        memcpy(view + 4, text, len);
    } else {
        int32_t buffer = 0;
        memcpy(view + 4, text, 4);
        memcpy(view + 8, &buffer, 4);
        memcpy(view + 12, &offset, 4);
    }
}

/* The view of the text data[start:] (just written); a text the view holds itself leaves the
 * data (back to start). */
static int set_view(column_t *c, size_t row, size_t start)
{
    if (c->data.len > INT32_MAX)
        return NOMEM;
    size_t len = c->data.len - start;
    write_view(c->views.p + row * 16, c->data.p + start, len, (int32_t)start);
    if (len <= 12)
        c->data.len = start;
    return OK;
}

/* Back to `rows` rows (and the data of the line's start, `mark_level`): a line that turned
 * out SLOW leaves nothing behind. */
static void truncate_level(level_t *lv, size_t rows)
{
    size_t dropped = lv->rows - rows;
    for (int i = 0; i < lv->n; i++) {
        column_t *c = &lv->cols[i];
        if (dropped) {
            size_t size = row_size(c);
            memset(c->valid.p + rows, 0, dropped);
            memset(values_of(c)->p + rows * size, 0, dropped * size);
        }
        if (c->kind == K_TEXT)
            c->data.len = c->mark;
    }
    lv->rows = rows;
}

/* The columns' lengths once the block is read: `rows` rows each. */
static void finish_level(level_t *lv)
{
    for (int i = 0; i < lv->n; i++) {
        column_t *c = &lv->cols[i];
        c->valid.len = lv->rows;
        values_of(c)->len = lv->rows * row_size(c);
    }
}

typedef const unsigned char *cursor;

static inline cursor skip_ws(cursor p, cursor end)
{
    if (p < end && *p > ' ')
        return p;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
        p++;
    return p;
}

/* Whether n bytes at a and b are the same: the short names, values and ids compared here,
 * eight bytes at a time, without a call into the C library's memcmp (a tenth of the
 * reader's time went to those calls). */
static inline int same_bytes(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (; n >= 8; n -= 8, x += 8, y += 8) {
        uint64_t u, v;
        memcpy(&u, x, 8);
        memcpy(&v, y, 8);
        if (u != v)
            return 0;
    }
    for (; n; n--)
        if (*x++ != *y++)
            return 0;
    return 1;
}

static inline int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static int hex4(cursor p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return FAIL;
    }
    *out = v;
    return OK;
}

/* Bytes a string's text may hold as they are: printable ASCII but the quote and backslash. */
static unsigned char PLAIN[256];

static void init_plain(void)
{
    for (int c = 0x20; c < 0x80; c++)
        PLAIN[c] = c != '"' && c != '\\';
}

/* The closing quote of a string written in printable ASCII without escapes (p after its
 * opening quote), or NULL where it is not one. */
static inline cursor plain_end(cursor p, cursor end)
{
    while (p < end && PLAIN[*p])
        p++;
    return p < end && *p == '"' ? p : NULL;
}

/* The length of the UTF-8 sequence at p (its first byte 0x80 or above), or 0 where it is
 * not one as RFC 3629 says (no overlong forms, no surrogates, nothing above U+10FFFF). */
static size_t utf8_length(cursor p, cursor end)
{
    unsigned char c = *p;
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}

/* A JSON string's contents (p after the opening quote) appended to out as UTF-8. */
static int read_text(cursor *pp, cursor end, buf_t *out)
{
    cursor p = *pp;
    /* Decoded text is never longer than its JSON. */
    if (reserve(out, (size_t)(end - p)) != OK)
        return NOMEM;
    char *w = out->p + out->len;
    while (p < end) {
        cursor run = p;
        while (p < end && PLAIN[*p])
            p++;
        if (p > run) {
            memcpy(w, run, (size_t)(p - run));
            w += p - run;
            if (p >= end)
                break;
        }
        unsigned char c = *p;
        if (c == '"') {
            out->len = (size_t)(w - out->p);
            *pp = p + 1;
            return OK;
        }
        if (c < 0x80) {
            if (c < 0x20)
                return FAIL;
            if (p + 1 >= end)
                return FAIL;
            unsigned char e = p[1];
            switch (e) {
            case '"': *w++ = '"'; p += 2; continue;
            case '\\': *w++ = '\\'; p += 2; continue;
            case '/': *w++ = '/'; p += 2; continue;
            case 'b': *w++ = '\b'; p += 2; continue;
            case 'f': *w++ = '\f'; p += 2; continue;
            case 'n': *w++ = '\n'; p += 2; continue;
            case 'r': *w++ = '\r'; p += 2; continue;
            case 't': *w++ = '\t'; p += 2; continue;
            case 'u': break;
            default: return FAIL;
            }
            unsigned cp;
            if (p + 6 > end || hex4(p + 2, &cp) != OK)
                return FAIL;
            p += 6;
            if (cp == 0 || (cp >= 0xDC00 && cp <= 0xDFFF))
                return FAIL;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (p + 6 > end || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) != OK ||
                    lo < 0xDC00 || lo > 0xDFFF)
                    return FAIL;
                p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            if (cp < 0x80) {
                *w++ = (char)cp;
            } else if (cp < 0x800) {
                *w++ = (char)(0xC0 | (cp >> 6));
                *w++ = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                *w++ = (char)(0xE0 | (cp >> 12));
                *w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
                *w++ = (char)(0x80 | (cp & 0x3F));
            } else {
                *w++ = (char)(0xF0 | (cp >> 18));
                *w++ = (char)(0x80 | ((cp >> 12) & 0x3F));
                *w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
                *w++ = (char)(0x80 | (cp & 0x3F));
            }
            continue;
        }
        size_t n = utf8_length(p, end);
        if (n == 0)
            return FAIL;
        memcpy(w, p, n);
        w += n;
        p += n;
    }
    return FAIL;
}

/* The digits at p appended to m, no more than `most` in all (`*digits` counts them). */
static int read_digits(cursor *pp, cursor end, uint64_t *m, int *digits, int most)
{
    cursor p = *pp;
    while (p < end && is_digit(*p)) {
        if (++*digits > most)
            return FAIL;
        *m = *m * 10 + (uint64_t)(*p++ - '0');
    }
    *pp = p;
    return OK;
}

/* A JSON number's sign and integer part: a minus or not, then 0 or digits not led by 0. */
static int read_integer_part(cursor *pp, cursor end, int *negative, uint64_t *m, int *digits,
                             int most)
{
    cursor p = *pp;
    *negative = p < end && *p == '-';
    p += *negative;
    if (p >= end || !is_digit(*p))
        return FAIL;
    if (*p == '0') {
        p++;
        *digits = 1;
    } else if (read_digits(&p, end, m, digits, most) != OK)
        return FAIL;
    *pp = p;
    return OK;
}

static int read_money(cursor *pp, cursor end, double *out)
{
    cursor p = *pp;
    int negative, digits = 0;
    uint64_t m = 0;
    if (read_integer_part(&p, end, &negative, &m, &digits, MAX_DIGITS) != OK)
        return FAIL;
    int whole = digits;
    if (p < end && *p == '.') {
        p++;
        if (p >= end || !is_digit(*p) || read_digits(&p, end, &m, &digits, MAX_DIGITS) != OK)
            return FAIL;
    }
    if (p < end && (*p == 'e' || *p == 'E' || is_digit(*p)))
        return FAIL;
    double d = (double)m / POW10[digits - whole];
    *out = negative ? -d : d;
    *pp = p;
    return OK;
}

static int read_integer(cursor *pp, cursor end, int64_t *out)
{
    cursor p = *pp;
    int negative, digits = 0;
    uint64_t m = 0;
    if (read_integer_part(&p, end, &negative, &m, &digits, MAX_INT_DIGITS) != OK)
        return FAIL;
    if (p < end && (*p == '.' || *p == 'e' || *p == 'E' || is_digit(*p)))
        return FAIL;
    *out = negative ? -(int64_t)m : (int64_t)m;
    *pp = p;
    return OK;
}

/* A number of the column's kind (money or an integer) at p, into its 8-byte slot. */
static int read_number(int kind, cursor *pp, cursor end, char *slot)
{
    if (kind == K_MONEY) {
        double d;
        if (read_money(pp, end, &d) != OK)
            return FAIL;
        memcpy(slot, &d, 8);
    } else {
        int64_t v;
        if (read_integer(pp, end, &v) != OK)
            return FAIL;
        memcpy(slot, &v, 8);
    }
    return OK;
}

/* A date as Arrow's date32: days since 1970-01-01 of the proleptic Gregorian calendar (the
 * civil-from-days inverse in H. Hinnant's "chrono-Compatible Low-Level Date Algorithms"). */
static int32_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + doe - 719468);
}

static int civil_date(cursor p, int32_t *out);

/* A date written "YYYY-MM-DD" (p after the opening quote, exactly ten ASCII bytes and the
 * closing quote), a day of the calendar from the year 1 on, as the layout's checks take a
 * text (the pattern, then the calendar); anything else (an escape too) goes to the slow
 * path, which says what is wrong with it. */
static int read_date(cursor *pp, cursor end, int32_t *out)
{
    cursor p = *pp;
    if (end - p < 11 || p[10] != '"' || civil_date(p, out) != OK)
        return FAIL;
    *pp = p + 11;
    return OK;
}

/* The ten bytes at p as a date written "YYYY-MM-DD" (`read_date`'s). */
static int civil_date(cursor p, int32_t *out)
{
    static const int DAYS[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (p[4] != '-' || p[7] != '-')
        return FAIL;
    static const int DIGITS[] = {0, 1, 2, 3, 5, 6, 8, 9};
    for (int i = 0; i < 8; i++)
        if (!is_digit(p[DIGITS[i]]))
            return FAIL;
    int y = (p[0] - '0') * 1000 + (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0');
    int m = (p[5] - '0') * 10 + (p[6] - '0');
    int d = (p[8] - '0') * 10 + (p[9] - '0');
    if (y < 1 || m < 1 || m > 12 || d < 1)
        return FAIL;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > DAYS[m - 1] + (m == 2 && leap))
        return FAIL;
    *out = days_from_civil(y, m, d);
    return OK;
}

#define COLLIDING (-2)

/* A text's slot in a column's `by_value`, from its length and its first and last bytes. */
static inline unsigned value_hash(const void *text, size_t len)
{
    const unsigned char *t = text;
    return len ? (unsigned)(len * 7 + t[0] * 3 + t[len - 1]) & 63u : 0u;
}

/* The index of the enum's value written as [p, p + len), or -1. */
static inline int32_t enum_code(const column_t *c, cursor p, size_t len)
{
    int k = c->by_value[value_hash(p, len)];
    if (k == COLLIDING) {
        for (k = 0; k < c->n_values; k++)
            if (c->value_lens[k] == len && same_bytes(c->values[k], p, len))
                return k;
        return -1;
    }
    return k >= 0 && c->value_lens[k] == len && same_bytes(c->values[k], p, len) ? k : -1;
}

/* One field's value into the level's last row. */
static int read_value(cursor *pp, cursor end, column_t *c, size_t row)
{
    cursor p = *pp;
    int r;
    switch (c->kind) {
    case K_TEXT:
        if (p >= end || *p != '"')
            return FAIL;
        p++;
        {
            /* Most texts are short and plain (ids, codes, dates): into the view at once. */
            cursor q = p;
            while (q < end && q - p <= 12 && PLAIN[*q])
                q++;
            if (q < end && *q == '"' && q - p <= 12) {
                write_view(c->views.p + row * 16, p, (size_t)(q - p), 0);
                p = q + 1;
                break;
            }
            size_t start = c->data.len;
            if ((r = read_text(&p, end, &c->data)) != OK)
                return r;
            if ((r = set_view(c, row, start)) != OK)
                return r;
        }
        break;
    case K_ENUM:
        if (p >= end || *p != '"')
            return FAIL;
        p++;
        {
            /* One of the values, written without escapes; anything else goes to the slow
             * path, which says what is wrong with it. */
            cursor q = plain_end(p, end);
            if (q == NULL)
                return FAIL;
            int32_t code = enum_code(c, p, (size_t)(q - p));
            if (code < 0)
                return FAIL;
            memcpy(c->data.p + row * 4, &code, 4);
            p = q + 1;
        }
        break;
    case K_DATE:
        if (p >= end || *p != '"')
            return FAIL;
        p++;
        {
            int32_t days;
            if (read_date(&p, end, &days) != OK)
                return FAIL;
            memcpy(c->data.p + row * 4, &days, 4);
        }
        break;
    case K_BOOL:
        if (end - p >= 4 && memcmp(p, "true", 4) == 0) {
            c->data.p[row] = 1;
            p += 4;
        } else if (end - p >= 5 && memcmp(p, "false", 5) == 0) {
            c->data.p[row] = 0;
            p += 5;
        } else
            return FAIL;
        break;
    default:
        if (read_number(c->kind, &p, end, c->data.p + row * 8) != OK)
            return FAIL;
        break;
    }
    c->valid.p[row] = 1;
    *pp = p;
    return OK;
}

/* A key's slot in `by_hash`, from its length and its first and last bytes. */
static inline unsigned key_hash(cursor key, size_t len)
{
    return len ? (unsigned)(len * 5 + key[0] * 3 + key[len - 1]) & 255u : 0u;
}

/* The level's field of that name: its index, `n` for the household's members, or -1. */
static int find(const reader_t *rd, const level_t *lv, int household, cursor key, size_t len)
{
    for (int i = 0; i < lv->n; i++)
        if (lv->cols[i].name_len == len && same_bytes(lv->cols[i].name, key, len))
            return i;
    if (household && len == rd->members_key_len && same_bytes(key, rd->members_key, len))
        return lv->n;
    return -1;
}

/* The name of the level's field i (`n`: the household's members) and its length. */
static inline const char *field_name(const reader_t *rd, const level_t *lv, int i, size_t *len)
{
    *len = i < lv->n ? lv->cols[i].name_len : rd->members_key_len;
    return i < lv->n ? lv->cols[i].name : rd->members_key;
}

/* Fill `by_hash` with the level's fields (and, for the household level, the members). */
static void index_level(const reader_t *rd, level_t *lv, int household)
{
    memset(lv->by_hash, -1, sizeof lv->by_hash);
    for (int i = 0; i <= lv->n; i++) {
        if (i == lv->n && !household)
            break;
        size_t len;
        cursor name = (cursor)field_name(rd, lv, i, &len);
        signed char *slot = &lv->by_hash[key_hash(name, len)];
        *slot = *slot == -1 ? (signed char)i : COLLIDING;
    }
}

/* The key at p (after its opening quote): its field, as `find` says, and p after its closing
 * quote. The objects of one file mostly list their fields in one order, so the field that
 * followed the previous one last time is tried first, by comparing its name and closing
 * quote in place (the catalogue's names hold no quote, backslash or control byte). */
static int read_field(const reader_t *rd, level_t *lv, int household, int previous,
                      cursor *pp, cursor end)
{
    cursor p = *pp;
    int guess = lv->after[previous];
    if (guess >= 0) {
        size_t len;
        const char *name = field_name(rd, lv, guess, &len);
        if ((size_t)(end - p) > len && p[len] == '"' && same_bytes(p, name, len)) {
            *pp = p + len + 1;
            return guess;
        }
    }
    /* The key: printable ASCII but a quote or backslash, up to its closing quote (a key
     * with anything else names no field of the catalogue's). */
    cursor key = p;
    if ((p = plain_end(p, end)) == NULL)
        return -1;
    size_t len = (size_t)(p - key);
    *pp = p + 1;
    int i = lv->by_hash[key_hash(key, len)];
    if (i == COLLIDING)
        i = find(rd, lv, household, key, len);
    else if (i >= 0) {
        size_t name_len;
        const char *name = field_name(rd, lv, i, &name_len);
        if (name_len != len || !same_bytes(name, key, len))
            i = -1;
    }
    if (i >= 0)
        lv->after[previous] = (signed char)i;
    return i;
}

/* After an item of an object or array: 1 at a comma (p then after it and the spaces after
 * it), 0 at the closing `close` (p after it), FAIL at anything else. */
static int next_item(cursor *pp, cursor end, char close)
{
    cursor p = skip_ws(*pp, end);
    if (p < end && *p == ',') {
        *pp = skip_ws(p + 1, end);
        return 1;
    }
    if (p < end && *p == close) {
        *pp = p + 1;
        return 0;
    }
    return FAIL;
}

static int read_members(reader_t *rd, cursor *pp, cursor end, uint32_t household);

/* An object (p at its "{") as a new row of the level; for the household level, `members`
 * reads its members' array. */
static int read_object(reader_t *rd, level_t *lv, cursor *pp, cursor end, int household)
{
    cursor p = *pp;
    if (p >= end || *p != '{')
        return FAIL;
    p++;
    int r;
    if ((r = add_row(lv)) != OK)
        return r;
    size_t row = lv->rows - 1;
    uint64_t seen = 0;
    int seen_members = 0;
    p = skip_ws(p, end);
    if (p < end && *p == '}') {
        p++;
        goto done;
    }
    int previous = MAX_FIELDS + 1; /* the object's start */
    for (;;) {
        if (p >= end || *p != '"')
            return FAIL;
        p++;
        int i = read_field(rd, lv, household, previous, &p, end);
        if (i < 0)
            return FAIL;
        previous = i;
        p = skip_ws(p, end);
        if (p >= end || *p != ':')
            return FAIL;
        p = skip_ws(p + 1, end);
        if (i < lv->n) {
            if (seen & ((uint64_t)1 << i))
                return FAIL;
            seen |= (uint64_t)1 << i;
            if ((r = read_value(&p, end, &lv->cols[i], row)) != OK)
                return r;
        } else {
            if (seen_members)
                return FAIL;
            seen_members = 1;
            if ((r = read_members(rd, &p, end, (uint32_t)row)) != OK)
                return r;
        }
        int more = next_item(&p, end, '}');
        if (more == FAIL)
            return FAIL;
        if (!more)
            break;
    }
done:
    if (household && !seen_members)
        return FAIL;
    *pp = p;
    return OK;
}

/* The text of a text column's row (its string view's length and bytes). */
static inline cursor view_text(const column_t *c, size_t row, size_t *len)
{
    const char *view = c->views.p + row * 16;
    int32_t n, offset;
    memcpy(&n, view, 4);
    *len = (size_t)n;
    if (n <= 12)
        return (cursor)view + 4;
    memcpy(&offset, view + 12, 4);
    return (cursor)c->data.p + offset;
}

/* Whether the member row's id is that of an earlier member of its household (from row
 * `first`): such a household is the slow path's, which says so. */
static int repeated_id(const reader_t *rd, size_t first, size_t row)
{
    if (rd->member_id < 0)
        return 0;
    const column_t *ids = &rd->member.cols[rd->member_id];
    if (!ids->valid.p[row])
        return 0;
    size_t len, other_len;
    cursor id = view_text(ids, row, &len);
    for (size_t r = first; r < row; r++) {
        if (!ids->valid.p[r])
            continue;
        cursor other = view_text(ids, r, &other_len);
        if (other_len == len && same_bytes(other, id, len))
            return 1;
    }
    return 0;
}

static int read_members(reader_t *rd, cursor *pp, cursor end, uint32_t household)
{
    cursor p = *pp;
    if (p >= end || *p != '[')
        return FAIL;
    p = skip_ws(p + 1, end);
    long count = 0;
    size_t first = rd->member.rows;
    int r;
    if (p < end && *p == ']')
        return FAIL; /* no members: the slow path says so */
    for (;;) {
        if (++count > rd->max_members)
            return FAIL;
        if (reserve(&rd->parent, 4) != OK)
            return NOMEM;
        memcpy(rd->parent.p + rd->parent.len, &household, 4);
        rd->parent.len += 4;
        if ((r = read_object(rd, &rd->member, &p, end, 0)) != OK)
            return r;
        if (repeated_id(rd, first, rd->member.rows - 1))
            return FAIL;
        int more = next_item(&p, end, ']');
        if (more == FAIL)
            return FAIL;
        if (!more)
            break;
    }
    *pp = p;
    return OK;
}

typedef struct {
    buf_t starts, ends, status;
} lines_t;

static int push64(buf_t *b, int64_t v)
{
    if (reserve(b, 8) != OK)
        return NOMEM;
    memcpy(b->p + b->len, &v, 8);
    b->len += 8;
    return OK;
}

/* Where the text of the line at p stops: at its newline, or at a carriage return just
 * before one or before the block's end, or at the block's end; NULL when p is not there. */
static inline cursor line_stop(cursor p, cursor end)
{
    if (p == end || *p == '\n')
        return p;
    if (*p == '\r' && (p + 1 == end || p[1] == '\n'))
        return p;
    return NULL;
}

/* Every line of the block: its start, end (its newline's position) and status. A line is
 * read from its start; its object read whole, the line must stop right after it (a JSON
 * object holds no newline: its strings cannot, and its spaces are no newlines), so the
 * newline of a line read is found without searching for it. */
static int read_block(reader_t *rd, const unsigned char *data, size_t size, lines_t *out)
{
    cursor end = data + size;
    size_t pos = 0;
    while (pos < size) {
        if (push64(&out->starts, (int64_t)pos) != OK || reserve(&out->status, 1) != OK)
            return NOMEM;
        cursor p = data + pos, stop = line_stop(p, end);
        unsigned char status;
        if (stop != NULL) {
            status = S_EMPTY;
        } else {
            size_t households = rd->household.rows, members = rd->member.rows;
            mark_level(&rd->household);
            mark_level(&rd->member);
            int r = read_object(rd, &rd->household, &p, end, 1);
            if (r == NOMEM)
                return NOMEM;
            stop = r == OK ? line_stop(p, end) : NULL;
            if (stop != NULL) {
                status = S_READ;
            } else {
                truncate_level(&rd->household, households);
                truncate_level(&rd->member, members);
                rd->parent.len = members * 4;
                status = S_SLOW;
            }
        }
        /* The newline: where a line read stops, or after its carriage return; else searched. */
        cursor from = stop != NULL ? stop : data + pos;
        cursor nl = from < end && *from == '\n' ? from : memchr(from, '\n', (size_t)(end - from));
        size_t line_end = nl != NULL ? (size_t)(nl - data) : size;
        if (push64(&out->ends, (int64_t)line_end) != OK)
            return NOMEM;
        out->status.p[out->status.len++] = (char)status;
        pos = nl != NULL ? line_end + 1 : size;
    }
    return OK;
}

/* How many times bytes a and b occur in the block, in one pass the compiler vectorises (byte
 * counters summed every 255 bytes, before they can wrap). */
static void count_two(const unsigned char *data, size_t size, int a, int b, size_t *na,
                      size_t *nb)
{
    size_t x = 0, y = 0, i = 0;
    const unsigned char ca = (unsigned char)a, cb = (unsigned char)b;
    while (i < size) {
        size_t stop = size - i > 255 ? i + 255 : size;
        unsigned char cx = 0, cy = 0;
        for (; i < stop; i++) {
            cx += data[i] == ca;
            cy += data[i] == cb;
        }
        x += cx;
        y += cy;
    }
    *na = x;
    *nb = y;
}

/* Every buffer sized for the block at once, from its lines (a household a line at most) and
 * its opening braces (an object each at most: a member's is one): the columns are written in
 * place, with no buffer grown and copied as the block is read. */
static int size_for(reader_t *rd, const unsigned char *data, size_t size, lines_t *out)
{
    size_t lines, objects;
    count_two(data, size, '\n', '{', &lines, &objects);
    lines++;
    objects++;
#ifdef LINES_TINY_START /* a build that grows every buffer as it goes (its tests run once so) */
    lines = objects = 1;
#endif
    if (grow_level(&rd->household, lines) != OK || grow_level(&rd->member, objects) != OK ||
        reserve(&out->starts, lines * 8) != OK || reserve(&out->ends, lines * 8) != OK ||
        reserve(&out->status, lines) != OK || reserve(&rd->parent, objects * 4) != OK)
        return NOMEM;
    return OK;
}

static void free_level(level_t *lv)
{
    for (int i = 0; i < lv->n; i++) {
        free(lv->cols[i].data.p);
        free(lv->cols[i].views.p);
        free(lv->cols[i].valid.p);
    }
}

static int init_level(level_t *lv, PyObject *fields, const char *what)
{
    if (!PyTuple_Check(fields)) {
        PyErr_Format(PyExc_TypeError, "%s fields: a tuple of (name, kind)", what);
        return -1;
    }
    memset(lv->after, -1, sizeof lv->after);
    Py_ssize_t n = PyTuple_GET_SIZE(fields);
    if (n > MAX_FIELDS) {
        PyErr_Format(PyExc_ValueError, "%s fields: at most %d", what, MAX_FIELDS);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        const char *name;
        Py_ssize_t len;
        int kind;
        PyObject *values = NULL;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(fields, i), "y#i|O!", &name, &len, &kind,
                              &PyTuple_Type, &values))
            return -1;
        if (kind < K_TEXT || kind > K_ENUM) {
            PyErr_Format(PyExc_ValueError, "%s fields: kind %d unknown", what, kind);
            return -1;
        }
        column_t *c = &lv->cols[lv->n++];
        c->name = name;
        c->name_len = (size_t)len;
        c->kind = kind;
        if (kind == K_ENUM) {
            Py_ssize_t k = values ? PyTuple_GET_SIZE(values) : 0;
            if (k < 1 || k > MAX_VALUES) {
                PyErr_Format(PyExc_ValueError, "%s fields: an enum has 1 to %d values", what,
                             MAX_VALUES);
                return -1;
            }
            for (Py_ssize_t j = 0; j < k; j++) {
                char *value;
                Py_ssize_t value_len;
                if (PyBytes_AsStringAndSize(PyTuple_GET_ITEM(values, j), &value, &value_len) < 0)
                    return -1;
                c->values[j] = value;
                c->value_lens[j] = (size_t)value_len;
            }
            c->n_values = (int)k;
            memset(c->by_value, -1, sizeof c->by_value);
            for (int j = 0; j < c->n_values; j++) {
                signed char *slot = &c->by_value[value_hash(c->values[j], c->value_lens[j])];
                *slot = *slot == -1 ? (signed char)j : COLLIDING;
            }
        }
    }
    return 0;
}

static PyObject *bytes_of(const buf_t *b)
{
    return PyBytes_FromStringAndSize(b->len ? b->p : "", (Py_ssize_t)b->len);
}

/* Memory a reader wrote, handed to Python as it is (no copy): a read-only buffer, freed when
 * the last view of it goes. */
typedef struct {
    PyObject_HEAD
    char *p;
    Py_ssize_t len;
} block_t;

static void block_dealloc(PyObject *self)
{
    free(((block_t *)self)->p);
    Py_TYPE(self)->tp_free(self);
}

static int block_getbuffer(PyObject *self, Py_buffer *view, int flags)
{
    block_t *b = (block_t *)self;
    return PyBuffer_FillInfo(view, self, b->p ? b->p : (char *)"", b->len, 1, flags);
}

static PyBufferProcs block_buffer = {block_getbuffer, NULL};

static PyTypeObject BlockType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "engine.batch._lines.Block",
    .tp_basicsize = sizeof(block_t),
    .tp_dealloc = block_dealloc,
    .tp_as_buffer = &block_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Memory a reader wrote: a read-only buffer, freed with its last view.",
};

/* The buffer's bytes as a read-only memoryview of memory handed over to it (b owns nothing
 * after: a NULL on failure, the memory freed). */
static PyObject *view_of(buf_t *b)
{
    block_t *o = PyObject_New(block_t, &BlockType);
    if (o == NULL)
        return NULL;
    o->p = b->p;
    o->len = (Py_ssize_t)b->len;
    b->p = NULL;
    b->len = b->cap = 0;
    PyObject *view = PyMemoryView_FromObject((PyObject *)o);
    Py_DECREF(o);
    return view;
}

static PyObject *columns_of(level_t *lv)
{
    PyObject *list = PyList_New(lv->n);
    if (list == NULL)
        return NULL;
    for (int i = 0; i < lv->n; i++) {
        column_t *c = &lv->cols[i];
        PyObject *item;
        if (c->kind == K_TEXT)
            item = Py_BuildValue("(NNN)", view_of(&c->data), view_of(&c->views),
                                 view_of(&c->valid));
        else
            item = Py_BuildValue("(NON)", view_of(&c->data), Py_None, view_of(&c->valid));
        if (item == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, item);
    }
    return list;
}

static PyObject *parse(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer block;
    PyObject *household_fields, *member_fields;
    const char *members_key;
    Py_ssize_t members_key_len;
    long max_members;
    int member_id = -1;
    if (!PyArg_ParseTuple(args, "y*OOy#l|i", &block, &household_fields, &member_fields,
                          &members_key, &members_key_len, &max_members, &member_id))
        return NULL;
    reader_t rd;
    lines_t lines;
    memset(&rd, 0, sizeof rd);
    memset(&lines, 0, sizeof lines);
    PyObject *result = NULL;
    if (init_level(&rd.household, household_fields, "household") != 0 ||
        init_level(&rd.member, member_fields, "member") != 0)
        goto out;
    rd.members_key = members_key;
    rd.members_key_len = (size_t)members_key_len;
    rd.max_members = max_members;
    if (member_id >= rd.member.n || (member_id >= 0 && rd.member.cols[member_id].kind != K_TEXT)) {
        PyErr_SetString(PyExc_ValueError, "member_id: the index of a text column of members");
        goto out;
    }
    rd.member_id = member_id;
    index_level(&rd, &rd.household, 1);
    index_level(&rd, &rd.member, 0);
    int r;
    Py_BEGIN_ALLOW_THREADS
    r = size_for(&rd, (const unsigned char *)block.buf, (size_t)block.len, &lines);
    if (r == OK)
        r = read_block(&rd, (const unsigned char *)block.buf, (size_t)block.len, &lines);
    Py_END_ALLOW_THREADS
    if (r != OK) {
        PyErr_NoMemory();
        goto out;
    }
    finish_level(&rd.household);
    finish_level(&rd.member);
    result = Py_BuildValue("(NNNnnNNN)", view_of(&lines.starts), view_of(&lines.ends),
                           view_of(&lines.status), (Py_ssize_t)rd.household.rows,
                           (Py_ssize_t)rd.member.rows, view_of(&rd.parent),
                           columns_of(&rd.household), columns_of(&rd.member));
out:
    free_level(&rd.household);
    free_level(&rd.member);
    free(rd.parent.p);
    free(lines.starts.p);
    free(lines.ends.p);
    free(lines.status.p);
    PyBuffer_Release(&block);
    return result;
}

/* --- CSV ---------------------------------------------------------------------------------
 *
 * parse_csv() reads a block of the flat layout's lines (one row a member, no header) into a
 * text column a header column, each cell as polars' CSV reader gives it (an empty cell is a
 * null), and, for the columns of booleans, money and integers, a typed column beside it: the
 * value where the cell is one this reader reads exactly (true or false in any case; money as
 * above; an integer of at most 18 digits, no sign but a minus, no leading zero), and a flag on
 * every row with a cell it does not. A block it cannot read as polars would, cell for cell,
 * it leaves whole (returns None): a quote anywhere, a carriage return but before a newline, an
 * empty line, a row with another number of cells than the header, bytes that are not UTF-8.
 *
 * A block's rows are its lines, counted first: every column is written once, in place, into
 * the bytes objects returned (a row's cell, null or not, written whatever it holds), with no
 * buffer grown, zeroed or copied but the texts longer than a view holds.
 */

/* The line at pos: its end (its newline, or the block's end) and where its text stops (before
 * a carriage return ending it); returns where the next line starts. */
static size_t next_line(const unsigned char *data, size_t size, size_t pos, size_t *line_end,
                        size_t *stop)
{
    const unsigned char *nl = memchr(data + pos, '\n', size - pos);
    *line_end = nl ? (size_t)(nl - data) : size;
    *stop = *line_end;
    if (*stop > pos && data[*stop - 1] == '\r')
        (*stop)--;
    return nl ? *line_end + 1 : size;
}

/* How many times byte c occurs in the block. */
static size_t count_of(const unsigned char *data, size_t size, int c)
{
    size_t n = 0;
    const unsigned char *p = data, *end = data + size;
    while (p < end && (p = memchr(p, c, (size_t)(end - p))) != NULL) {
        n++;
        p++;
    }
    return n;
}

typedef struct {
    int kind;             /* the typed column's kind; K_TEXT: none */
    char *views, *valid;  /* the text: 16 bytes and 1 a row */
    buf_t data;           /* texts longer than 12 bytes */
    char *values, *exact; /* the typed column: 1 or 8 bytes a row, and 1 */
} csv_column_t;

typedef struct {
    int n;
    csv_column_t cols[MAX_FIELDS];
    char *flags;
    size_t rows;
} csv_t;

/* The cell [p, end) as an exact value of the column's kind in its typed column; FAIL when it
 * is not one this reader reads exactly. */
static int typed_cell(csv_column_t *c, size_t row, cursor p, cursor end)
{
    size_t len = (size_t)(end - p);
    cursor q = p;
    switch (c->kind) {
    case K_BOOL:
        if (len == 4 && (p[0] | 0x20) == 't' && (p[1] | 0x20) == 'r' && (p[2] | 0x20) == 'u' &&
            (p[3] | 0x20) == 'e')
            c->values[row] = 1;
        else if (len == 5 && (p[0] | 0x20) == 'f' && (p[1] | 0x20) == 'a' &&
                 (p[2] | 0x20) == 'l' && (p[3] | 0x20) == 's' && (p[4] | 0x20) == 'e')
            c->values[row] = 0;
        else
            return FAIL;
        break;
    default:
        if (read_number(c->kind, &q, end, c->values + row * 8) != OK || q != end)
            return FAIL;
        break;
    }
    c->exact[row] = 1;
    return OK;
}

static void typed_null(csv_column_t *c, size_t row)
{
    c->exact[row] = 0;
    if (c->kind == K_BOOL)
        c->values[row] = 0;
    else
        memset(c->values + row * 8, 0, 8);
}

/* Whether [p, end) is UTF-8 throughout: ASCII eight bytes at a time, sequences checked. */
static int all_utf8(cursor p, cursor end)
{
    while (p < end) {
        if ((size_t)(end - p) >= 8) {
            uint64_t word;
            memcpy(&word, p, 8);
            if ((word & 0x8080808080808080ULL) == 0) {
                p += 8;
                continue;
            }
        }
        if (*p < 0x80) {
            p++;
            continue;
        }
        size_t n = utf8_length(p, end);
        if (n == 0)
            return 0;
        p += n;
    }
    return 1;
}

static int read_csv_block(csv_t *cv, const unsigned char *data, size_t size)
{
    if (memchr(data, '"', size) != NULL || !all_utf8(data, data + size))
        return FAIL;
    int returns = memchr(data, '\r', size) != NULL;
    size_t pos = 0, row = 0;
    while (pos < size) {
        size_t line_end, stop, next = next_line(data, size, pos, &line_end, &stop);
        if (stop == pos || (returns && memchr(data + pos, '\r', stop - pos) != NULL))
            return FAIL;
        char flag = 0;
        cursor p = data + pos, end = data + stop;
        for (int i = 0; i < cv->n; i++) {
            csv_column_t *c = &cv->cols[i];
            cursor cell = p;
            while (p < end && *p != ',')
                p++;
            if ((p < end) != (i < cv->n - 1))
                return FAIL; /* fewer or more cells than the header */
            cursor cell_end = p;
            if (p < end)
                p++; /* the comma */
            char *view = c->views + row * 16;
            size_t len = (size_t)(cell_end - cell);
            if (len == 0) { /* an empty cell is a null in every column */
                memset(view, 0, 16);
                c->valid[row] = 0;
                if (c->kind != K_TEXT)
                    typed_null(c, row);
                continue;
            }
            int32_t offset = 0;
            if (len > 12) {
                if (reserve(&c->data, len) != OK || c->data.len > INT32_MAX - len)
                    return NOMEM;
                offset = (int32_t)c->data.len;
                memcpy(c->data.p + c->data.len, cell, len);
                c->data.len += len;
            }
            write_view(view, cell, len, offset);
            c->valid[row] = 1;
            if (c->kind != K_TEXT && typed_cell(c, row, cell, cell_end) != OK) {
                typed_null(c, row);
                flag = 1;
            }
        }
        cv->flags[row] = flag;
        row++;
        pos = next;
    }
    cv->rows = row;
    return OK;
}

/* A new bytes object of `size` bytes to be written (its contents are not set). */
static char *new_bytes(PyObject **out, size_t size)
{
    *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(size ? size : 1));
    return *out ? PyBytes_AS_STRING(*out) : NULL;
}

static PyObject *parse_csv(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer block;
    PyObject *kinds;
    if (!PyArg_ParseTuple(args, "y*O!", &block, &PyTuple_Type, &kinds))
        return NULL;
    const unsigned char *data = (const unsigned char *)block.buf;
    size_t size = (size_t)block.len;
    csv_t cv;
    memset(&cv, 0, sizeof cv);
    /* The bytes objects written: per column views, valid, values, exact; and the flags. */
    PyObject *objects[MAX_FIELDS * 4 + 1];
    memset(objects, 0, sizeof objects);
    PyObject *result = NULL, *text = NULL, *typed = NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(kinds);
    if (n < 1 || n > MAX_FIELDS) {
        PyErr_Format(PyExc_ValueError, "columns: 1 to %d", MAX_FIELDS);
        goto out;
    }
    size_t most = count_of(data, size, '\n') + 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        long kind = PyLong_AsLong(PyTuple_GET_ITEM(kinds, i));
        if (kind == -1 && PyErr_Occurred())
            goto out;
        if (kind < K_TEXT || kind > K_INTEGER) {
            PyErr_Format(PyExc_ValueError, "column %zd: kind %ld unknown", i, kind);
            goto out;
        }
        csv_column_t *c = &cv.cols[cv.n++];
        c->kind = (int)kind;
        if (!(c->views = new_bytes(&objects[i * 4], most * 16)) ||
            !(c->valid = new_bytes(&objects[i * 4 + 1], most)))
            goto out;
        if (kind != K_TEXT &&
            (!(c->values = new_bytes(&objects[i * 4 + 2], most * (kind == K_BOOL ? 1 : 8))) ||
             !(c->exact = new_bytes(&objects[i * 4 + 3], most))))
            goto out;
    }
    if (!(cv.flags = new_bytes(&objects[MAX_FIELDS * 4], most)))
        goto out;
    int r;
    Py_BEGIN_ALLOW_THREADS
    r = read_csv_block(&cv, data, size);
    Py_END_ALLOW_THREADS
    if (r == NOMEM) {
        PyErr_NoMemory();
        goto out;
    }
    if (r != OK) {
        result = Py_NewRef(Py_None);
        goto out;
    }
    if (!(text = PyList_New(0)) || !(typed = PyList_New(0)))
        goto out;
    for (int i = 0; i < cv.n; i++) {
        csv_column_t *c = &cv.cols[i];
        PyObject *item = Py_BuildValue("(NOO)", bytes_of(&c->data), objects[i * 4],
                                       objects[i * 4 + 1]);
        if (item == NULL || PyList_Append(text, item) != 0) {
            Py_XDECREF(item);
            goto out;
        }
        Py_DECREF(item);
        if (c->kind == K_TEXT)
            continue;
        item = Py_BuildValue("(OOO)", objects[i * 4 + 2], Py_None, objects[i * 4 + 3]);
        if (item == NULL || PyList_Append(typed, item) != 0) {
            Py_XDECREF(item);
            goto out;
        }
        Py_DECREF(item);
    }
    result = Py_BuildValue("(nOOO)", (Py_ssize_t)cv.rows, objects[MAX_FIELDS * 4], text, typed);
out:
    Py_XDECREF(text);
    Py_XDECREF(typed);
    for (size_t i = 0; i < sizeof objects / sizeof objects[0]; i++)
        Py_XDECREF(objects[i]);
    for (int i = 0; i < cv.n; i++)
        free(cv.cols[i].data.p);
    PyBuffer_Release(&block);
    return result;
}

/* --- CSV rows as households and members -----------------------------------------------------
 *
 * parse_rows() reads a block of the flat layout's lines (one row a member, the household's
 * cells repeated on each of its rows, no header) into the household and member columns of
 * `parse`: a household's cells once, from its first row, each member's from its own. The
 * households are runs of adjacent rows with the same id (a row without one is its own), as
 * the flat layout's checks take them. A cell is read as the strict CSV reader above reads it
 * (an empty cell is a null; booleans in any case, money and integers exactly; a date written
 * YYYY-MM-DD that is a day of the calendar; an enum's value as its index), and a household
 * any of whose cells is not read so, whose rows differ in a household cell (byte for byte),
 * that has more than `max_members` rows or a member id twice, is left whole to the text path
 * (its rows' status S_SLOW), which says what is wrong with it. A block it cannot read as
 * polars' reader would (a quote anywhere, a carriage return but before a newline, an empty
 * line, a row with another number of cells than the header, bytes that are not UTF-8) it
 * leaves whole: None.
 *
 * Unless `final`, the last household may go on in the next block: its rows are not read,
 * and `cut` says where they begin (0: the block is one household).
 */

typedef struct {
    int level;  /* 0: a household's cell, 1: a member's, -1: none */
    int column; /* the level's column */
} cell_target_t;

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

/* (Inlined into the rows' loop: a call for each cell was a tenth of the reader's time.) */
static ALWAYS_INLINE int read_cell(column_t *c, size_t row, cursor p, cursor end)
{
    size_t len = (size_t)(end - p);
    switch (c->kind) {
    case K_TEXT:
        if (len <= 12) {
            write_view(c->views.p + row * 16, p, len, 0);
        } else {
            if (reserve(&c->data, len) != OK || c->data.len > INT32_MAX - len)
                return NOMEM;
            int32_t offset = (int32_t)c->data.len;
            memcpy(c->data.p + c->data.len, p, len);
            c->data.len += len;
            write_view(c->views.p + row * 16, p, len, offset);
        }
        break;
    case K_ENUM: {
        int32_t code = enum_code(c, p, len);
        if (code < 0)
            return FAIL;
        memcpy(c->data.p + row * 4, &code, 4);
        break;
    }
    case K_DATE: {
        int32_t days;
        if (len != 10 || civil_date(p, &days) != OK)
            return FAIL;
        memcpy(c->data.p + row * 4, &days, 4);
        break;
    }
    case K_BOOL:
        if (len == 4 && (p[0] | 0x20) == 't' && (p[1] | 0x20) == 'r' && (p[2] | 0x20) == 'u' &&
            (p[3] | 0x20) == 'e')
            c->data.p[row] = 1;
        else if (len == 5 && (p[0] | 0x20) == 'f' && (p[1] | 0x20) == 'a' &&
                 (p[2] | 0x20) == 'l' && (p[3] | 0x20) == 's' && (p[4] | 0x20) == 'e')
            c->data.p[row] = 0;
        else
            return FAIL;
        break;
    default: {
        cursor q = p;
        if (read_number(c->kind, &q, end, c->data.p + row * 8) != OK || q != end)
            return FAIL;
        break;
    }
    }
    c->valid.p[row] = 1;
    return OK;
}

typedef struct {
    reader_t rd;
    int n;                            /* cells a row */
    cell_target_t cells[MAX_FIELDS * 2];
    int id;                           /* the cell of the household's id */
    int run_end[MAX_FIELDS * 2];      /* a household's cell: the last of the household's
                                         cells adjacent to it from it on; else -1 */
    buf_t starts, status, firsts;     /* a row's start, its status; a household's first row */
    size_t rows, cut;
} rows_t;

/* Back to the state before the household that began at row `first` (its level rows and its
 * members'), its rows so far marked S_SLOW when `slow`. */
static void drop_household(rows_t *rs, size_t households, size_t members, size_t first,
                           size_t row, int slow)
{
    truncate_level(&rs->rd.household, households);
    truncate_level(&rs->rd.member, members);
    rs->rd.parent.len = members * 4;
    rs->firsts.len = households * 8;
    if (slow)
        memset(rs->status.p + first, S_SLOW, row - first);
}

/* The cell i of a row of n (p at its start, the row's text ending at end) into cp and ce, p
 * after its comma; FAIL where the row has another number of cells. */
static inline int split_cell(cursor *pp, cursor end, int i, int n, cursor *cp, cursor *ce)
{
    cursor p = *pp;
    cp[i] = p;
    while (p < end && *p != ',')
        p++;
    if ((p < end) != (i < n - 1))
        return FAIL; /* fewer or more cells than the header */
    ce[i] = p;
    *pp = p + (p < end);
    return OK;
}

static int read_rows(rows_t *rs, const unsigned char *data, size_t size, int final)
{
    if (memchr(data, '"', size) != NULL || !all_utf8(data, data + size))
        return FAIL;
    int returns = memchr(data, '\r', size) != NULL;
    reader_t *rd = &rs->rd;
    cursor cp[MAX_FIELDS * 2], ce[MAX_FIELDS * 2]; /* the row's cells */
    cursor hp[MAX_FIELDS * 2], he[MAX_FIELDS * 2]; /* the household's first row's cells */
    size_t pos = 0, row = 0;
    /* The household being read: its first row and where it begins, the level rows before it,
     * its members so far, and whether it is left to the text path. */
    size_t first = 0, start = 0, households = 0, members = 0;
    long count = 0;
    int slow = 0, open = 0;
    while (pos < size) {
        size_t line_end, stop, next = next_line(data, size, pos, &line_end, &stop);
        if (stop == pos || (returns && memchr(data + pos, '\r', stop - pos) != NULL))
            return FAIL;
        cursor p = data + pos, end = data + stop;
        int i = 0;
        /* The cells up to the household's id. */
        for (; i <= rs->id; i++)
            if (split_cell(&p, end, i, rs->n, cp, ce) != OK)
                return FAIL;
        size_t id_len = (size_t)(ce[rs->id] - cp[rs->id]);
        size_t open_len = open ? (size_t)(he[rs->id] - hp[rs->id]) : 0;
        int same = open && id_len != 0 && open_len == id_len &&
                   same_bytes(cp[rs->id], hp[rs->id], id_len);
        if (same && !slow) /* the household's cells so far as on its first row */
            for (int k = 0; k < i && !slow; k++)
                if (rs->cells[k].level == 0 &&
                    (ce[k] - cp[k] != he[k] - hp[k] ||
                     !same_bytes(cp[k], hp[k], (size_t)(ce[k] - cp[k]))))
                    slow = 1;
        /* The rest; on another row of a household, each run of its cells compared with the
         * same run of its first row at once (equal bytes up to a comma or the line's end are
         * equal cells), without splitting it. */
        while (i < rs->n) {
            int j = rs->run_end[i];
            if (same && !slow && j >= 0) {
                size_t len = (size_t)(he[j] - hp[i]);
                int last = j == rs->n - 1;
                if ((size_t)(end - p) >= len && same_bytes(p, hp[i], len) &&
                    (last ? p + len == end : p + len < end && p[len] == ',')) {
                    p += len + !last;
                    i = j + 1;
                    continue;
                }
                slow = 1; /* split as any other: the cells differ, or their number */
            }
            if (split_cell(&p, end, i, rs->n, cp, ce) != OK)
                return FAIL;
            i++;
        }
        if (!same) { /* a new household */
            first = row;
            start = pos;
            households = rd->household.rows;
            members = rd->member.rows;
            count = 0;
            slow = 0;
            open = 1;
            mark_level(&rd->household);
            mark_level(&rd->member);
            memcpy(hp, cp, sizeof(cursor) * (size_t)rs->n);
            memcpy(he, ce, sizeof(cursor) * (size_t)rs->n);
            if (add_row(&rd->household) != OK || push64(&rs->firsts, (int64_t)row) != OK)
                return NOMEM;
            for (int i = 0; i < rs->n && !slow; i++) {
                if (rs->cells[i].level != 0 || cp[i] == ce[i])
                    continue;
                int r = read_cell(&rd->household.cols[rs->cells[i].column], households, cp[i],
                                  ce[i]);
                if (r == NOMEM)
                    return NOMEM;
                slow = r != OK;
            }
        }
        if (!slow && ++count > rd->max_members)
            slow = 1;
        if (!slow) {
            uint32_t h = (uint32_t)households;
            if (add_row(&rd->member) != OK || reserve(&rd->parent, 4) != OK)
                return NOMEM;
            memcpy(rd->parent.p + rd->parent.len, &h, 4);
            rd->parent.len += 4;
            size_t m = rd->member.rows - 1;
            for (int i = 0; i < rs->n && !slow; i++) {
                if (rs->cells[i].level != 1 || cp[i] == ce[i])
                    continue;
                int r = read_cell(&rd->member.cols[rs->cells[i].column], m, cp[i], ce[i]);
                if (r == NOMEM)
                    return NOMEM;
                slow = r != OK;
            }
            if (!slow && repeated_id(rd, rd->member.rows - count, m))
                slow = 1;
            if (slow) /* the household's rows so far, this one included */
                drop_household(rs, households, members, first, row, 1);
        } else if (rd->household.rows > households) {
            drop_household(rs, households, members, first, row, 1);
        }
        if (push64(&rs->starts, (int64_t)pos) != OK || reserve(&rs->status, 1) != OK)
            return NOMEM;
        rs->status.p[rs->status.len++] = (char)(slow ? S_SLOW : S_READ);
        row++;
        pos = next;
    }
    rs->rows = row;
    rs->cut = size;
    if (!final && open) { /* the last household waits for the next block */
        drop_household(rs, households, members, first, row, 0);
        rs->rows = first;
        rs->starts.len = first * 8;
        rs->status.len = first;
        rs->cut = start;
    }
    return OK;
}

static PyObject *parse_rows(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer block;
    PyObject *household_fields, *member_fields, *cells;
    int id, member_id, final;
    long max_members;
    if (!PyArg_ParseTuple(args, "y*OOO!iilp", &block, &household_fields, &member_fields,
                          &PyTuple_Type, &cells, &id, &member_id, &max_members, &final))
        return NULL;
    rows_t *rs = calloc(1, sizeof *rs);
    PyObject *result = NULL;
    if (rs == NULL) {
        PyBuffer_Release(&block);
        return PyErr_NoMemory();
    }
    reader_t *rd = &rs->rd;
    if (init_level(&rd->household, household_fields, "household") != 0 ||
        init_level(&rd->member, member_fields, "member") != 0)
        goto out;
    Py_ssize_t n = PyTuple_GET_SIZE(cells);
    if (n < 1 || n > MAX_FIELDS * 2 || id < 0 || id >= n) {
        PyErr_SetString(PyExc_ValueError, "cells: 1 to 126 (level, column); id: one of them");
        goto out;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        cell_target_t *t = &rs->cells[rs->n++];
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(cells, i), "ii", &t->level, &t->column))
            goto out;
        const level_t *lv = t->level == 0 ? &rd->household : &rd->member;
        if (t->level < -1 || t->level > 1 || (t->level >= 0 &&
                                              (t->column < 0 || t->column >= lv->n))) {
            PyErr_Format(PyExc_ValueError, "cell %zd: no such column", i);
            goto out;
        }
    }
    if (rs->cells[id].level != 0) {
        PyErr_SetString(PyExc_ValueError, "id: a household's cell");
        goto out;
    }
    if (member_id >= rd->member.n || (member_id >= 0 && rd->member.cols[member_id].kind != K_TEXT)) {
        PyErr_SetString(PyExc_ValueError, "member_id: the index of a text column of members");
        goto out;
    }
    rs->id = id;
    for (int i = rs->n - 1; i >= 0; i--)
        rs->run_end[i] = rs->cells[i].level != 0 ? -1
                         : i + 1 < rs->n && rs->run_end[i + 1] >= 0 ? rs->run_end[i + 1] : i;
    rd->member_id = member_id;
    rd->max_members = max_members;
    const unsigned char *data = (const unsigned char *)block.buf;
    size_t size = (size_t)block.len;
    int r;
    Py_BEGIN_ALLOW_THREADS
    size_t lines, commas;
    count_two(data, size, '\n', ',', &lines, &commas);
    lines++;
#ifdef LINES_TINY_START
    lines = 1;
#endif
    r = grow_level(&rd->household, lines) == OK && grow_level(&rd->member, lines) == OK &&
        reserve(&rs->starts, lines * 8) == OK && reserve(&rs->status, lines) == OK &&
        reserve(&rs->firsts, lines * 8) == OK && reserve(&rd->parent, lines * 4) == OK
        ? read_rows(rs, data, size, final) : NOMEM;
    Py_END_ALLOW_THREADS
    if (r == NOMEM) {
        PyErr_NoMemory();
        goto out;
    }
    if (r != OK) {
        result = Py_NewRef(Py_None);
        goto out;
    }
    finish_level(&rd->household);
    finish_level(&rd->member);
    result = Py_BuildValue("(nnNNnnNNNN)", (Py_ssize_t)rs->rows, (Py_ssize_t)rs->cut,
                           view_of(&rs->starts), view_of(&rs->status),
                           (Py_ssize_t)rd->household.rows, (Py_ssize_t)rd->member.rows,
                           view_of(&rs->firsts), view_of(&rd->parent),
                           columns_of(&rd->household), columns_of(&rd->member));
out:
    free_level(&rd->household);
    free_level(&rd->member);
    free(rd->parent.p);
    free(rs->starts.p);
    free(rs->status.p);
    free(rs->firsts.p);
    free(rs);
    PyBuffer_Release(&block);
    return result;
}

/* A register mapped into memory (screening.sources.MappedLines) that is cut short while it
 * is read: touching a page past its new end raises SIGBUS, which would stop the process with
 * "Bus error". exit_on_bus_error(message) has the process write the message to stderr and exit
 * with status 2 instead (only async-signal-safe calls in the handler); the message is the
 * last one given. */
#define BUS_MESSAGE_MAX 4096
static char bus_message[BUS_MESSAGE_MAX];
static volatile size_t bus_length = 0;

static void on_bus_error(int sig)
{
    (void)sig;
    size_t done = 0, length = bus_length;
    while (done < length) {
        ssize_t n = write(2, bus_message + done, length - done);
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    _exit(2);
}

static PyObject *exit_on_bus_error(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer message;
    if (!PyArg_ParseTuple(args, "y*", &message))
        return NULL;
    size_t length = (size_t)message.len < BUS_MESSAGE_MAX ? (size_t)message.len : BUS_MESSAGE_MAX;
    bus_length = 0;
    memcpy(bus_message, message.buf, length);
    bus_length = length;
    PyBuffer_Release(&message);
    /* Installed at every call: another handler may have been set since (faulthandler's,
     * whose disable() puts back the one before it). */
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_bus_error;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGBUS, &action, NULL) != 0)
        return PyErr_SetFromErrno(PyExc_OSError);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"parse", parse, METH_VARARGS,
     "parse(block, household_fields, member_fields, members_key, max_members) -> (starts, ends, "
     "status, households, members, parent, household_columns, member_columns)"},
    {"parse_csv", parse_csv, METH_VARARGS,
     "parse_csv(block, kinds) -> (rows, flags, text_columns, typed_columns) or None"},
    {"parse_rows", parse_rows, METH_VARARGS,
     "parse_rows(block, household_fields, member_fields, cells, id, member_id, max_members, "
     "final) -> (rows, cut, starts, status, households, members, firsts, parent, "
     "household_columns, member_columns) or None"},
    {"exit_on_bus_error", exit_on_bus_error, METH_VARARGS,
     "exit_on_bus_error(message) -> None: on SIGBUS, write message to stderr and exit 2"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_lines", "Household JSON Lines read into columns, strictly.", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__lines(void)
{
    init_plain();
    if (PyType_Ready(&BlockType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && PyModule_AddIntConstant(m, "MAX_ENUM_VALUES", MAX_VALUES) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
