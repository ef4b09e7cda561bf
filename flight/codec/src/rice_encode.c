/* CCSDS 121.0-B-3 adaptive Rice encoder, making the same choices as libaec (so the same octets).
 *
 * One pass, block by block, with no allocation: each block of J samples is read from the
 * caller's buffer, range-checked and (with preprocessing) turned into mapped prediction
 * residuals in the same loop, then coded with the shortest option:
 *   - a run of all-zero blocks, ended by a non-zero block, the end of a 64-block segment or the
 *     end of the RSI (such a run of more than 4 blocks is coded "remainder of segment");
 *   - second extension (pairs of values, each pair as one fundamental sequence);
 *   - split sample with k in 0..kmax (k = 0 is the fundamental sequence);
 *   - no compression.
 * The split position is the minimal-length k closest to the previous block's k. The length is
 * convex in k, so it is found by walking from the previous k, as libaec does; a walk stops
 * early when the FS length alone shows that the next step cannot win.
 *
 * Signed samples are handled in offset binary (x + 2^(n-1)): the predictor and the mapping only
 * depend on distances to xmin and xmax, so one unsigned path serves both.
 *
 * Bits go through a 64-bit accumulator that stores 8 octets big-endian after every put and
 * advances by the whole octets filled; as_rice_bound() leaves room for that overhang.
 */
#include "rice.h"

/* AS_RICE_PORTABLE builds the code paths of compilers without GNU C extensions (tests). */
#if defined(__GNUC__) && !defined(AS_RICE_PORTABLE)
#define AS_INLINE static inline __attribute__((always_inline))
#else
#define AS_INLINE static inline
#endif

enum {
    SEGMENT_BLOCKS = 64,
    ROS_FS = 4,
    MAX_PUT = 56, /* widest single put: 7 pending bits + 56 still fit the accumulator */
    MAX_BLOCK = 64
};

typedef struct {
    uint8_t *p;
    uint64_t acc; /* pending bits, left-aligned */
    unsigned n;   /* number of pending bits: 0..7 between puts */
} bit_writer;

typedef struct {
    bit_writer w;
    unsigned bits;
    unsigned block_size;
    unsigned id_len;
    unsigned kmax;
    unsigned k; /* split position of the previous coded block */
} encoder;

static unsigned id_length(unsigned bits)
{
    return bits <= 8 ? 3u : bits <= 16 ? 4u : 5u;
}

static unsigned sample_octets(unsigned bits)
{
    return bits <= 8 ? 1u : bits <= 16 ? 2u : 4u;
}

static int config_ok(const as_rice_config *c)
{
    unsigned j = c->block_size;
    return c->bits >= 1 && c->bits <= 32 && (j == 8 || j == 16 || j == 32 || j == 64)
           && c->rsi >= 1 && c->rsi <= 4096;
}

size_t as_rice_bound(size_t count, unsigned bits, unsigned block_size)
{
    /* Per block at most: identifier, one extra bit (low entropy), J samples of n bits (the
     * reference sample included); a zero-block run costs less per block than that. */
    uint64_t blocks, bits_total;
    if (bits < 1 || bits > 32 || block_size == 0)
        return 0;
    blocks = count / block_size + (count % block_size != 0);
    bits_total = blocks * (id_length(bits) + 1 + (uint64_t)block_size * bits);
    return (size_t)(bits_total / 8 + 1 + 8);
}

AS_INLINE void store64be(uint8_t *p, uint64_t v)
{
    p[0] = (uint8_t)(v >> 56);
    p[1] = (uint8_t)(v >> 48);
    p[2] = (uint8_t)(v >> 40);
    p[3] = (uint8_t)(v >> 32);
    p[4] = (uint8_t)(v >> 24);
    p[5] = (uint8_t)(v >> 16);
    p[6] = (uint8_t)(v >> 8);
    p[7] = (uint8_t)v;
}

/* Append the `width` low bits of value (1 <= width <= MAX_PUT, value < 2^width). */
AS_INLINE void put_bits(bit_writer *w, uint64_t value, unsigned width)
{
    w->n += width;
    w->acc |= value << (64 - w->n);
    store64be(w->p, w->acc);
    w->p += w->n >> 3;
    w->acc <<= w->n & ~7u;
    w->n &= 7;
}

/* Fundamental sequence: `zeros` 0 bits, then a 1. */
AS_INLINE void put_fs(bit_writer *w, uint64_t zeros)
{
    while (zeros >= MAX_PUT) {
        put_bits(w, 0, MAX_PUT);
        zeros -= MAX_PUT;
    }
    put_bits(w, 1, (unsigned)zeros + 1);
}

/* Sum of the FS lengths (without their 1 bits) of a block split at k. */
AS_INLINE uint64_t fs_length(const uint32_t *d, unsigned j, unsigned k)
{
    uint64_t sum = 0;
    unsigned i;
    for (i = 0; i < j; i++)
        sum += d[i] >> k;
    return sum;
}

AS_INLINE uint64_t fs_length_narrow(const uint32_t *d, unsigned j, unsigned k)
{
    /* For bits <= 26 a block's sum fits 32 bits, which vectorizes twice as wide. */
    uint32_t sum = 0;
    unsigned i;
    for (i = 0; i < j; i++)
        sum += d[i] >> k;
    return sum;
}

