/* The contract's household JSON Lines read into columns, strictly, in one pass.
 *
 * engine.batch.lines calls parse() with a block of whole lines and the fields of the two
 * levels (household and member) from the fact catalogue. Each line is either read whole into
 * the columns or left out with status SLOW, for the record-by-record path to read and report
 * in its own words: this reader takes only what it can read exactly, and sends everything
 * else there. A line is read only if it is one JSON object, starting at the line's first byte
 * and ending at its last (a trailing carriage return aside), with:
 *
 *   - only the level's fields, each at most once, and a "members" array of 1..max_members
 *     member objects (the same rules for their fields);
 *   - texts as JSON strings of valid UTF-8 (the escapes decoded; a \u0000 or a lone
 *     surrogate is left to the slow path), booleans as true or false;
 *   - money as a JSON number without an exponent and of at most 15 digits (read exactly as
 *     the nearest double: an integer below 2^53 divided by a power of ten up to 10^15, both
 *     exact, is rounded once); integers as JSON integers of at most 18 digits.
 *
 * No null, nested value, exponent, or anything else: such a line is SLOW. A field left out is
 * a null in its column (the vectorised checks apply the defaults and the requirements).
 *
 * The work is done without the GIL: the screening's worker threads read blocks side by side.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { K_TEXT = 0, K_BOOL = 1, K_MONEY = 2, K_INTEGER = 3 };
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
    buf_t data;    /* text bytes, or one value a row: 1 byte (bool), 8 (money, integer) */
    buf_t offsets; /* texts: int32, rows + 1 */
    buf_t valid;   /* one byte a row */
} column_t;

typedef struct {
    column_t cols[MAX_FIELDS];
    int n;
    /* The field that followed each field (or the members, index n, or the object's start,
     * MAX_FIELDS + 1) the last time: the one `read_field` tries first; -1 before any. */
    signed char after[MAX_FIELDS + 2];
    size_t rows;
} level_t;

typedef struct {
    level_t household, member;
    const char *members_key;
    size_t members_key_len;
    long max_members;
    buf_t parent; /* uint32 a member row: its household's row */
} reader_t;

static const double POW10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7,
                               1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

static int add_row(level_t *lv)
{
    for (int i = 0; i < lv->n; i++) {
        column_t *c = &lv->cols[i];
        if (reserve(&c->valid, 1) != OK)
            return NOMEM;
        c->valid.p[c->valid.len++] = 0;
        if (c->kind == K_TEXT) {
            if (reserve(&c->offsets, 4) != OK)
                return NOMEM;
            int32_t at = (int32_t)c->data.len;
            memcpy(c->offsets.p + c->offsets.len, &at, 4);
            c->offsets.len += 4;
        } else {
            size_t size = c->kind == K_BOOL ? 1 : 8;
            if (reserve(&c->data, size) != OK)
                return NOMEM;
            memset(c->data.p + c->data.len, 0, size);
            c->data.len += size;
        }
    }
    lv->rows++;
    return OK;
}

/* Back to `rows` rows: a line that turned out SLOW leaves nothing behind. */
static void truncate_level(level_t *lv, size_t rows)
{
    for (int i = 0; i < lv->n; i++) {
        column_t *c = &lv->cols[i];
        c->valid.len = rows;
        if (c->kind == K_TEXT) {
            c->offsets.len = (rows + 1) * 4;
            int32_t at;
            memcpy(&at, c->offsets.p + rows * 4, 4);
            c->data.len = (size_t)at;
        } else {
            c->data.len = rows * (c->kind == K_BOOL ? 1 : 8);
        }
    }
    lv->rows = rows;
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
        /* A UTF-8 sequence, checked as RFC 3629 says (no overlong forms, no surrogates,
         * nothing above U+10FFFF). */
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
            return FAIL;
        if (p + n > end || p[1] < lo || p[1] > hi)
            return FAIL;
        for (size_t i = 2; i < n; i++)
            if (p[i] < 0x80 || p[i] > 0xBF)
                return FAIL;
        memcpy(w, p, n);
        w += n;
        p += n;
    }
    return FAIL;
}

