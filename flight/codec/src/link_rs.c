/* CCSDS 131.0-B TM channel coding: pseudo-randomizer, Reed-Solomon (255,223) E=16, CADUs.
 *
 * Field GF(2^8) with F(x) = x^8+x^7+x^2+x+1, code generator g(x) = prod_{j=112}^{143}(x - b^j)
 * with b = a^11, symbols in Berlekamp's dual basis on the wire.
 *
 * Encoder: the usual division LFSR, but run directly in the dual basis. The basis change is
 * linear over GF(2), so the feedback (input XOR first register symbol) can be formed in the dual
 * basis, and one table maps it to the 32 dual-basis symbols to add into the register. The
 * register is four 64-bit words, so each input octet costs one lookup, a 4-word shift and a
 * 4-word XOR. (Words hold register symbols by arithmetic position, not by memory layout, so
 * byte order does not matter.)
 *
 * Decoder: re-encode the received data symbols and XOR the result with the received parity.
 * The difference is zero exactly when the syndromes are (the usual case, so an error-free
 * codeword costs one encoder pass); otherwise the syndromes are those of the 32-symbol
 * difference, then Berlekamp-Massey, a Chien search over the transmitted positions only, and
 * Forney. A result is accepted only if the number of roots found equals the degree of the error
 * locator, every error value is non-zero and the corrections reproduce all 32 syndromes, i.e.
 * the corrected codeword is a codeword; otherwise the codeword is uncorrectable.
 *
 * Interleaving: octet i of a codeblock belongs to codeword i mod I. Virtual fill: the first
 * symbols of every codeword are zeros that are neither sent nor stored.
 */
#include <string.h>

#include "link.h"

enum {
    FIRST_ROOT = 112,
    ROOT_STEP = 11,
    FIELD_POLY = 0x187,
    MAX_BLOCK = AS_RS_N * AS_RS_MAX_INTERLEAVE
};

static uint8_t gf_exp[512]; /* a^k for k in 0 .. 511 (a sum of two logs needs no reduction) */
static uint8_t gf_log[256];
static uint8_t to_dual[256];
static uint8_t to_conventional[256];
static uint64_t encoder_table[256][4];
/* syndrome_power[i][j] = log of (b^(FIRST_ROOT + i))^(31 - j), reduced mod 255 */
static uint8_t syndrome_power[AS_RS_PARITY][AS_RS_PARITY];
/* the pseudo-random sequence repeated over the longest codeblock (a multiple of its period) */
static uint8_t pn_block[MAX_BLOCK];
static const uint8_t zero_block[MAX_BLOCK];
static int coding_ready;

/* CCSDS 131.0-B Annex F, the matrix T_alpha from the conventional basis (coefficient of alpha^7
 * in the most significant bit) to the dual basis: row i is the dual-basis image of bit 7 - i. */
static const uint8_t t_alpha_rows[8] = {0x8D, 0xEF, 0xEC, 0x86, 0xFA, 0x99, 0xAF, 0x7B};

static unsigned gf_mul(unsigned a, unsigned b)
{
    if (a == 0 || b == 0) {
        return 0;
    }
    return gf_exp[gf_log[a] + gf_log[b]];
}

static unsigned gf_inv(unsigned a)
{
    return gf_exp[255 - gf_log[a]];
}