/* Minimal split length and its k nearest the previous block's (libaec's walk). */
static uint64_t choose_split(encoder *e, const uint32_t *d, unsigned bs, unsigned *k_out)
{
    const unsigned j = e->block_size;
    const int narrow = e->bits <= 26;
    unsigned k = e->k;
    uint64_t f = narrow ? fs_length_narrow(d, j, k) : fs_length(d, j, k);
    uint64_t len = f + (uint64_t)bs * (k + 1);
    int moved_up = 0;

    /* Going up can only help while the FS part is at least one bit per sample. */
    while (k < e->kmax && f >= bs) {
        uint64_t f1 = narrow ? fs_length_narrow(d, j, k + 1) : fs_length(d, j, k + 1);
        uint64_t len1 = f1 + (uint64_t)bs * (k + 2);
        if (len1 >= len)
            break;
        k++;
        f = f1;
        len = len1;
        moved_up = 1;
    }
    /* Going down can only help while the FS part is shorter than one bit per sample. */
    if (!moved_up) {
        while (k > 0 && f < bs) {
            uint64_t f0 = narrow ? fs_length_narrow(d, j, k - 1) : fs_length(d, j, k - 1);
            uint64_t len0 = f0 + (uint64_t)bs * k;
            if (len0 >= len)
                break;
            k--;
            f = f0;
            len = len0;
        }
    }
    *k_out = k;
    return len;
}

/* Second-extension length including its extra identifier bit; UINT64_MAX when above limit. */
static uint64_t se_length(const uint32_t *d, unsigned j, uint64_t limit)
{
    uint64_t len = 1;
    unsigned i;
    for (i = 0; i < j; i += 2) {
        uint64_t s = (uint64_t)d[i] + d[i + 1];
        if (s > 2 * MAX_BLOCK) /* s(s+1)/2 would exceed any block's uncompressed length */
            return UINT64_MAX;
        len += s * (s + 1) / 2 + d[i + 1] + 1;
        if (len > limit)
            return UINT64_MAX;
    }
    return len;
}

static void emit_zero_run(encoder *e, unsigned blocks, int ros, int ref, uint32_t ref_pattern)
{
    bit_writer w = e->w;
    put_bits(&w, 0, e->id_len + 1);
    if (ref)
        put_bits(&w, ref_pattern, e->bits);
    put_fs(&w, ros ? ROS_FS : blocks >= 5 ? blocks : blocks - 1);
    e->w = w;
}

/* Code one block that is not all zero. With a reference, d[0] is 0 and stands for it. */
static void emit_block(encoder *e, const uint32_t *d, int ref, uint32_t ref_pattern)
{
    const unsigned j = e->block_size, bits = e->bits, bs = j - (unsigned)ref;
    const uint64_t uncompressed = (uint64_t)bs * bits;
    unsigned k, i;
    uint64_t split = choose_split(e, d, bs, &k);
    uint64_t se = se_length(d, j, split < uncompressed ? split : uncompressed);
    bit_writer w = e->w;
    e->k = k;

    if (split < uncompressed && split < se) {
        /* Codes are gathered into one field of up to MAX_PUT bits before each put. */
        const uint32_t low = (uint32_t)((UINT64_C(1) << k) - 1);
        uint64_t field = 0;
        unsigned width = 0;
        put_bits(&w, k + 1, e->id_len);
        if (ref)
            put_bits(&w, ref_pattern, bits);
        for (i = (unsigned)ref; i < j; i++) {
            uint32_t q = d[i] >> k; /* split < uncompressed keeps q below 2^11 */
            if (width + q + 1 > MAX_PUT) {
                if (width)
                    put_bits(&w, field, width);
                field = 0;
                width = 0;
                if (q + 1 > MAX_PUT) {
                    put_fs(&w, q);
                    continue;
                }
            }
            field = field << (q + 1) | 1u;
            width += q + 1;
        }
        if (width)
            put_bits(&w, field, width);
        if (k) {
            field = 0;
            width = 0;
            for (i = (unsigned)ref; i < j; i++) {
                if (width + k > MAX_PUT) {
                    put_bits(&w, field, width);
                    field = 0;
                    width = 0;
                }
                field = field << k | (d[i] & low);
                width += k;
            }
            put_bits(&w, field, width);
        }
    } else if (se < UINT64_MAX && (split < uncompressed || se < uncompressed)) {
        put_bits(&w, 1, e->id_len + 1);
        if (ref)
            put_bits(&w, ref_pattern, bits);
        for (i = 0; i < j; i += 2) {
            uint64_t s = (uint64_t)d[i] + d[i + 1];
            put_fs(&w, s * (s + 1) / 2 + d[i + 1]);
        }
    } else {
        put_bits(&w, (1u << e->id_len) - 1, e->id_len);
        if (ref)
            put_bits(&w, ref_pattern, bits);
        for (i = (unsigned)ref; i < j; i++)
            put_bits(&w, d[i], bits);
    }
    e->w = w;
}

