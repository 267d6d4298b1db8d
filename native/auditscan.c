/* vihub_auditscan: the audit verifier's hot loop in C (hub/services/audit_verify_pg.py).
 *
 * A pure accelerator. ``Scanner.drain(get)`` pulls COPY messages from psycopg's
 * ``PGconn.get_copy_data`` and accepts a row only when it is whole and plain (18 fields, no COPY
 * escape but NULL markers, nothing JSON must escape in a free-text field, a timestamp in the
 * usual form), follows the row before it (seq and prev_hash), is not a checkpoint's row, and its
 * SHA-256 over the canonical bytes equals its stored hash. Anything else (the first row, a
 * suspect, a link or checkpoint to check, a row it cannot read) goes back to Python, which
 * decides exactly as without this module. So the module can only make the verifier faster: it
 * never says "altered", and it says "good" only where the stored hash is the SHA-256 of exactly
 * the bytes the Python template builds for the row.
 *
 * The canonical bytes are those of ``audit_verify_pg._canonical``: the memoised pieces of the
 * eight repeating columns (a Python mapping, the same ``_PIECES``), ``changes`` through the same
 * ``_CHANGES`` mapping, and the varying columns placed between them.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <string.h>

#define NFIELDS 18
#define NREPEATING 8
#define HASH_HEX 64
/* The varying fields, after the eight repeating ones. */
enum { F_SEQ = 8, F_PREV, F_HASH, F_AT, F_ACTOR, F_OBJECT, F_REFERRAL, F_TASK, F_REQUEST, F_CHANGES };

typedef struct {
    PyObject_HEAD
    PyObject *pieces;  /* mapping: repeating columns' COPY text -> tuple of 6 str, or None */
    PyObject *changes; /* mapping: changes' COPY text -> canonical JSON str (ValueError: not JSON) */
    long long *checkpoints; /* sorted seqs of the signed checkpoints: their rows go to Python */
    Py_ssize_t ncheckpoints, next_checkpoint;
    int primed;
    long long expected_seq;
    char expected_prev[HASH_HEX];
    unsigned long long accepted;
    char *buf, *json; /* the canonical bytes; changes' canonical JSON */
    size_t cap, json_cap;
} Scanner;

typedef struct {
    const char *p;
    Py_ssize_t n;
} Field;

static int is_null(Field f) { return f.n == 2 && f.p[0] == '\\' && f.p[1] == 'N'; }

/* Strict UTF-8 (no overlong form, surrogate or code point past U+10FFFF), as Python's decoder
 * reads it: Python decodes the whole message before it reads a field, so a row that is not UTF-8
 * is never one this module takes. */
static int utf8(const unsigned char *p, Py_ssize_t n) {
    const unsigned char *end = p + n;
    while (p < end) {
        if (end - p >= 8) { /* eight ASCII bytes at a time */
            uint64_t word;
            memcpy(&word, p, 8);
            if (!(word & 0x8080808080808080ULL)) {
                p += 8;
                continue;
            }
        }
        unsigned char c = *p;
        if (c < 0x80) {
            p++;
            continue;
        }
        Py_ssize_t len;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else {
            return 0;
        }
        if (end - p < len || p[1] < lo || p[1] > hi) return 0;
        for (Py_ssize_t i = 2; i < len; i++) {
            if (p[i] < 0x80 || p[i] > 0xBF) return 0;
        }
        p += len;
    }
    return 1;
}

/* A whole, plain row split into its fields; 0 if it is not one. */
static int split_row(const char *p, Py_ssize_t n, Field *fields) {
    if (n < 1 || p[n - 1] != '\n' || !utf8((const unsigned char *)p, n)) return 0;
    n -= 1; /* the newline */
    if (memchr(p, '\n', (size_t)n)) return 0; /* more than one row */
    int escapes = memchr(p, '\\', (size_t)n) != NULL;
    const char *end = p + n, *start = p;
    int k = 0;
    for (;;) {
        const char *tab = memchr(start, '\t', (size_t)(end - start));
        const char *stop = tab ? tab : end;
        if (k == NFIELDS) return 0;
        fields[k].p = start;
        fields[k].n = stop - start;
        /* a backslash but in a NULL marker is an escape: Python undoes it */
        if (escapes && !is_null(fields[k]) && memchr(start, '\\', (size_t)(stop - start))) return 0;
        k++;
        if (!tab) break;
        start = tab + 1;
    }
    return k == NFIELDS;
}

