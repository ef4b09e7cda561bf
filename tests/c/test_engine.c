/* Known-answer tests of the C engine at the C level, for any architecture.
 *
 * Links the engine's sources directly (no Python), so it runs natively (`make ctest`, also under
 * ASan/UBSan and in the AS_RICE_PORTABLE build) and cross-compiled for aarch64 under qemu-user
 * (`make cross-check`). The expected values are the CRC catalogue's check values, the CCSDS
 * randomizer's first octets, and engine_vectors.h: digests of the outputs the Python reference
 * produced for the same generated inputs on x86, so another architecture must match those octets
 * exactly. Buffers are allocated to their exact sizes so the sanitizers see any overrun.
 *
 * Prints each failed check with its line, then "N passed, M failed"; exits 1 on any failure.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_vectors.h"
#include "link.h"
#include "rice.h"

#define LENGTH(array) (sizeof(array) / sizeof((array)[0]))
#define CHECK(condition, ...) check((condition), __LINE__, __VA_ARGS__)

static unsigned passed, failed;

static void check(int condition, int line, const char *format, ...)
{
    va_list args;
    if (condition) {
        passed++;
        return;
    }
    failed++;
    printf("FAIL test_engine.c:%d: ", line);
    va_start(args, format);
    vprintf(format, args);
    va_end(args);
    putchar('\n');
}

static void *allocate(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (p == NULL) {
        fprintf(stderr, "out of memory (%lu octets)\n", (unsigned long)size);
        exit(2);
    }
    return p;
}

/* The LCG of engine_vectors.py. */
static uint32_t lcg_next(uint32_t *state)
{
    *state = *state * (uint32_t)LCG_MULTIPLIER + (uint32_t)LCG_INCREMENT;
    return *state;
}

static void lcg_octets(uint32_t *state, uint8_t *out, size_t count)
{
    size_t i;
    for (i = 0; i < count; i++) {
        out[i] = (uint8_t)(lcg_next(state) >> 24);
    }
}

/* errors[k] wrong symbols in codeword k, as engine_vectors.inject. */
static void inject(uint8_t *block, size_t length, int interleave, const int *errors,
                   uint32_t *state)
{
    size_t symbols = length / (size_t)interleave;
    int k, e;
    for (k = 0; k < interleave; k++) {
        size_t first = lcg_next(state) % symbols;
        for (e = 0; e < errors[k]; e++) {
            size_t symbol = (first + (size_t)ERROR_STRIDE * (size_t)e) % symbols;
            uint8_t value = (uint8_t)(lcg_next(state) >> 24);
            block[symbol * (size_t)interleave + (size_t)k] ^= value ? value : 0x5A;
        }
    }
}

static void flip_marker(uint8_t *octets, int flips)
{
    int f;
    for (f = 0; f < flips; f++) {
        int bit = (MARKER_FLIP_STRIDE * f + 1) % 32;
        octets[bit / 8] ^= (uint8_t)(0x80u >> (bit % 8));
    }
}

static unsigned sample_octets(unsigned bits)
{
    return bits <= 8 ? 1u : bits <= 16 ? 2u : 4u;
}

/* engine_vectors.sample_patterns and pack: the test signal in libaec's sample layout. */
static uint8_t *make_samples(uint32_t seed, size_t count, unsigned bits, int is_signed,
                             int msb_first)
{
    const unsigned octets = sample_octets(bits);
    const uint32_t mask = (uint32_t)(UINT64_MAX >> (64 - bits));
    const uint32_t container = (uint32_t)(UINT64_MAX >> (64 - 8 * octets));
    uint8_t *out = allocate(count * octets);
    uint32_t state = seed, x = 0;
    size_t i;
    unsigned o;

    for (i = 0; i < count; i++) {
        uint32_t r = lcg_next(&state), v;
        switch ((i / PHASE_SAMPLES) % 4) {
        case 0:
            x = (x + ((r >> 28) & 7u) - 3u) & mask;
            break;
        case 2:
            x = (r ^ (r >> 16)) & mask;
            break;
        case 3:
            x = (r >> 30) & mask;
            break;
        default:
            break;
        }
        v = x;
        if (is_signed && (v >> (bits - 1)) & 1u) {
            v |= container & ~mask;
        }
        for (o = 0; o < octets; o++) {
            unsigned shift = 8 * (msb_first ? octets - 1 - o : o);
            out[i * octets + o] = (uint8_t)(v >> shift);
        }
    }
    return out;
}