void as_coding_init(void)
{
    unsigned i, j, x, value;
    uint8_t generator[AS_RS_PARITY + 1]; /* generator[j] = coefficient of x^j */
    unsigned state = 0xFF;

    if (coding_ready) {
        return;
    }
    x = 1;
    for (i = 0; i < 255; i++) {
        gf_exp[i] = (uint8_t)x;
        gf_log[x] = (uint8_t)i;
        x <<= 1;
        if (x & 0x100u) {
            x ^= FIELD_POLY;
        }
    }
    for (i = 255; i < 512; i++) {
        gf_exp[i] = gf_exp[i - 255];
    }
    for (value = 0; value < 256; value++) {
        unsigned dual = 0;
        for (j = 0; j < 8; j++) {
            if (value & (0x80u >> j)) {
                dual ^= t_alpha_rows[j];
            }
        }
        to_dual[value] = (uint8_t)dual;
        to_conventional[dual] = (uint8_t)value;
    }

    memset(generator, 0, sizeof generator);
    generator[0] = 1;
    for (i = 0; i < AS_RS_PARITY; i++) {
        unsigned root = gf_exp[(ROOT_STEP * (FIRST_ROOT + i)) % 255];
        for (j = i + 1; j > 0; j--) {
            generator[j] = (uint8_t)(generator[j - 1] ^ gf_mul(generator[j], root));
        }
        generator[0] = (uint8_t)gf_mul(generator[0], root);
    }
    /* register symbol j (0 = next out) holds the coefficient of x^(31 - j) */
    for (value = 0; value < 256; value++) {
        unsigned feedback = to_conventional[value];
        for (j = 0; j < 4; j++) {
            encoder_table[value][j] = 0;
        }
        for (j = 0; j < AS_RS_PARITY; j++) {
            uint64_t symbol = to_dual[gf_mul(generator[AS_RS_PARITY - 1 - j], feedback)];
            encoder_table[value][j / 8] |= symbol << (8 * (j % 8));
        }
    }
    for (i = 0; i < AS_RS_PARITY; i++) {
        unsigned root_log = (ROOT_STEP * (FIRST_ROOT + i)) % 255;
        for (j = 0; j < AS_RS_PARITY; j++) {
            syndrome_power[i][j] = (uint8_t)((root_log * (AS_RS_PARITY - 1 - j)) % 255);
        }
    }

    /* a(k+8) = a(k+7) ^ a(k+5) ^ a(k+3) ^ a(k), with a(k) in bit 7 of state and a(k+7) in bit 0 */
    for (i = 0; i < AS_PN_PERIOD; i++) {
        unsigned octet = 0;
        for (j = 0; j < 8; j++) {
            unsigned out = (state >> 7) & 1u;
            unsigned next = (state ^ (state >> 2) ^ (state >> 4) ^ (state >> 7)) & 1u;
            octet = (octet << 1) | out;
            state = ((state << 1) | next) & 0xFFu;
        }
        pn_block[i] = (uint8_t)octet;
    }
    for (i = AS_PN_PERIOD; i < MAX_BLOCK; i++) {
        pn_block[i] = pn_block[i - AS_PN_PERIOD];
    }
    coding_ready = 1;
}

static int valid_interleave(int interleave)
{
    return (interleave >= 1 && interleave <= 5) || interleave == 8;
}

static void xor_into(uint8_t *out, const uint8_t *in, const uint8_t *mask, size_t length)
{
    size_t i;
    for (i = 0; i < length; i++) {
        out[i] = (uint8_t)(in[i] ^ mask[i]);
    }
}

int as_randomize(const uint8_t *data, size_t length, uint8_t *out, size_t out_length)
{
    if (!coding_ready) {
        as_coding_init();
    }
    if (out_length != length || (length > 0 && (data == NULL || out == NULL))) {
        return AS_LINK_ELENGTH;
    }
    while (length > 0) {
        size_t step = length < MAX_BLOCK ? length : MAX_BLOCK;
        xor_into(out, data, pn_block, step);
        data += step;
        out += step;
        length -= step;
    }
    return AS_LINK_OK;
}

/* Division LFSR over one codeword's `kept` data symbols at data[k * stride]: leaves the 32
 * parity symbols (dual basis) in the register words. */
static void encoder_run(const uint8_t *data, size_t stride, size_t kept, uint64_t reg[4])
{
    uint64_t w0 = 0, w1 = 0, w2 = 0, w3 = 0;
    size_t k;
    for (k = 0; k < kept; k++) {
        const uint64_t *g = encoder_table[(data[k * stride] ^ w0) & 0xFFu];
        w0 = ((w0 >> 8) | (w1 << 56)) ^ g[0];
        w1 = ((w1 >> 8) | (w2 << 56)) ^ g[1];
        w2 = ((w2 >> 8) | (w3 << 56)) ^ g[2];
        w3 = (w3 >> 8) ^ g[3];
    }
    reg[0] = w0;
    reg[1] = w1;
    reg[2] = w2;
    reg[3] = w3;
}

/* Two neighbouring codewords at once: two independent dependency chains, which a superscalar
 * core overlaps (the encoder's speed is bound by the chain's latency). */
static void encoder_run_pair(const uint8_t *data, size_t stride, size_t kept, uint64_t a[4],
                             uint64_t b[4])
{
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
    size_t k;
    for (k = 0; k < kept; k++) {
        const uint64_t *g = encoder_table[(data[k * stride] ^ a0) & 0xFFu];
        const uint64_t *h = encoder_table[(data[k * stride + 1] ^ b0) & 0xFFu];
        a0 = ((a0 >> 8) | (a1 << 56)) ^ g[0];
        a1 = ((a1 >> 8) | (a2 << 56)) ^ g[1];
        a2 = ((a2 >> 8) | (a3 << 56)) ^ g[2];
        a3 = (a3 >> 8) ^ g[3];
        b0 = ((b0 >> 8) | (b1 << 56)) ^ h[0];
        b1 = ((b1 >> 8) | (b2 << 56)) ^ h[1];
        b2 = ((b2 >> 8) | (b3 << 56)) ^ h[2];
        b3 = (b3 >> 8) ^ h[3];
    }
    a[0] = a0;
    a[1] = a1;
    a[2] = a2;
    a[3] = a3;
    b[0] = b0;
    b[1] = b1;
    b[2] = b2;
    b[3] = b3;
}