static int ensure(char **buf, size_t *cap, size_t need) {
    if (need <= *cap) return 1;
    size_t size = *cap ? *cap : 4096;
    while (size < need) size *= 2;
    char *grown = PyMem_Realloc(*buf, size);
    if (!grown) return 0;
    *buf = grown;
    *cap = size;
    return 1;
}

#define PUT(src, len)                 \
    do {                              \
        memcpy(out, (src), (len));    \
        out += (len);                 \
    } while (0)
#define PUTS(lit) PUT(lit, sizeof(lit) - 1)

/* A free-text field as ``encode_basestring`` gives it, or 0 if it has something to escape. */
static int plain_text(Field f) {
    for (Py_ssize_t i = 0; i < f.n; i++) {
        unsigned char c = (unsigned char)f.p[i];
        if (c < 0x20 || c == '"') return 0;
    }
    return 1;
}

static int digits(Field f, long long *value) {
    if (f.n < 1 || f.n > 18) return 0;
    long long v = 0;
    for (Py_ssize_t i = 0; i < f.n; i++) {
        if (f.p[i] < '0' || f.p[i] > '9') return 0;
        v = v * 10 + (f.p[i] - '0');
    }
    *value = v;
    return 1;
}

/* Look ``f`` up in ``mapping`` (its ``__missing__`` fills it). NULL with no error set: a key the
 * mapping cannot answer or that is not UTF-8 (ValueError), so the row is Python's. NULL with an error: raise it. */
static PyObject *lookup(PyObject *mapping, Field f) {
    PyObject *key = PyUnicode_DecodeUTF8(f.p, f.n, NULL); /* not UTF-8: Python's, to raise */
    PyObject *value = key ? PyObject_GetItem(mapping, key) : NULL;
    Py_XDECREF(key);
    if (!value && PyErr_ExceptionMatches(PyExc_ValueError)) PyErr_Clear();
    return value;
}

/* ``changes`` as ``json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"),
 * ensure_ascii=False)`` gives it, for the JSON jsonb prints that needs no judgement: objects,
 * arrays, strings with no escape in them (a row with a backslash never gets here), integers in
 * their shortest form, true, false, null. Anything else (a fraction or exponent, -0, an integer
 * of more than 640 digits, a duplicate key, deep nesting, many members) returns 0 and the row
 * uses the Python mapping. Keys are sorted bytewise, which for UTF-8 is Python's code-point
 * order. */
#define JSON_DEPTH 16
#define JSON_MEMBERS 64

typedef struct {
    const char *p, *end;
    char *out; /* NULL: only parse */
} Json;

static void json_space(Json *j) {
    while (j->p < j->end && *j->p == ' ') j->p++;
}

static int json_string(Json *j) { /* at the opening quote */
    const char *start = j->p++;
    while (j->p < j->end && *j->p != '"') {
        unsigned char c = (unsigned char)*j->p;
        if (c < 0x20 || c == '\\') return 0;
        j->p++;
    }
    if (j->p >= j->end) return 0;
    j->p++;
    if (j->out) {
        memcpy(j->out, start, (size_t)(j->p - start));
        j->out += j->p - start;
    }
    return 1;
}

static int json_value(Json *j, int depth);

static int json_key_before(const char *a, Py_ssize_t an, const char *b, Py_ssize_t bn) {
    int c = memcmp(a, b, (size_t)(an < bn ? an : bn));
    return c < 0 || (c == 0 && an < bn);
}