static void test_crc(void)
{
    static const uint8_t check_input[9] = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
    size_t n;

    CHECK(as_crc16(check_input, 9, 0xFFFF) == 0x29B1, "CRC-16/CCITT-FALSE check value %04X",
          (unsigned)as_crc16(check_input, 9, 0xFFFF));
    CHECK(as_crc32c(check_input, 9, 0) == 0xE3069283u, "CRC-32C check value %08lX",
          (unsigned long)as_crc32c(check_input, 9, 0));
    for (n = 0; n < LENGTH(CRC_VECTORS); n++) {
        const struct crc_vector *v = &CRC_VECTORS[n];
        uint32_t state = v->seed;
        uint8_t *data = allocate(v->length);
        size_t cut = v->length / 3;
        lcg_octets(&state, data, v->length);
        CHECK(as_crc16(data, v->length, 0xFFFF) == v->crc16, "crc16 of %lu octets",
              (unsigned long)v->length);
        CHECK(as_crc32c(data, v->length, 0) == v->crc32c, "crc32c of %lu octets",
              (unsigned long)v->length);
        CHECK(as_crc16(data + cut, v->length - cut, as_crc16(data, cut, 0xFFFF)) == v->crc16,
              "crc16 continued after %lu of %lu octets", (unsigned long)cut,
              (unsigned long)v->length);
        CHECK(as_crc32c(data + cut, v->length - cut, as_crc32c(data, cut, 0)) == v->crc32c,
              "crc32c continued after %lu of %lu octets", (unsigned long)cut,
              (unsigned long)v->length);
        free(data);
    }
}

static void test_randomizer(void)
{
    static const uint8_t first[8] = {0xFF, 0x48, 0x0E, 0xC0, 0x9A, 0x0D, 0x70, 0xBC};
    static const size_t divisors[] = {1, 3, 5, 15, 17, 51, 85};
    const size_t length = 4 * AS_PN_PERIOD + 17;
    uint8_t *zeros = allocate(length), *pn = allocate(length), *back = allocate(length);
    size_t i, d;
    int periodic = 1;

    memset(zeros, 0, length);
    CHECK(as_randomize(zeros, length, pn, length) == AS_LINK_OK, "randomize status");
    CHECK(memcmp(pn, first, sizeof first) == 0,
          "first octets %02X %02X %02X %02X %02X %02X %02X %02X", pn[0], pn[1], pn[2], pn[3],
          pn[4], pn[5], pn[6], pn[7]);
    CHECK(as_crc32c(pn, AS_PN_PERIOD, 0) == PN_SEQUENCE_CRC32C, "sequence digest %08lX",
          (unsigned long)as_crc32c(pn, AS_PN_PERIOD, 0));
    for (i = AS_PN_PERIOD; i < length; i++) {
        periodic &= pn[i] == pn[i - AS_PN_PERIOD];
    }
    CHECK(periodic, "the sequence repeats every 255 octets");
    for (d = 0; d < LENGTH(divisors); d++) {
        int repeats = 1;
        for (i = divisors[d]; i < AS_PN_PERIOD; i++) {
            repeats &= pn[i] == pn[i - divisors[d]];
        }
        CHECK(!repeats, "the sequence has no period %lu", (unsigned long)divisors[d]);
    }
    CHECK(as_randomize(pn, length, back, length) == AS_LINK_OK && memcmp(back, zeros, length) == 0,
          "the randomizer is its own inverse");
    CHECK(as_randomize(zeros, length, pn, length - 1) == AS_LINK_ELENGTH,
          "randomize refuses an output of the wrong length");
    free(zeros);
    free(pn);
    free(back);
}

