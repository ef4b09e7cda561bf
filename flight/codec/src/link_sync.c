/* Attached sync marker search for the frame synchronizer: byte-aligned, with a bit-error tolerance.
 *
 * A 32-bit window slides over the buffer one octet at a time; a position matches when the
 * window differs from the ASM in at most max_errors bits (portable popcount, no intrinsics).
 */
#include "link.h"

static int popcount32(uint32_t x)
{
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    x = (x + (x >> 4)) & 0x0F0F0F0Fu;
    return (int)((x * 0x01010101u) >> 24);
}

static uint32_t load_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

int as_marker_distance(const uint8_t *octets, size_t length)
{
    if (octets == NULL || length < AS_ASM_LENGTH) {
        return AS_LINK_ELENGTH;
    }
    return popcount32(load_be32(octets) ^ (uint32_t)AS_ASM);
}

ptrdiff_t as_marker_search(const uint8_t *buffer, size_t length, size_t start, int max_errors)
{
    size_t i;
    uint32_t window;

    if (max_errors < 0 || max_errors > AS_MARKER_BITS) {
        return AS_LINK_EPARAM;
    }
    if (buffer == NULL || start > length || length - start < AS_ASM_LENGTH ||
        length > (size_t)PTRDIFF_MAX) {
        return AS_LINK_NOT_FOUND;
    }
    window = load_be32(buffer + start);
    if (max_errors == 0) {
        for (i = start + AS_ASM_LENGTH;; i++) {
            if (window == (uint32_t)AS_ASM) {
                return (ptrdiff_t)(i - AS_ASM_LENGTH);
            }
            if (i == length) {
                return AS_LINK_NOT_FOUND;
            }
            window = (window << 8) | buffer[i];
        }
    }
    for (i = start + AS_ASM_LENGTH;; i++) {
        if (popcount32(window ^ (uint32_t)AS_ASM) <= max_errors) {
            return (ptrdiff_t)(i - AS_ASM_LENGTH);
        }
        if (i == length) {
            return AS_LINK_NOT_FOUND;
        }
        window = (window << 8) | buffer[i];
    }
}
