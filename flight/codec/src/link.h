/* The link half of the payload-encoding engine: CRCs, CCSDS randomizer, Reed-Solomon, CADUs.
 *
 * cffi reads this header (without its preprocessor lines) as the binding's declarations, so
 * constants are enums and everything else is plain C declarations.
 *
 * Every function checks every length and parameter it is given and returns a negative
 * AS_LINK_E* code instead of reading or writing out of bounds. Nothing allocates memory.
 * as_crc_init() and as_coding_init() build the lookup tables; the Python binding calls them
 * once at import, and every entry point calls them too if that has not happened yet.
 */
#ifndef AS_LINK_H
#define AS_LINK_H

#include <stddef.h>
#include <stdint.h>

enum {
    AS_LINK_OK = 0,
    AS_LINK_EPARAM = -1,         /* interleave, virtual fill or marker tolerance out of range */
    AS_LINK_ELENGTH = -2,        /* a buffer is not the length the parameters call for */
    AS_LINK_EUNCORRECTABLE = -3, /* a Reed-Solomon codeword has too many errors */
    AS_LINK_EMARKER = -4,        /* the attached sync marker has too many bit errors */
    AS_LINK_NOT_FOUND = -5       /* no marker in the buffer */
};

enum {
    AS_RS_N = 255,
    AS_RS_K = 223,
    AS_RS_PARITY = 32,
    AS_RS_T = 16,
    AS_RS_MAX_INTERLEAVE = 8,
    AS_PN_PERIOD = 255,
    AS_ASM_LENGTH = 4,
    AS_ASM = 0x1ACFFC1D,
    AS_MARKER_BITS = 32
};

void as_crc_init(void);
void as_coding_init(void);

/* CRC-16/CCITT-FALSE (init 0xFFFF for a fresh CRC) and CRC-32C (init 0 for a fresh CRC); passing
 * a previous result as init continues the CRC over the concatenation. */
uint16_t as_crc16(const uint8_t *data, size_t length, uint16_t init);
uint32_t as_crc32c(const uint8_t *data, size_t length, uint32_t init);

/* out = data XOR the CCSDS pseudo-random sequence (from its first octet); out_length == length. */
int as_randomize(const uint8_t *data, size_t length, uint8_t *out, size_t out_length);

/* RS(255,223) codeblock of (223 - virtual_fill) * interleave data octets, dual basis, interleaved:
 * codeblock_length == (255 - virtual_fill) * interleave. */
int as_rs_encode(const uint8_t *data, size_t data_length, int interleave, int virtual_fill,
                 uint8_t *codeblock, size_t codeblock_length);

/* Corrects the codeblock into data; *corrected = symbols corrected. On AS_LINK_EUNCORRECTABLE,
 * *failed_codeword is the first codeword (0 .. interleave - 1) that could not be corrected. */
int as_rs_decode(const uint8_t *codeblock, size_t codeblock_length, int interleave,
                 int virtual_fill, uint8_t *data, size_t data_length, int *corrected,
                 int *failed_codeword);

/* CADU = marker + randomized codeblock of a 223 * interleave octet frame, written in one pass. */
int as_cadu_encode(const uint8_t *frame, size_t frame_length, int interleave, uint8_t *cadu,
                   size_t cadu_length);

/* The frame of a CADU whose marker is within max_marker_errors bits (0 .. 32) of the ASM. */
int as_cadu_decode(const uint8_t *cadu, size_t cadu_length, int interleave,
                   int max_marker_errors, uint8_t *frame, size_t frame_length, int *corrected,
                   int *failed_codeword);

/* Hamming distance (0 .. 32) between the first 4 octets and the ASM, or AS_LINK_ELENGTH. */
int as_marker_distance(const uint8_t *octets, size_t length);

/* Offset of the first marker at or after start within max_errors (0 .. 32) bits of the ASM,
 * lying wholly inside the buffer; AS_LINK_NOT_FOUND if none, AS_LINK_EPARAM for bad max_errors. */
ptrdiff_t as_marker_search(const uint8_t *buffer, size_t length, size_t start, int max_errors);

#endif