static void test_rs_codewords(void)
{
    size_t n;
    for (n = 0; n < LENGTH(RS_VECTORS); n++) {
        const struct rs_vector *v = &RS_VECTORS[n];
        const size_t kept = (size_t)(AS_RS_K - v->virtual_fill);
        const size_t data_length = kept * (size_t)v->interleave;
        const size_t block_length = (kept + AS_RS_PARITY) * (size_t)v->interleave;
        uint8_t *data = allocate(data_length), *block = allocate(block_length);
        uint8_t *decoded = allocate(data_length);
        uint32_t state = v->seed;
        int corrected = -1, failed_codeword = -1;

        lcg_octets(&state, data, data_length);
        CHECK(as_rs_encode(data, data_length, v->interleave, v->virtual_fill, block,
                           block_length) == AS_LINK_OK,
              "rs_encode I=%d fill=%d status", v->interleave, v->virtual_fill);
        CHECK(memcmp(block, data, data_length) == 0, "rs_encode I=%d fill=%d keeps the data",
              v->interleave, v->virtual_fill);
        CHECK(as_crc32c(block + data_length, block_length - data_length, 0) == v->parity,
              "rs_encode I=%d fill=%d parity digest %08lX (x86: %08lX)", v->interleave,
              v->virtual_fill,
              (unsigned long)as_crc32c(block + data_length, block_length - data_length, 0),
              (unsigned long)v->parity);
        CHECK(as_rs_decode(block, block_length, v->interleave, v->virtual_fill, decoded,
                           data_length, &corrected, &failed_codeword) == AS_LINK_OK &&
                  corrected == 0 && memcmp(decoded, data, data_length) == 0,
              "rs_decode I=%d fill=%d of a clean codeblock", v->interleave, v->virtual_fill);
        CHECK(as_rs_encode(data, data_length - 1, v->interleave, v->virtual_fill, block,
                           block_length) == AS_LINK_ELENGTH,
              "rs_encode refuses a short input");
        free(data);
        free(block);
        free(decoded);
    }
}

static void test_rs_errors(void)
{
    size_t n;
    for (n = 0; n < LENGTH(RS_ERROR_VECTORS); n++) {
        const struct rs_error_vector *v = &RS_ERROR_VECTORS[n];
        const size_t data_length = (size_t)AS_RS_K * (size_t)v->interleave;
        const size_t block_length = (size_t)AS_RS_N * (size_t)v->interleave;
        uint8_t *data = allocate(data_length), *block = allocate(block_length);
        uint8_t *decoded = allocate(data_length);
        uint32_t state = v->seed;
        int corrected = -1, failed_codeword = -1, injected = 0, k, status;

        lcg_octets(&state, data, data_length);
        as_rs_encode(data, data_length, v->interleave, 0, block, block_length);
        inject(block, block_length, v->interleave, v->errors, &state);
        for (k = 0; k < v->interleave; k++) {
            injected += v->errors[k];
        }
        status = as_rs_decode(block, block_length, v->interleave, 0, decoded, data_length,
                              &corrected, &failed_codeword);
        if (v->corrected >= 0) {
            CHECK(status == AS_LINK_OK && corrected == v->corrected && corrected == injected &&
                      memcmp(decoded, data, data_length) == 0,
                  "RS case %lu (I=%d): status %d, %d of %d errors corrected", (unsigned long)n,
                  v->interleave, status, corrected, injected);
        } else {
            CHECK(status == AS_LINK_EUNCORRECTABLE && failed_codeword == v->failed_codeword,
                  "RS case %lu (I=%d): status %d, failed codeword %d (expected %d)",
                  (unsigned long)n, v->interleave, status, failed_codeword,
                  v->failed_codeword);
        }
        free(data);
        free(block);
        free(decoded);
    }
    {
        uint8_t block[AS_RS_N], data[AS_RS_K];
        int corrected, failed_codeword;
        memset(block, 0, sizeof block);
        CHECK(as_rs_decode(block, sizeof block, 6, 0, data, sizeof data, &corrected,
                           &failed_codeword) == AS_LINK_EPARAM,
              "rs_decode refuses interleave 6");
        CHECK(as_rs_decode(block, sizeof block, 1, AS_RS_K, data, sizeof data, &corrected,
                           &failed_codeword) == AS_LINK_EPARAM,
              "rs_decode refuses a virtual fill of 223");
        CHECK(as_rs_decode(block, sizeof block - 1, 1, 0, data, sizeof data, &corrected,
                           &failed_codeword) == AS_LINK_ELENGTH,
              "rs_decode refuses a short codeblock");
    }
}

