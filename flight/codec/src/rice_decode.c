/* CCSDS 121.0-B-3 adaptive Rice decoder (reads libaec's streams, and ours).
 *
 * Every read goes through a bit reader that never looks past data[size): it refills its 64-bit
 * accumulator with one 8-octet load while 8 octets remain, octet by octet after that, and a
 * read that needs more bits than are left reports AS_RICE_TRUNCATED. Every write is bounded by
 * `count`. A coded value that cannot come from an n-bit sample is AS_RICE_BAD_VALUE, and a
 * zero-block run that goes past the end of its RSI is AS_RICE_BAD_ZERO_RUN (as in libaec, a
 * run may cross a 64-block segment boundary; "remainder of segment" ends at the first of the
 * segment end and the RSI end).
 *
 * Fundamental sequences are read with count-leading-zeros on the accumulator. Signed samples
 * are reconstructed in offset binary (x + 2^(n-1)), as the encoder maps them, and written
 * sign-extended to the sample's octets.
 */
#include "rice.h"

/* AS_RICE_PORTABLE builds the code paths of compilers without GNU C extensions (tests). */
#if defined(__GNUC__) && !defined(AS_RICE_PORTABLE)
#define AS_INLINE static inline __attribute__((always_inline))
#else
#define AS_INLINE static inline
#endif

enum { SEGMENT_BLOCKS = 64, ROS_FS = 4, MAX_BLOCK = 64, SMALL_SE = 91 };

typedef struct {
    const uint8_t *start;
    const uint8_t *p;   /* next octet not yet counted in n */
    const uint8_t *end;
    uint64_t acc;       /* left-aligned: the n unread bits, then (possibly) the bits at p */
    unsigned n;
} bit_reader;

AS_INLINE unsigned leading_zeros(uint64_t x)
{
#if defined(__GNUC__) && !defined(AS_RICE_PORTABLE)
    return (unsigned)__builtin_clzll(x);
#else
    unsigned z = 0;
    if (!(x >> 32)) { z += 32; x <<= 32; }
    if (!(x >> 48)) { z += 16; x <<= 16; }
    if (!(x >> 56)) { z += 8; x <<= 8; }
    if (!(x >> 60)) { z += 4; x <<= 4; }
    if (!(x >> 62)) { z += 2; x <<= 2; }
    if (!(x >> 63)) { z += 1; }
    return z;
#endif
}

