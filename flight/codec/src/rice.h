/* CCSDS 121.0-B-3 lossless data compression (adaptive Rice coding), libaec-compatible.
 *
 * Samples are in libaec's layout: 1 octet per sample for bits <= 8, 2 for <= 16, 4 for <= 32,
 * big-endian when msb_first else little-endian. Unsigned samples are 0 .. 2^bits - 1; signed ones
 * are two's complement, sign-extended to the sample's octets.
 *
 * This header is also the cffi declaration of the `_rice_c` module (lines starting with '#' are
 * dropped for cffi): constants are enums, and everything else must stay cdef-parsable.
 */
#ifndef AS_RICE_H
#define AS_RICE_H

#include <stddef.h>
#include <stdint.h>

enum {
    AS_RICE_OK = 0,
    AS_RICE_TRUNCATED = 1,      /* the stream ends before `count` samples are decoded */
    AS_RICE_BAD_VALUE = 2,      /* a coded value does not fit in `bits` bits */
    AS_RICE_BAD_ZERO_RUN = 3,   /* a zero-block run goes past the end of its RSI */
    AS_RICE_NO_SPACE = 4,       /* output capacity below as_rice_bound() */
    AS_RICE_BAD_CONFIG = 5,     /* bits, block size or RSI out of range */
    AS_RICE_SAMPLE_RANGE = -1   /* an input sample is outside the range of `bits` bits */
};

typedef struct {
    unsigned bits;        /* 1..32 */
    unsigned block_size;  /* J: 8, 16, 32 or 64 */
    unsigned rsi;         /* reference sample interval, in blocks: 1..4096 */
    int preprocess;       /* unit-delay predictor and mapping */
    int is_signed;
    int msb_first;
} as_rice_config;

/* Octets as_rice_compress may need for `count` samples (its worst case, plus slack). */
size_t as_rice_bound(size_t count, unsigned bits, unsigned block_size);

/* Compress `count` samples into out[0..capacity). On AS_RICE_OK, *written is the stream length;
 * on AS_RICE_SAMPLE_RANGE it is the index of the first sample out of range. */
int as_rice_compress(const uint8_t *samples, size_t count, const as_rice_config *config,
                     uint8_t *out, size_t capacity, size_t *written);

/* Decompress `count` samples (count * sample octets into out) from data[0..size). Never reads
 * or writes outside those buffers. *bit_position is where decoding stopped (or failed). */
int as_rice_decompress(const uint8_t *data, size_t size, const as_rice_config *config,
                       uint8_t *out, size_t count, size_t *bit_position);

#endif