static void test_cadu(void)
{
    size_t n;
    for (n = 0; n < LENGTH(CADU_VECTORS); n++) {
        const struct cadu_vector *v = &CADU_VECTORS[n];
        const size_t frame_length = (size_t)AS_RS_K * (size_t)v->interleave;
        const size_t cadu_length = AS_ASM_LENGTH + (size_t)AS_RS_N * (size_t)v->interleave;
        uint8_t *frame = allocate(frame_length), *cadu = allocate(cadu_length);
        uint8_t *decoded = allocate(frame_length);
        uint32_t state = v->seed;
        int errors[AS_RS_MAX_INTERLEAVE], corrected = -1, failed_codeword = -1, k, status;

        lcg_octets(&state, frame, frame_length);
        CHECK(as_cadu_encode(frame, frame_length, v->interleave, cadu, cadu_length) ==
                  AS_LINK_OK,
              "cadu_encode I=%d status", v->interleave);
        CHECK(as_crc32c(cadu, cadu_length, 0) == v->cadu, "cadu_encode I=%d digest %08lX",
              v->interleave, (unsigned long)as_crc32c(cadu, cadu_length, 0));
        CHECK(as_marker_distance(cadu, cadu_length) == 0, "cadu_encode I=%d marker",
              v->interleave);
        for (k = 0; k < v->interleave; k++) {
            errors[k] = v->errors;
        }
        flip_marker(cadu, v->flips);
        inject(cadu + AS_ASM_LENGTH, cadu_length - AS_ASM_LENGTH, v->interleave, errors, &state);
        CHECK(as_marker_distance(cadu, cadu_length) == v->flips, "marker distance %d",
              as_marker_distance(cadu, cadu_length));
        status = as_cadu_decode(cadu, cadu_length, v->interleave, 3, decoded, frame_length,
                                &corrected, &failed_codeword);
        CHECK(status == v->outcome, "cadu_decode case %lu: status %d (expected %d)",
              (unsigned long)n, status, v->outcome);
        if (v->outcome == AS_LINK_OK) {
            CHECK(corrected == v->corrected && memcmp(decoded, frame, frame_length) == 0,
                  "cadu_decode case %lu: %d symbols corrected (expected %d), frame intact",
                  (unsigned long)n, corrected, v->corrected);
        }
        free(frame);
        free(cadu);
        free(decoded);
    }
}

static void test_marker_search(void)
{
    static const uint8_t asm_octets[AS_ASM_LENGTH] = {0x1A, 0xCF, 0xFC, 0x1D};
    size_t n;
    for (n = 0; n < LENGTH(MARKER_VECTORS); n++) {
        const struct marker_vector *v = &MARKER_VECTORS[n];
        const size_t length = v->garbage + AS_ASM_LENGTH + 64;
        uint8_t *buffer = allocate(length);
        uint32_t state = v->seed;
        ptrdiff_t found;

        lcg_octets(&state, buffer, length);
        memcpy(buffer + v->garbage, asm_octets, sizeof asm_octets);
        flip_marker(buffer + v->garbage, v->flips);
        found = as_marker_search(buffer, length, 0, v->tolerated);
        CHECK(found == (v->found < 0 ? AS_LINK_NOT_FOUND : (ptrdiff_t)v->found),
              "marker search case %lu: %ld (expected %ld)", (unsigned long)n, (long)found,
              v->found);
        CHECK(as_marker_search(buffer, length, length - 3, 0) == AS_LINK_NOT_FOUND,
              "marker search past the last whole window");
        free(buffer);
    }
    CHECK(as_marker_search(asm_octets, sizeof asm_octets, 0, 33) == AS_LINK_EPARAM,
          "marker search refuses 33 tolerated bits");
}