static int json_object(Json *j, int depth) { /* at the opening brace */
    struct {
        const char *key, *value;
        Py_ssize_t key_n;
    } m[JSON_MEMBERS];
    int n = 0;
    j->p++;
    json_space(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
        if (j->out) *j->out++ = '{', *j->out++ = '}';
        return 1;
    }
    char *out = j->out;
    j->out = NULL; /* first find the members, then write them in key order */
    for (;;) {
        if (n == JSON_MEMBERS || j->p >= j->end || *j->p != '"') return 0;
        const char *key = j->p + 1;
        if (!json_string(j)) return 0;
        Py_ssize_t key_n = j->p - 1 - key;
        json_space(j);
        if (j->p >= j->end || *j->p != ':') return 0;
        j->p++;
        json_space(j);
        const char *value = j->p;
        if (!json_value(j, depth + 1)) return 0;
        /* insertion in key order; an equal key is a duplicate */
        int i = n;
        while (i > 0 && json_key_before(key, key_n, m[i - 1].key, m[i - 1].key_n)) {
            m[i] = m[i - 1];
            i--;
        }
        if (i > 0 && m[i - 1].key_n == key_n && memcmp(m[i - 1].key, key, (size_t)key_n) == 0) return 0;
        m[i].key = key, m[i].key_n = key_n, m[i].value = value;
        n++;
        json_space(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            json_space(j);
            continue;
        }
        if (j->p < j->end && *j->p == '}') break;
        return 0;
    }
    j->p++;
    j->out = out;
    if (!out) return 1;
    const char *after = j->p;
    *j->out++ = '{';
    for (int i = 0; i < n; i++) {
        if (i) *j->out++ = ',';
        *j->out++ = '"';
        memcpy(j->out, m[i].key, (size_t)m[i].key_n);
        j->out += m[i].key_n;
        *j->out++ = '"';
        *j->out++ = ':';
        j->p = m[i].value;
        if (!json_value(j, depth + 1)) return 0; /* (parsed once already) */
    }
    *j->out++ = '}';
    j->p = after;
    return 1;
}

static int json_array(Json *j, int depth) { /* at the opening bracket */
    j->p++;
    if (j->out) *j->out++ = '[';
    json_space(j);
    if (j->p < j->end && *j->p == ']') {
        j->p++;
        if (j->out) *j->out++ = ']';
        return 1;
    }
    for (;;) {
        if (!json_value(j, depth + 1)) return 0;
        json_space(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            if (j->out) *j->out++ = ',';
            json_space(j);
            continue;
        }
        if (j->p < j->end && *j->p == ']') {
            j->p++;
            if (j->out) *j->out++ = ']';
            return 1;
        }
        return 0;
    }
}

static int json_literal(Json *j, const char *word, Py_ssize_t n) {
    if (j->end - j->p < n || memcmp(j->p, word, (size_t)n) != 0) return 0;
    if (j->out) {
        memcpy(j->out, word, (size_t)n);
        j->out += n;
    }
    j->p += n;
    return 1;
}

static int json_integer(Json *j) {
    const char *start = j->p;
    if (*j->p == '-') j->p++;
    const char *digits_at = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') j->p++;
    Py_ssize_t count = j->p - digits_at;
    /* 640: the smallest limit Python's int_max_str_digits can be set to (but 0, no limit) */
    if (count == 0 || count > 640 || (count > 1 && *digits_at == '0')) return 0;
    if (count == 1 && *digits_at == '0' && digits_at != start) return 0; /* -0: Python writes 0 */
    if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E')) return 0;
    if (j->out) {
        memcpy(j->out, start, (size_t)(j->p - start));
        j->out += j->p - start;
    }
    return 1;
}

static int json_value(Json *j, int depth) {
    if (depth > JSON_DEPTH || j->p >= j->end) return 0;
    switch (*j->p) {
    case '{':
        return json_object(j, depth);
    case '[':
        return json_array(j, depth);
    case '"':
        return json_string(j);
    case 't':
        return json_literal(j, "true", 4);
    case 'f':
        return json_literal(j, "false", 5);
    case 'n':
        return json_literal(j, "null", 4);
    default:
        return (*j->p == '-' || (*j->p >= '0' && *j->p <= '9')) ? json_integer(j) : 0;
    }
}

/* The canonical JSON of ``f`` into ``out`` (room for f.n bytes: it only ever loses spaces); its
 * length, or 0. */
static Py_ssize_t json_canonical(Field f, char *out) {
    Json j = {f.p, f.p + f.n, out};
    if (!json_value(&j, 0)) return 0;
    json_space(&j);
    return j.p == j.end ? j.out - out : 0;
}

/* The canonical bytes of a split row into s->buf; their length, 0 when the row is Python's, -1
 * on an error. */