/* The parity registers of every codeword of interleaved data (kept symbols per codeword). */
static void encode_registers(const uint8_t *data, size_t kept, size_t depth,
                             uint64_t reg[AS_RS_MAX_INTERLEAVE][4])
{
    size_t k;
    for (k = 0; k + 1 < depth; k += 2) {
        encoder_run_pair(data + k, depth, kept, reg[k], reg[k + 1]);
    }
    if (k < depth) {
        encoder_run(data + k, depth, kept, reg[k]);
    }
}

static unsigned register_symbol(const uint64_t reg[4], unsigned j)
{
    return (unsigned)(reg[j / 8] >> (8 * (j % 8))) & 0xFFu;
}

/* Codeblock = data + interleaved parity, each octet XORed with mask as it is written. */
static void encode_block(const uint8_t *data, size_t kept, int interleave, const uint8_t *mask,
                         uint8_t *out)
{
    uint64_t reg[AS_RS_MAX_INTERLEAVE][4];
    size_t depth = (size_t)interleave, data_length = kept * depth;
    size_t k;
    unsigned j;

    xor_into(out, data, mask, data_length);
    encode_registers(data, kept, depth, reg);
    for (j = 0; j < AS_RS_PARITY; j++) {
        for (k = 0; k < depth; k++) {
            size_t at = data_length + j * depth + k;
            out[at] = (uint8_t)(register_symbol(reg[k], j) ^ mask[at]);
        }
    }
}

/* Error locator by Berlekamp-Massey from 32 syndromes; returns its length L (sigma has L + 1
 * coefficients, low order first, zero above). */
static int berlekamp_massey(const unsigned syndromes[AS_RS_PARITY],
                            unsigned sigma[AS_RS_PARITY + 1])
{
    unsigned previous[AS_RS_PARITY + 1], candidate[AS_RS_PARITY + 1];
    unsigned last_discrepancy = 1;
    int length = 0, shift = 1, n, i;

    memset(previous, 0, sizeof previous);
    memset(sigma, 0, sizeof previous);
    sigma[0] = previous[0] = 1;
    for (n = 0; n < AS_RS_PARITY; n++) {
        unsigned discrepancy = syndromes[n], scale;
        for (i = 1; i <= length; i++) {
            discrepancy ^= gf_mul(sigma[i], syndromes[n - i]);
        }
        if (discrepancy == 0) {
            shift++;
            continue;
        }
        scale = gf_mul(discrepancy, gf_inv(last_discrepancy));
        memcpy(candidate, sigma, sizeof candidate);
        for (i = 0; i + shift <= AS_RS_PARITY; i++) {
            candidate[i + shift] ^= gf_mul(scale, previous[i]);
        }
        if (2 * length <= n) {
            memcpy(previous, sigma, sizeof previous);
            length = n + 1 - length;
            last_discrepancy = discrepancy;
            shift = 1;
        } else {
            shift++;
        }
        memcpy(sigma, candidate, sizeof candidate);
    }
    return length;
}

static unsigned log_step(unsigned log, unsigned step)
{
    log += step;
    return log >= 255 ? log - 255 : log;
}

/* Corrects codeword k of the received block, given the parity its received data symbols
 * re-encode to (`reg`) and the received parity (read through mask); data (already unmasked)
 * is corrected in place. Returns the number of symbols corrected, or AS_LINK_EUNCORRECTABLE. */