static as_rice_config rice_config(unsigned bits, unsigned block_size, unsigned rsi,
                                  int preprocess, int is_signed, int msb_first)
{
    as_rice_config c;
    c.bits = bits;
    c.block_size = block_size;
    c.rsi = rsi;
    c.preprocess = preprocess;
    c.is_signed = is_signed;
    c.msb_first = msb_first;
    return c;
}

/* Compress and decompress; returns the stream (caller frees) and its length, or NULL. */
static uint8_t *round_trip(const uint8_t *samples, size_t count, const as_rice_config *c,
                           size_t *length, const char *what)
{
    const size_t capacity = as_rice_bound(count, c->bits, c->block_size);
    const size_t sample_length = count * sample_octets(c->bits);
    uint8_t *stream = allocate(capacity), *decoded = allocate(sample_length);
    size_t position = 0;
    int status = as_rice_compress(samples, count, c, stream, capacity, length);
    int ok = status == AS_RICE_OK;

    CHECK(ok, "%s: compress status %d", what, status);
    if (ok) {
        status = as_rice_decompress(stream, *length, c, decoded, count, &position);
        ok = status == AS_RICE_OK && memcmp(decoded, samples, sample_length) == 0 &&
             position <= 8 * *length && position + 8 > 8 * *length;
        CHECK(ok, "%s: decompress status %d, stopped at bit %lu of %lu", what, status,
              (unsigned long)position, (unsigned long)(8 * *length));
    }
    free(decoded);
    if (!ok) {
        free(stream);
        return NULL;
    }
    return stream;
}

static void test_rice_known_streams(void)
{
    size_t n, length, cut, position;
    uint8_t *stream;

    for (n = 0; n < LENGTH(RICE_VECTORS); n++) {
        const struct rice_vector *v = &RICE_VECTORS[n];
        const as_rice_config c = rice_config(v->bits, v->block_size, v->rsi, v->preprocess,
                                             v->is_signed, v->msb_first);
        uint8_t *samples = make_samples(v->seed, v->count, v->bits, v->is_signed, v->msb_first);
        char what[64];
        sprintf(what, "Rice case %lu (%u bits)", (unsigned long)n, v->bits);
        stream = round_trip(samples, v->count, &c, &length, what);
        if (stream != NULL) {
            CHECK(length == v->length && as_crc32c(stream, length, 0) == v->stream,
                  "%s: stream of %lu octets, digest %08lX (x86: %lu octets, %08lX)", what,
                  (unsigned long)length, (unsigned long)as_crc32c(stream, length, 0),
                  (unsigned long)v->length, (unsigned long)v->stream);
            free(stream);
        }
        free(samples);
    }

    stream = round_trip(RICE_SHORT_SAMPLES, sizeof RICE_SHORT_SAMPLES, &RICE_SHORT_CONFIG,
                        &length, "short stream");
    if (stream != NULL) {
        CHECK(length == sizeof RICE_SHORT_STREAM &&
                  memcmp(stream, RICE_SHORT_STREAM, length) == 0,
              "the short stream octet for octet");
        free(stream);
    }
    for (cut = 0; cut < sizeof RICE_SHORT_STREAM; cut++) {
        uint8_t *prefix = allocate(cut), decoded[sizeof RICE_SHORT_SAMPLES];
        int status;
        memcpy(prefix, RICE_SHORT_STREAM, cut);
        status = as_rice_decompress(prefix, cut, &RICE_SHORT_CONFIG, decoded,
                                    sizeof RICE_SHORT_SAMPLES, &position);
        CHECK(status != AS_RICE_OK && position <= 8 * cut,
              "the short stream cut to %lu octets: status %d", (unsigned long)cut, status);
        free(prefix);
    }
}