static Py_ssize_t canonical(Scanner *s, Field *f) {
    Field key = {f[0].p, f[NREPEATING - 1].p + f[NREPEATING - 1].n - f[0].p};
    Field at = f[F_AT];
    if (!(at.n == 19 || (at.n >= 21 && at.n <= 26))) return 0;
    /* PostgreSQL's ISO form, byte by byte (Python slices characters: only ASCII agrees) */
    for (Py_ssize_t i = 0; i < at.n; i++) {
        char c = at.p[i], want = "dddd-dd-dd dd:dd:dd.dddddd"[i];
        if (want == 'd' ? (c < '0' || c > '9') : c != want) return 0;
    }
    if (is_null(f[F_CHANGES])) return 0;
    const int texts[] = {F_OBJECT, F_PREV, F_REQUEST}; /* through encode_basestring in Python */
    for (int i = 0; i < 3; i++) {
        if (!is_null(f[texts[i]]) && !plain_text(f[texts[i]])) return 0;
    }

    PyObject *pieces = lookup(s->pieces, key);
    if (!pieces) return PyErr_Occurred() ? -1 : 0;
    Py_ssize_t result = 0;
    PyObject *changes = NULL;
    const char *piece[6];
    Py_ssize_t piece_n[6];
    if (!PyTuple_Check(pieces) || PyTuple_GET_SIZE(pieces) != 6) goto done; /* None: Python's */
    for (int i = 0; i < 6; i++) {
        piece[i] = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(pieces, i), &piece_n[i]);
        if (!piece[i]) {
            result = -1;
            goto done;
        }
    }
    const char *changes_p = "{}";
    Py_ssize_t changes_n = 2;
    if (!ensure(&s->json, &s->json_cap, (size_t)f[F_CHANGES].n + 1)) {
        PyErr_NoMemory();
        result = -1;
        goto done;
    }
    if ((changes_n = json_canonical(f[F_CHANGES], s->json)) > 0) {
        changes_p = s->json;
    } else {
        changes = lookup(s->changes, f[F_CHANGES]);
        if (!changes) {
            result = PyErr_Occurred() ? -1 : 0;
            goto done;
        }
        changes_p = PyUnicode_Check(changes) ? PyUnicode_AsUTF8AndSize(changes, &changes_n) : NULL;
        if (!changes_p) {
            if (PyErr_Occurred()) PyErr_Clear(); /* not encodable: Python's */
            goto done;
        }
    }
    size_t need = 256 + (size_t)changes_n;
    for (int i = 0; i < 6; i++) need += (size_t)piece_n[i];
    for (int i = F_SEQ; i < F_CHANGES; i++) need += (size_t)f[i].n;
    if (!ensure(&s->buf, &s->cap, need)) {
        PyErr_NoMemory();
        result = -1;
        goto done;
    }
    char *out = s->buf;
/* A uuid as COPY prints it, or a text with nothing to escape (checked above). */
#define UUID_OR_NULL(x)              \
    do {                             \
        if (is_null(x)) {            \
            PUTS("null");            \
        } else {                     \
            PUTS("\"");              \
            PUT((x).p, (size_t)(x).n); \
            PUTS("\"");              \
        }                            \
    } while (0)
    PUT(piece[0], (size_t)piece_n[0]);
    UUID_OR_NULL(f[F_ACTOR]);
    PUT(piece[1], (size_t)piece_n[1]);
    PUT(changes_p, (size_t)changes_n);
    PUT(piece[2], (size_t)piece_n[2]);
    UUID_OR_NULL(f[F_OBJECT]);
    PUT(piece[3], (size_t)piece_n[3]);
    PUT(at.p, 10);
    PUTS("T");
    PUT(at.p + 11, 8);
    if (at.n == 19) {
        PUTS(".000000");
    } else {
        PUT(at.p + 19, (size_t)(at.n - 19));
        for (Py_ssize_t i = at.n - 19; i < 7; i++) PUTS("0");
    }
    PUT(piece[4], (size_t)piece_n[4]);
    UUID_OR_NULL(f[F_PREV]);
    PUT(piece[5], (size_t)piece_n[5]);
    UUID_OR_NULL(f[F_REFERRAL]);
    PUTS(",\"request_id\":");
    UUID_OR_NULL(f[F_REQUEST]);
    PUTS(",\"seq\":");
    PUT(f[F_SEQ].p, (size_t)f[F_SEQ].n);
    PUTS(",\"task_id\":");
    UUID_OR_NULL(f[F_TASK]);
    PUTS("}");