AS_INLINE uint32_t load_sample(const uint8_t *p, const unsigned octets, const int msb)
{
    if (octets == 1)
        return p[0];
    if (octets == 2)
        return msb ? (uint32_t)p[0] << 8 | p[1] : (uint32_t)p[1] << 8 | p[0];
    return msb ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
               : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* The whole stream, for one sample layout (octets and msb are constants after inlining). */
AS_INLINE int compress_layout(encoder *e, const uint8_t *in, size_t count,
                              const as_rice_config *c, size_t *bad_index, const unsigned octets,
                              const int msb)
{
    const unsigned j = c->block_size, bits = c->bits;
    const size_t interval = (size_t)c->rsi * j;
    const uint32_t mask = (uint32_t)(UINT64_MAX >> (64 - bits));
    const uint32_t offset = c->is_signed ? UINT32_C(1) << (bits - 1) : 0;
    const uint32_t container = (uint32_t)(UINT64_MAX >> (64 - 8 * octets));
    uint32_t u[MAX_BLOCK + 1], d[MAX_BLOCK];
    size_t start;

    for (start = 0; start < count; start += interval) {
        const size_t length = count - start < interval ? count - start : interval;
        const size_t blocks = (length + j - 1) / j;
        uint32_t ref_pattern = 0, previous = 0;
        unsigned zero_blocks = 0;
        int zero_ref = 0;
        size_t b;

        for (b = 0; b < blocks; b++) {
            const size_t first = start + b * j;
            const unsigned avail = count - first < j ? (unsigned)(count - first) : j;
            const uint8_t *src = in + first * octets;
            const int ref = c->preprocess && b == 0;
            uint32_t outside = 0, any = 0;
            unsigned i;

            for (i = 0; i < avail; i++) {
                uint32_t x = (load_sample(src + (size_t)i * octets, octets, msb) + offset)
                             & container;
                outside |= x;
                u[i + 1] = x;
            }
            if (outside & ~mask) {
                for (i = 0; i < avail; i++)
                    if (u[i + 1] & ~mask)
                        break;
                *bad_index = first + i;
                return AS_RICE_SAMPLE_RANGE;
            }
            for (i = avail; i < j; i++) /* a short last block repeats its last sample */
                u[i + 1] = u[avail];
            if (b == 0) {
                previous = u[1];
                ref_pattern = u[1] ^ offset;
            }
            u[0] = previous;
            previous = u[j];

            if (c->preprocess) {
                for (i = 0; i < j; i++) {
                    uint32_t p = u[i], x = u[i + 1];
                    uint32_t up = x >= p;
                    uint32_t delta = up ? x - p : p - x;
                    uint32_t room = up ? p : mask - p;
                    uint32_t beyond = up ? x : mask - x;
                    uint32_t v = delta <= room ? 2 * delta - (up ^ 1u) : beyond;
                    d[i] = v;
                    any |= v;
                }
            } else {
                for (i = 0; i < j; i++) {
                    d[i] = u[i + 1] ^ offset;
                    any |= d[i];
                }
            }

            if (any == 0) {
                if (zero_blocks++ == 0)
                    zero_ref = ref;
                if (b + 1 == blocks || (b + 1) % SEGMENT_BLOCKS == 0) {
                    emit_zero_run(e, zero_blocks, zero_blocks > 4, zero_ref, ref_pattern);
                    zero_blocks = 0;
                }
                continue;
            }
            if (zero_blocks) {
                emit_zero_run(e, zero_blocks, 0, zero_ref, ref_pattern);
                zero_blocks = 0;
            }
            emit_block(e, d, ref, ref_pattern);
        }
    }
    return AS_RICE_OK;
}

int as_rice_compress(const uint8_t *samples, size_t count, const as_rice_config *config,
                     uint8_t *out, size_t capacity, size_t *written)
{
    encoder e;
    int status;
    *written = 0;
    if (!config_ok(config))
        return AS_RICE_BAD_CONFIG;
    if (capacity < as_rice_bound(count, config->bits, config->block_size))
        return AS_RICE_NO_SPACE;

    e.w.p = out;
    e.w.acc = 0;
    e.w.n = 0;
    e.bits = config->bits;
    e.block_size = config->block_size;
    e.id_len = id_length(config->bits);
    e.kmax = (1u << e.id_len) - 3;
    e.k = 0;

    switch (sample_octets(config->bits) * 2 + (config->msb_first != 0)) {
    case 2:
    case 3:
        status = compress_layout(&e, samples, count, config, written, 1, 0);
        break;
    case 4:
        status = compress_layout(&e, samples, count, config, written, 2, 0);
        break;
    case 5:
        status = compress_layout(&e, samples, count, config, written, 2, 1);
        break;
    case 8:
        status = compress_layout(&e, samples, count, config, written, 4, 0);
        break;
    default:
        status = compress_layout(&e, samples, count, config, written, 4, 1);
        break;
    }
    if (status != AS_RICE_OK)
        return status;
    /* the last partial octet was stored with the last put; its unused bits are zero */
    *written = (size_t)(e.w.p - out) + (e.w.n != 0);
    return AS_RICE_OK;
}