static int decode_codeword(const uint64_t reg[4], const uint8_t *block, const uint8_t *mask,
                           size_t depth, size_t k, size_t kept, uint8_t *data)
{
    unsigned difference[AS_RS_PARITY], syndromes[AS_RS_PARITY];
    unsigned sigma[AS_RS_PARITY + 1], omega[AS_RS_PARITY];
    unsigned error_degree[AS_RS_T], error_value[AS_RS_T];
    unsigned i, j, any = 0;
    int length, found = 0;
    size_t parity_at = kept * depth + k, transmitted = kept + AS_RS_PARITY, degree;

    for (j = 0; j < AS_RS_PARITY; j++) {
        size_t at = parity_at + j * depth;
        difference[j] = to_conventional[register_symbol(reg, j) ^ block[at] ^ mask[at]];
        any |= difference[j];
    }
    if (!any) {
        return 0;
    }
    for (i = 0; i < AS_RS_PARITY; i++) {
        unsigned s = 0;
        for (j = 0; j < AS_RS_PARITY; j++) {
            if (difference[j]) {
                s ^= gf_exp[gf_log[difference[j]] + syndrome_power[i][j]];
            }
        }
        syndromes[i] = s;
    }

    length = berlekamp_massey(syndromes, sigma);
    if (length > AS_RS_T) {
        return AS_LINK_EUNCORRECTABLE;
    }
    /* Chien search: sigma(b^-d) for the transmitted degrees d = 0 .. transmitted - 1. Term i is
     * sigma_i b^(-d i), kept as a log that steps by -11 i (mod 255) per degree. */
    {
        unsigned term_log[AS_RS_T + 1], term_step[AS_RS_T + 1];
        unsigned terms = 0;
        for (i = 1; i <= (unsigned)length; i++) {
            if (sigma[i]) {
                term_log[terms] = gf_log[sigma[i]];
                term_step[terms] = (255 - (ROOT_STEP * i) % 255) % 255;
                terms++;
            }
        }
        for (degree = 0; degree < transmitted && found < length; degree++) {
            unsigned sum = 1;
            for (i = 0; i < terms; i++) {
                sum ^= gf_exp[term_log[i]];
                term_log[i] = log_step(term_log[i], term_step[i]);
            }
            if (sum == 0) {
                error_degree[found++] = (unsigned)degree;
            }
        }
    }
    if (found != length) {
        return AS_LINK_EUNCORRECTABLE;
    }
    /* Forney: e = X^(1 - FIRST_ROOT) omega(X^-1) / sigma'(X^-1), omega = S sigma mod x^32 */
    for (i = 0; i < AS_RS_PARITY; i++) {
        unsigned o = 0;
        for (j = 0; j <= i && j <= (unsigned)length; j++) {
            o ^= gf_mul(syndromes[i - j], sigma[j]);
        }
        omega[i] = o;
    }
    for (i = 0; i < (unsigned)found; i++) {
        unsigned x_log = (ROOT_STEP * error_degree[i]) % 255;
        unsigned x_inverse_log = (255 - x_log) % 255, power_log = 0;
        unsigned numerator = 0, denominator = 0;
        for (j = 0; j < AS_RS_PARITY; j++) {
            if (omega[j]) {
                numerator ^= gf_exp[gf_log[omega[j]] + power_log];
            }
            if (j % 2 == 0 && j + 1 <= (unsigned)length && sigma[j + 1]) {
                denominator ^= gf_exp[gf_log[sigma[j + 1]] + power_log];
            }
            power_log = log_step(power_log, x_inverse_log);
        }
        if (denominator == 0 || numerator == 0) {
            return AS_LINK_EUNCORRECTABLE;
        }
        /* X^(1 - FIRST_ROOT) = a^(11 degree (1 - 112)), and 1 - 112 = 144 (mod 255) */
        error_value[i] = gf_mul(gf_mul(numerator, gf_exp[(x_log * (256 - FIRST_ROOT)) % 255]),
                                gf_inv(denominator));
    }
    /* the corrections must account for every syndrome: S_i = sum e X^(FIRST_ROOT + i) */
    {
        unsigned value_log[AS_RS_T], step_log[AS_RS_T];
        for (j = 0; j < (unsigned)found; j++) {
            step_log[j] = (ROOT_STEP * error_degree[j]) % 255;
            value_log[j] = (gf_log[error_value[j]] + step_log[j] * FIRST_ROOT) % 255;
        }
        for (i = 0; i < AS_RS_PARITY; i++) {
            unsigned s = 0;
            for (j = 0; j < (unsigned)found; j++) {
                s ^= gf_exp[value_log[j]];
                value_log[j] = log_step(value_log[j], step_log[j]);
            }
            if (s != syndromes[i]) {
                return AS_LINK_EUNCORRECTABLE;
            }
        }
    }
    for (i = 0; i < (unsigned)found; i++) {
        size_t symbol = transmitted - 1 - error_degree[i];
        if (symbol < kept) {
            data[symbol * depth + k] ^= to_dual[error_value[i]];
        }
    }
    return found;
}

/* Decodes a codeblock (read through mask) into its data; the data is unmasked first, and the
 * parity it re-encodes to is computed for all codewords in one pass before any correction. */