#undef UUID_OR_NULL
    result = out - s->buf;
done:
    Py_DECREF(pieces);
    Py_XDECREF(changes);
    return result;
}

static const char HEX[] = "0123456789abcdef";

/* 1: the row is good and linked, and counted; 0: Python's; -1: an error is set. */
static int accept(Scanner *s, const char *p, Py_ssize_t n) {
    Field f[NFIELDS];
    long long seq;
    if (!s->primed || !split_row(p, n, f) || !digits(f[F_SEQ], &seq)) return 0;
    if (seq != s->expected_seq || f[F_PREV].n != HASH_HEX || f[F_HASH].n != HASH_HEX ||
        memcmp(f[F_PREV].p, s->expected_prev, HASH_HEX) != 0)
        return 0;
    if (s->next_checkpoint < s->ncheckpoints && s->checkpoints[s->next_checkpoint] == seq) return 0;
    Py_ssize_t len = canonical(s, f);
    if (len <= 0) return (int)len;
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s->buf, (size_t)len, digest);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        if (f[F_HASH].p[2 * i] != HEX[digest[i] >> 4] || f[F_HASH].p[2 * i + 1] != HEX[digest[i] & 15])
            return 0;
    }
    s->expected_seq = seq + 1;
    memcpy(s->expected_prev, f[F_HASH].p, HASH_HEX);
    s->accepted++;
    return 1;
}

static void seek_checkpoint(Scanner *s) {
    Py_ssize_t lo = 0, hi = s->ncheckpoints;
    while (lo < hi) { /* the first checkpoint at or after expected_seq */
        Py_ssize_t mid = (lo + hi) / 2;
        if (s->checkpoints[mid] < s->expected_seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    s->next_checkpoint = lo;
}

static int Scanner_init(Scanner *s, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"pieces", "changes", "checkpoints", NULL};
    PyObject *pieces, *changes, *checkpoints;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO", kwlist, &pieces, &changes, &checkpoints)) return -1;
    PyObject *seqs = PySequence_List(checkpoints);
    if (!seqs || PyList_Sort(seqs) < 0) {
        Py_XDECREF(seqs);
        return -1;
    }
    Py_ssize_t count = PyList_GET_SIZE(seqs);
    long long *array = PyMem_Malloc(sizeof(long long) * (size_t)(count ? count : 1));
    if (!array) {
        Py_DECREF(seqs);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        array[i] = PyLong_AsLongLong(PyList_GET_ITEM(seqs, i));
        if (array[i] == -1 && PyErr_Occurred()) {
            PyMem_Free(array);
            Py_DECREF(seqs);
            return -1;
        }
    }
    Py_DECREF(seqs);
    Py_XSETREF(s->pieces, Py_NewRef(pieces));
    Py_XSETREF(s->changes, Py_NewRef(changes));
    PyMem_Free(s->checkpoints);
    s->checkpoints = array;
    s->ncheckpoints = count;
    s->next_checkpoint = 0;
    s->primed = 0;
    s->accepted = 0;
    return 0;
}

static void Scanner_dealloc(Scanner *s) {
    Py_XDECREF(s->pieces);
    Py_XDECREF(s->changes);
    PyMem_Free(s->checkpoints);
    PyMem_Free(s->buf);
    PyMem_Free(s->json);
    Py_TYPE(s)->tp_free((PyObject *)s);
}

static PyObject *Scanner_expect(Scanner *s, PyObject *args) {
    long long seq;
    const char *prev;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "Ls#", &seq, &prev, &n)) return NULL;
    s->primed = n == HASH_HEX; /* a link that is not a hash: every row goes to Python */
    s->expected_seq = seq;
    if (s->primed) memcpy(s->expected_prev, prev, HASH_HEX);
    seek_checkpoint(s);
    Py_RETURN_NONE;
}

static PyObject *Scanner_last(Scanner *s, void *closure) {
    (void)closure;
    if (!s->primed) Py_RETURN_NONE;
    return Py_BuildValue("(Ls#)", s->expected_seq - 1, s->expected_prev, (Py_ssize_t)HASH_HEX);
}

static PyObject *Scanner_accepted(Scanner *s, void *closure) {
    (void)closure;
    return PyLong_FromUnsignedLongLong(s->accepted);
}