static int read_money(cursor *pp, cursor end, double *out)
{
    cursor p = *pp;
    int negative = 0;
    if (p < end && *p == '-') {
        negative = 1;
        p++;
    }
    if (p >= end || !is_digit(*p))
        return FAIL;
    uint64_t m = 0;
    int digits = 0, fraction = 0;
    if (*p == '0') {
        p++;
        digits = 1;
    } else {
        while (p < end && is_digit(*p)) {
            if (++digits > MAX_DIGITS)
                return FAIL;
            m = m * 10 + (uint64_t)(*p++ - '0');
        }
    }
    if (p < end && *p == '.') {
        p++;
        if (p >= end || !is_digit(*p))
            return FAIL;
        while (p < end && is_digit(*p)) {
            if (++digits > MAX_DIGITS)
                return FAIL;
            m = m * 10 + (uint64_t)(*p++ - '0');
            fraction++;
        }
    }
    if (p < end && (*p == 'e' || *p == 'E' || is_digit(*p)))
        return FAIL;
    double d = (double)m / POW10[fraction];
    *out = negative ? -d : d;
    *pp = p;
    return OK;
}

static int read_integer(cursor *pp, cursor end, int64_t *out)
{
    cursor p = *pp;
    int negative = 0;
    if (p < end && *p == '-') {
        negative = 1;
        p++;
    }
    if (p >= end || !is_digit(*p))
        return FAIL;
    int64_t v = 0;
    int digits = 0;
    if (*p == '0') {
        p++;
    } else {
        while (p < end && is_digit(*p)) {
            if (++digits > MAX_INT_DIGITS)
                return FAIL;
            v = v * 10 + (*p++ - '0');
        }
    }
    if (p < end && (*p == '.' || *p == 'e' || *p == 'E' || is_digit(*p)))
        return FAIL;
    *out = negative ? -v : v;
    *pp = p;
    return OK;
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
        if ((r = read_text(&p, end, &c->data)) != OK)
            return r;
        if (c->data.len > INT32_MAX)
            return NOMEM;
        {
            int32_t at = (int32_t)c->data.len;
            memcpy(c->offsets.p + (row + 1) * 4, &at, 4);
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
    case K_MONEY: {
        double d;
        if (read_money(&p, end, &d) != OK)
            return FAIL;
        memcpy(c->data.p + row * 8, &d, 8);
        break;
    }
    default: {
        int64_t v;
        if (read_integer(&p, end, &v) != OK)
            return FAIL;
        memcpy(c->data.p + row * 8, &v, 8);
        break;
    }
    }
    c->valid.p[row] = 1;
    *pp = p;
    return OK;
}

/* A key (p after its opening quote): plain bytes up to the closing quote, no escapes. */
static int read_key(cursor *pp, cursor end, cursor *key, size_t *len)
{
    cursor p = *pp, start = p;
    while (p < end && *p != '"') {
        if (*p == '\\' || *p < 0x20)
            return FAIL;
        p++;
    }
    if (p >= end)
        return FAIL;
    *key = start;
    *len = (size_t)(p - start);
    *pp = p + 1;
    return OK;
}

/* The level's field of that name: its index, `n` for the household's members, or -1. */
static int find(const reader_t *rd, const level_t *lv, int household, cursor key, size_t len)
{
    for (int i = 0; i < lv->n; i++)
        if (lv->cols[i].name_len == len && memcmp(lv->cols[i].name, key, len) == 0)
            return i;
    if (household && len == rd->members_key_len && memcmp(key, rd->members_key, len) == 0)
        return lv->n;
    return -1;
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
        const char *name = guess < lv->n ? lv->cols[guess].name : rd->members_key;
        size_t len = guess < lv->n ? lv->cols[guess].name_len : rd->members_key_len;
        if ((size_t)(end - p) > len && p[len] == '"' && memcmp(p, name, len) == 0) {
            *pp = p + len + 1;
            return guess;
        }
    }
    cursor key;
    size_t len;
    if (read_key(&p, end, &key, &len) != OK)
        return -1;
    int i = find(rd, lv, household, key, len);
    if (i >= 0)
        lv->after[previous] = (signed char)i;
    *pp = p;
    return i;
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
        p = skip_ws(p, end);
        if (p < end && *p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        if (p < end && *p == '}') {
            p++;
            break;
        }
        return FAIL;
    }
done:
    if (household && !seen_members)
        return FAIL;
    *pp = p;
    return OK;
}