static void test_rice_round_trips(void)
{
    static const unsigned block_sizes[] = {8, 16, 32, 64};
    unsigned bits, b;
    int preprocess, is_signed;
    size_t length;

    for (bits = 1; bits <= 32; bits++) {
        for (b = 0; b < LENGTH(block_sizes); b++) {
            for (preprocess = 0; preprocess <= 1; preprocess++) {
                for (is_signed = 0; is_signed <= 1; is_signed++) {
                    const int msb_first = (int)((bits + b) % 2);
                    const unsigned rsi = 1u + (bits * 7u + b) % 40u;
                    const size_t count = 600 + bits * 3 + b;
                    const as_rice_config c = rice_config(bits, block_sizes[b], rsi, preprocess,
                                                         is_signed, msb_first);
                    uint8_t *samples = make_samples(1000u + bits * 8u + b, count, bits,
                                                    is_signed, msb_first);
                    uint8_t *stream;
                    char what[96];
                    sprintf(what, "round trip bits=%u J=%u rsi=%u pre=%d signed=%d msb=%d", bits,
                            block_sizes[b], rsi, preprocess, is_signed, msb_first);
                    stream = round_trip(samples, count, &c, &length, what);
                    free(stream);
                    free(samples);
                }
            }
        }
    }
}

static void test_rice_refusals(void)
{
    const as_rice_config c = rice_config(12, 16, 8, 1, 0, 1);
    const as_rice_config bad = rice_config(33, 16, 8, 1, 0, 1);
    const as_rice_config signed12 = rice_config(12, 16, 8, 1, 1, 0);
    uint8_t *samples = make_samples(77, 100, 12, 0, 1);
    uint8_t *signed_samples = make_samples(78, 100, 12, 1, 0);
    const size_t capacity = as_rice_bound(100, 12, 16);
    uint8_t *stream = allocate(capacity), out[200];
    size_t written = 0, position = 0;

    samples[2 * 37] = 0x10; /* 0x10xx: 13 bits */
    CHECK(as_rice_compress(samples, 100, &c, stream, capacity, &written) == AS_RICE_SAMPLE_RANGE
              && written == 37,
          "a 13-bit sample at index 37 of 12-bit data: index %lu", (unsigned long)written);
    signed_samples[2 * 50] = 0x00;
    signed_samples[2 * 50 + 1] = 0x08; /* little-endian 0x0800 = +2048 */
    CHECK(as_rice_compress(signed_samples, 100, &signed12, stream, capacity, &written) ==
                  AS_RICE_SAMPLE_RANGE && written == 50,
          "+2048 at index 50 of signed 12-bit data: index %lu", (unsigned long)written);
    CHECK(as_rice_compress(samples, 100, &c, stream, capacity - 1, &written) == AS_RICE_NO_SPACE,
          "compress refuses a buffer below the bound");
    CHECK(as_rice_compress(samples, 100, &bad, stream, capacity, &written) == AS_RICE_BAD_CONFIG,
          "compress refuses 33 bits");
    CHECK(as_rice_decompress(stream, 0, &bad, out, 100, &position) == AS_RICE_BAD_CONFIG,
          "decompress refuses 33 bits");
    free(samples);
    free(signed_samples);
    free(stream);
}

static const char *architecture(void)
{
#if defined(__aarch64__)
    return "aarch64";
#elif defined(__x86_64__)
    return "x86_64";
#elif defined(__arm__)
    return "32-bit ARM";
#elif defined(__s390x__)
    return "s390x";
#else
    return "another architecture";
#endif
}

int main(void)
{
    const uint32_t probe = 0x01020304u;
    uint8_t first_octet;

    memcpy(&first_octet, &probe, 1);
    printf("C engine known answers on %s (%s-endian, %lu-bit pointers)\n", architecture(),
           first_octet == 0x04 ? "little" : "big", (unsigned long)(8 * sizeof(void *)));
    as_crc_init();
    as_coding_init();
    test_crc();
    test_randomizer();
    test_rs_codewords();
    test_rs_errors();
    test_cadu();
    test_marker_search();
    test_rice_known_streams();
    test_rice_round_trips();
    test_rice_refusals();
    printf("%u passed, %u failed\n", passed, failed);
    return failed ? 1 : 0;
}