/* One message through ``accept``: True, False, or NULL on an error. */
static int accept_message(Scanner *s, PyObject *message) { /* ``accept`` on a bytes-like object */
    Py_buffer view;
    if (PyObject_GetBuffer(message, &view, PyBUF_SIMPLE) < 0) return -1;
    int ok = accept(s, view.buf, view.len);
    PyBuffer_Release(&view);
    return ok;
}

static PyObject *Scanner_feed(Scanner *s, PyObject *message) {
    int ok = accept_message(s, message);
    return ok < 0 ? NULL : PyBool_FromLong(ok);
}

/* Pull messages with ``get(1)`` while they are accepted. Returns ``(code, message)`` as
 * ``get_copy_data`` does but for the rows taken: 0 nothing buffered, -1 the end of the COPY, or
 * 1 and a message that is Python's. */
static PyObject *Scanner_drain(Scanner *s, PyObject *get) {
    PyObject *one = PyLong_FromLong(1);
    if (!one) return NULL;
    for (;;) {
        PyObject *got = PyObject_CallOneArg(get, one);
        if (!got) break;
        if (!PyTuple_Check(got) || PyTuple_GET_SIZE(got) != 2) {
            Py_DECREF(got);
            PyErr_SetString(PyExc_TypeError, "get_copy_data gave something other than (nbytes, data)");
            break;
        }
        long nbytes = PyLong_AsLong(PyTuple_GET_ITEM(got, 0));
        if (nbytes == -1 && PyErr_Occurred()) {
            Py_DECREF(got);
            break;
        }
        if (nbytes <= 0) {
            Py_DECREF(got);
            Py_DECREF(one);
            return Py_BuildValue("(iO)", nbytes < 0 ? -1 : 0, Py_None);
        }
        PyObject *message = PyTuple_GET_ITEM(got, 1);
        int ok = accept_message(s, message);
        if (ok < 0) {
            Py_DECREF(got);
            break;
        }
        if (!ok) {
            PyObject *result = Py_BuildValue("(iO)", 1, message);
            Py_DECREF(got);
            Py_DECREF(one);
            return result;
        }
        Py_DECREF(got);
    }
    Py_DECREF(one);
    return NULL;
}

/* For the tests: the canonical bytes this module would hash for a row (None: Python's). */
static PyObject *Scanner_canonical(Scanner *s, PyObject *message) {
    Py_buffer view;
    if (PyObject_GetBuffer(message, &view, PyBUF_SIMPLE) < 0) return NULL;
    Field f[NFIELDS];
    Py_ssize_t len = split_row(view.buf, view.len, f) ? canonical(s, f) : 0;
    PyBuffer_Release(&view);
    if (len < 0) return NULL;
    if (len == 0) Py_RETURN_NONE;
    return PyBytes_FromStringAndSize(s->buf, len);
}

static PyMethodDef Scanner_methods[] = {
    {"expect", (PyCFunction)Scanner_expect, METH_VARARGS,
     "expect(seq, prev_hash): the next row must be #seq and follow prev_hash."},
    {"feed", (PyCFunction)Scanner_feed, METH_O, "feed(message) -> True if the row was taken."},
    {"drain", (PyCFunction)Scanner_drain, METH_O, "drain(get_copy_data) -> (code, message)."},
    {"canonical", (PyCFunction)Scanner_canonical, METH_O, "canonical(row) -> bytes or None."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Scanner_getset[] = {
    {"accepted", (getter)Scanner_accepted, NULL, "rows taken so far", NULL},
    {"last", (getter)Scanner_last, NULL, "(seq, hash) of the row before the next expected", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "vihub_auditscan.Scanner",
    .tp_basicsize = sizeof(Scanner),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Scanner(pieces, changes, checkpoints): verifies plain, linked audit rows.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Scanner_init,
    .tp_dealloc = (destructor)Scanner_dealloc,
    .tp_methods = Scanner_methods,
    .tp_getset = Scanner_getset,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "vihub_auditscan",
    .m_doc = "The audit verifier's hot loop in C.",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit_vihub_auditscan(void) {
    if (PyType_Ready(&ScannerType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    if (PyModule_AddObjectRef(m, "Scanner", (PyObject *)&ScannerType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