static int read_members(reader_t *rd, cursor *pp, cursor end, uint32_t household)
{
    cursor p = *pp;
    if (p >= end || *p != '[')
        return FAIL;
    p = skip_ws(p + 1, end);
    long count = 0;
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
        p = skip_ws(p, end);
        if (p < end && *p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        if (p < end && *p == ']') {
            p++;
            break;
        }
        return FAIL;
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

/* Every line of the block: its start, end (its newline's position) and status. */
static int read_block(reader_t *rd, const unsigned char *data, size_t size, lines_t *out)
{
    size_t pos = 0;
    while (pos < size) {
        const unsigned char *nl = memchr(data + pos, '\n', size - pos);
        size_t line_end = nl ? (size_t)(nl - data) : size;
        if (push64(&out->starts, (int64_t)pos) != OK || push64(&out->ends, (int64_t)line_end) != OK ||
            reserve(&out->status, 1) != OK)
            return NOMEM;
        size_t stop = line_end;
        if (stop > pos && data[stop - 1] == '\r')
            stop--;
        unsigned char status;
        if (stop == pos) {
            status = S_EMPTY;
        } else {
            size_t households = rd->household.rows, members = rd->member.rows;
            cursor p = data + pos, end = data + stop;
            int r = read_object(rd, &rd->household, &p, end, 1);
            if (r == NOMEM)
                return NOMEM;
            if (r == OK && p == end) {
                status = S_READ;
            } else {
                truncate_level(&rd->household, households);
                truncate_level(&rd->member, members);
                rd->parent.len = members * 4;
                status = S_SLOW;
            }
        }
        out->status.p[out->status.len++] = (char)status;
        pos = nl ? line_end + 1 : size;
    }
    return OK;
}

static void free_level(level_t *lv)
{
    for (int i = 0; i < lv->n; i++) {
        free(lv->cols[i].data.p);
        free(lv->cols[i].offsets.p);
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
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(fields, i), "y#i", &name, &len, &kind))
            return -1;
        if (kind < K_TEXT || kind > K_INTEGER) {
            PyErr_Format(PyExc_ValueError, "%s fields: kind %d unknown", what, kind);
            return -1;
        }
        column_t *c = &lv->cols[lv->n++];
        c->name = name;
        c->name_len = (size_t)len;
        c->kind = kind;
        if (kind == K_TEXT) {
            if (reserve(&c->offsets, 4) != OK) {
                PyErr_NoMemory();
                return -1;
            }
            memset(c->offsets.p, 0, 4);
            c->offsets.len = 4;
        }
    }
    return 0;
}

static PyObject *bytes_of(const buf_t *b)
{
    return PyBytes_FromStringAndSize(b->len ? b->p : "", (Py_ssize_t)b->len);
}

static PyObject *columns_of(const level_t *lv)
{
    PyObject *list = PyList_New(lv->n);
    if (list == NULL)
        return NULL;
    for (int i = 0; i < lv->n; i++) {
        const column_t *c = &lv->cols[i];
        PyObject *item;
        if (c->kind == K_TEXT)
            item = Py_BuildValue("(NNN)", bytes_of(&c->data), bytes_of(&c->offsets),
                                 bytes_of(&c->valid));
        else
            item = Py_BuildValue("(NON)", bytes_of(&c->data), Py_None, bytes_of(&c->valid));
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
    if (!PyArg_ParseTuple(args, "y*OOy#l", &block, &household_fields, &member_fields,
                          &members_key, &members_key_len, &max_members))
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
    int r;
    Py_BEGIN_ALLOW_THREADS
    r = read_block(&rd, (const unsigned char *)block.buf, (size_t)block.len, &lines);
    Py_END_ALLOW_THREADS
    if (r != OK) {
        PyErr_NoMemory();
        goto out;
    }
    result = Py_BuildValue("(NNNnnNNN)", bytes_of(&lines.starts), bytes_of(&lines.ends),
                           bytes_of(&lines.status), (Py_ssize_t)rd.household.rows,
                           (Py_ssize_t)rd.member.rows, bytes_of(&rd.parent),
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

static PyMethodDef methods[] = {
    {"parse", parse, METH_VARARGS,
     "parse(block, household_fields, member_fields, members_key, max_members) -> (starts, ends, "
     "status, households, members, parent, household_columns, member_columns)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_lines", "Household JSON Lines read into columns, strictly.", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__lines(void)
{
    init_plain();
    return PyModule_Create(&module);
}