AS_INLINE uint64_t load64be(const uint8_t *p)
{
    return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40
           | (uint64_t)p[3] << 32 | (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16
           | (uint64_t)p[6] << 8 | (uint64_t)p[7];
}

/* Bring n to at least 56, or to all that is left. */
AS_INLINE void refill(bit_reader *r)
{
    if (r->end - r->p >= 8) {
        r->acc |= load64be(r->p) >> r->n;
        r->p += (63 - r->n) >> 3;
        r->n |= 56;
    } else {
        while (r->n <= 56 && r->p < r->end) {
            r->acc |= (uint64_t)*r->p++ << (56 - r->n);
            r->n += 8;
        }
    }
}

/* Continue at absolute bit `bit`, with at least 8 octets readable from there. */
AS_INLINE void seek(bit_reader *r, size_t bit)
{
    r->p = r->start + (bit >> 3);
    r->acc = 0;
    r->n = 0;
    refill(r);
    r->acc <<= bit & 7;
    r->n -= bit & 7;
}

/* Read 1 <= width <= 32 bits; 0 when the stream ends first. */
AS_INLINE int get_bits(bit_reader *r, unsigned width, uint32_t *value)
{
    if (r->n < width) {
        refill(r);
        if (r->n < width)
            return 0;
    }
    *value = (uint32_t)(r->acc >> (64 - width));
    r->acc <<= width;
    r->n -= width;
    return 1;
}

/* Read a fundamental sequence (its count of 0 bits); 0 when the stream ends first. */
AS_INLINE int get_fs(bit_reader *r, uint64_t *value)
{
    uint64_t zeros = 0;
    for (;;) {
        if (r->n < 32) {
            refill(r);
            if (r->n == 0)
                return 0;
        }
        if (r->acc) {
            unsigned z = leading_zeros(r->acc);
            if (z < r->n) { /* n <= 63, so the shift is at most 63 */
                r->acc <<= z + 1;
                r->n -= z + 1;
                *value = zeros + z;
                return 1;
            }
        }
        zeros += r->n;
        r->acc = 0;
        r->n = 0;
    }
}

/* Largest s with s(s+1)/2 <= m, for a second-extension code m < 2^62. */
static uint64_t triangle_root(uint64_t m)
{
    uint64_t lo = 0, hi = UINT64_C(1) << 32;
    if (m < SMALL_SE) {
        while ((lo + 1) * (lo + 2) / 2 <= m)
            lo++;
        return lo;
    }
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (mid * (mid + 1) / 2 <= m)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

AS_INLINE void store_sample(uint8_t *p, uint32_t v, const unsigned octets, const int msb)
{
    if (octets == 1) {
        p[0] = (uint8_t)v;
    } else if (octets == 2) {
        p[msb ? 0 : 1] = (uint8_t)(v >> 8);
        p[msb ? 1 : 0] = (uint8_t)v;
    } else if (msb) {
        p[0] = (uint8_t)(v >> 24);
        p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
    } else {
        p[3] = (uint8_t)(v >> 24);
        p[2] = (uint8_t)(v >> 16);
        p[1] = (uint8_t)(v >> 8);
        p[0] = (uint8_t)v;
    }
}

/* Inverse of the prediction-error mapping, in offset binary with xmin = 0, xmax = mask. */
AS_INLINE uint32_t unmap(uint32_t d, uint32_t previous, uint32_t mask)
{
    uint32_t above = mask - previous;
    uint32_t theta = previous < above ? previous : above;
    if (d <= 2 * theta) /* even d: previous + d/2; odd d: previous - (d+1)/2 */
        return previous + ((d >> 1) ^ (0u - (d & 1)));
    return previous < above ? d : mask - d;
}

/* The whole stream, for one sample layout (octets and msb are constants after inlining). */
AS_INLINE int decompress_layout(bit_reader *r, const as_rice_config *c, uint8_t *out,
                                size_t count, const unsigned octets, const int msb)
{
    const unsigned j = c->block_size, bits = c->bits;
    const unsigned id_len = bits <= 8 ? 3u : bits <= 16 ? 4u : 5u;
    const uint32_t uncompressed_id = (1u << id_len) - 1;
    const uint32_t mask = (uint32_t)(UINT64_MAX >> (64 - bits));
    const uint32_t offset = c->is_signed ? UINT32_C(1) << (bits - 1) : 0;
    const uint32_t container = (uint32_t)(UINT64_MAX >> (64 - 8 * octets));
    const int preprocess = c->preprocess != 0;
    uint32_t d[MAX_BLOCK];
    uint32_t previous = 0; /* last sample written, offset binary */
    size_t produced = 0;
    unsigned block = 0;    /* index of the block in its RSI */

    while (produced < count) {
        const int ref = preprocess && block == 0;
        const size_t left = count - produced;
        uint8_t *dst = out + produced * octets;
        uint32_t id, pattern;
        unsigned i, blocks = 1;

        if (!get_bits(r, id_len, &id))
            return AS_RICE_TRUNCATED;
        if (id == 0) {
            uint32_t second_extension;
            if (!get_bits(r, 1, &second_extension))
                return AS_RICE_TRUNCATED;
            if (ref) {
                if (!get_bits(r, bits, &pattern))
                    return AS_RICE_TRUNCATED;
                previous = pattern ^ offset;
            }
            if (!second_extension) {
                const unsigned rsi_left = c->rsi - block;
                const unsigned segment_left = SEGMENT_BLOCKS - block % SEGMENT_BLOCKS;
                uint64_t fs;
                size_t n, total;
                uint32_t value;
                if (!get_fs(r, &fs))
                    return AS_RICE_TRUNCATED;
                if (fs == ROS_FS) {
                    blocks = rsi_left < segment_left ? rsi_left : segment_left;
                } else {
                    uint64_t run = fs < ROS_FS ? fs + 1 : fs;
                    if (run > rsi_left)
                        return AS_RICE_BAD_ZERO_RUN;
                    blocks = (unsigned)run;
                }
                total = (size_t)blocks * j;
                n = total < left ? total : left;
                value = preprocess ? (previous - offset) & container : 0;
                for (i = 0; i < n; i++)
                    store_sample(dst + (size_t)i * octets, value, octets, msb);
                produced += n;
                block += blocks;
                if (block == c->rsi)
                    block = 0;
                continue;
            }
            for (i = 0; i < j; i += 2) {
                uint64_t m, s, b, a;
                if (!get_fs(r, &m))
                    return AS_RICE_TRUNCATED;
                if (m >> 62)
                    return AS_RICE_BAD_VALUE;
                s = triangle_root(m);
                b = m - s * (s + 1) / 2;
                a = s - b;
                if (a > mask || b > mask)
                    return AS_RICE_BAD_VALUE;
                d[i] = (uint32_t)a;
                d[i + 1] = (uint32_t)b;
            }
        } else if (id == uncompressed_id) {
            if (ref) {
                if (!get_bits(r, bits, &pattern))
                    return AS_RICE_TRUNCATED;
                previous = pattern ^ offset;
            }
            for (i = (unsigned)ref; i < j; i++)
                if (!get_bits(r, bits, &d[i]))
                    return AS_RICE_TRUNCATED;
        } else {
            const unsigned k = id - 1;
            const uint64_t highest = mask >> k;
            if (ref) {
                if (!get_bits(r, bits, &pattern))
                    return AS_RICE_TRUNCATED;
                previous = pattern ^ offset;
            }
            for (i = (unsigned)ref; i < j; i++) {
                uint64_t q;
                if (!get_fs(r, &q))
                    return AS_RICE_TRUNCATED;
                if (q > highest)
                    return AS_RICE_BAD_VALUE;
                d[i] = (uint32_t)q << k;
            }
            if (k) {
                /* The binary parts sit at known offsets: while 8 octets stay readable past
                 * the last one, take each with its own load instead of through the reader. */
                const size_t first = (size_t)(r->p - r->start) * 8 - r->n;
                const size_t after = first + (size_t)(j - (unsigned)ref) * k;
                if ((after >> 3) + 8 <= (size_t)(r->end - r->start)) {
                    size_t at = first;
                    for (i = (unsigned)ref; i < j; i++, at += k)
                        d[i] |= (uint32_t)((load64be(r->start + (at >> 3)) << (at & 7))
                                           >> (64 - k));
                    seek(r, after);
                } else {
                    for (i = (unsigned)ref; i < j; i++) {
                        uint32_t low;
                        if (!get_bits(r, k, &low))
                            return AS_RICE_TRUNCATED;
                        d[i] |= low;
                    }
                }
                /* with k >= n the binary part alone can exceed n bits */
                if (k >= bits)
                    for (i = (unsigned)ref; i < j; i++)
                        if (d[i] > mask)
                            return AS_RICE_BAD_VALUE;
            }
        }

        {
            const unsigned n = left < j ? (unsigned)left : j;
            i = 0;
            if (ref) {
                store_sample(dst, (previous - offset) & container, octets, msb);
                i = 1;
            }
            if (preprocess) {
                for (; i < n; i++) {
                    previous = unmap(d[i], previous, mask);
                    store_sample(dst + (size_t)i * octets, (previous - offset) & container,
                                 octets, msb);
                }
            } else {
                /* n-bit patterns; signed ones are written sign-extended */
                for (; i < n; i++)
                    store_sample(dst + (size_t)i * octets, ((d[i] ^ offset) - offset) & container,
                                 octets, msb);
            }
            produced += n;
        }
        if (++block == c->rsi)
            block = 0;
    }
    return AS_RICE_OK;
}

int as_rice_decompress(const uint8_t *data, size_t size, const as_rice_config *config,
                       uint8_t *out, size_t count, size_t *bit_position)
{
    bit_reader r;
    int status;
    unsigned j = config->block_size;
    if (config->bits < 1 || config->bits > 32 || !(j == 8 || j == 16 || j == 32 || j == 64)
        || config->rsi < 1 || config->rsi > 4096) {
        *bit_position = 0;
        return AS_RICE_BAD_CONFIG;
    }
    r.start = data;
    r.p = data;
    r.end = data + size;
    r.acc = 0;
    r.n = 0;
    switch ((config->bits <= 8 ? 1 : config->bits <= 16 ? 2 : 4) * 2 + (config->msb_first != 0)) {
    case 2:
    case 3:
        status = decompress_layout(&r, config, out, count, 1, 0);
        break;
    case 4:
        status = decompress_layout(&r, config, out, count, 2, 0);
        break;
    case 5:
        status = decompress_layout(&r, config, out, count, 2, 1);
        break;
    case 8:
        status = decompress_layout(&r, config, out, count, 4, 0);
        break;
    default:
        status = decompress_layout(&r, config, out, count, 4, 1);
        break;
    }
    *bit_position = (size_t)(r.p - r.start) * 8 - r.n;
    return status;
}