static int decode_block(const uint8_t *block, const uint8_t *mask, int interleave, size_t kept,
                        uint8_t *data, int *corrected, int *failed_codeword)
{
    uint64_t reg[AS_RS_MAX_INTERLEAVE][4];
    size_t depth = (size_t)interleave, k;
    int total = 0;

    xor_into(data, block, mask, kept * depth);
    encode_registers(data, kept, depth, reg);
    for (k = 0; k < depth; k++) {
        int count = decode_codeword(reg[k], block, mask, depth, k, kept, data);
        if (count < 0) {
            if (failed_codeword != NULL) {
                *failed_codeword = (int)k;
            }
            if (corrected != NULL) {
                *corrected = total;
            }
            return count;
        }
        total += count;
    }
    if (corrected != NULL) {
        *corrected = total;
    }
    return AS_LINK_OK;
}

int as_rs_encode(const uint8_t *data, size_t data_length, int interleave, int virtual_fill,
                 uint8_t *codeblock, size_t codeblock_length)
{
    size_t kept;

    if (!coding_ready) {
        as_coding_init();
    }
    if (!valid_interleave(interleave) || virtual_fill < 0 || virtual_fill >= AS_RS_K) {
        return AS_LINK_EPARAM;
    }
    kept = (size_t)(AS_RS_K - virtual_fill);
    if (data == NULL || codeblock == NULL || data_length != kept * (size_t)interleave ||
        codeblock_length != (kept + AS_RS_PARITY) * (size_t)interleave) {
        return AS_LINK_ELENGTH;
    }
    encode_block(data, kept, interleave, zero_block, codeblock);
    return AS_LINK_OK;
}

int as_rs_decode(const uint8_t *codeblock, size_t codeblock_length, int interleave,
                 int virtual_fill, uint8_t *data, size_t data_length, int *corrected,
                 int *failed_codeword)
{
    size_t kept;

    if (!coding_ready) {
        as_coding_init();
    }
    if (!valid_interleave(interleave) || virtual_fill < 0 || virtual_fill >= AS_RS_K) {
        return AS_LINK_EPARAM;
    }
    kept = (size_t)(AS_RS_K - virtual_fill);
    if (codeblock == NULL || data == NULL || data_length != kept * (size_t)interleave ||
        codeblock_length != (kept + AS_RS_PARITY) * (size_t)interleave) {
        return AS_LINK_ELENGTH;
    }
    return decode_block(codeblock, zero_block, interleave, kept, data, corrected,
                        failed_codeword);
}

int as_cadu_encode(const uint8_t *frame, size_t frame_length, int interleave, uint8_t *cadu,
                   size_t cadu_length)
{
    if (!coding_ready) {
        as_coding_init();
    }
    if (!valid_interleave(interleave)) {
        return AS_LINK_EPARAM;
    }
    if (frame == NULL || cadu == NULL || frame_length != (size_t)AS_RS_K * (size_t)interleave ||
        cadu_length != AS_ASM_LENGTH + (size_t)AS_RS_N * (size_t)interleave) {
        return AS_LINK_ELENGTH;
    }
    cadu[0] = (uint8_t)((uint32_t)AS_ASM >> 24);
    cadu[1] = (uint8_t)((uint32_t)AS_ASM >> 16);
    cadu[2] = (uint8_t)((uint32_t)AS_ASM >> 8);
    cadu[3] = (uint8_t)AS_ASM;
    encode_block(frame, AS_RS_K, interleave, pn_block, cadu + AS_ASM_LENGTH);
    return AS_LINK_OK;
}

int as_cadu_decode(const uint8_t *cadu, size_t cadu_length, int interleave,
                   int max_marker_errors, uint8_t *frame, size_t frame_length, int *corrected,
                   int *failed_codeword)
{
    int distance;

    if (!coding_ready) {
        as_coding_init();
    }
    if (!valid_interleave(interleave) || max_marker_errors < 0 ||
        max_marker_errors > AS_MARKER_BITS) {
        return AS_LINK_EPARAM;
    }
    if (cadu == NULL || frame == NULL || frame_length != (size_t)AS_RS_K * (size_t)interleave ||
        cadu_length != AS_ASM_LENGTH + (size_t)AS_RS_N * (size_t)interleave) {
        return AS_LINK_ELENGTH;
    }
    distance = as_marker_distance(cadu, cadu_length);
    if (distance < 0 || distance > max_marker_errors) {
        return AS_LINK_EMARKER;
    }
    return decode_block(cadu + AS_ASM_LENGTH, pn_block, interleave, AS_RS_K, frame, corrected,
                        failed_codeword);
}
