/* CRC-16/CCITT-FALSE (the CCSDS frame error control field) and CRC-32C (Castagnoli).
 *
 * Both use "slicing": table k holds the CRC contribution of an octet followed by k zero
 * octets, so a run of octets folds into the register with independent lookups instead of one
 * dependent lookup per octet (16 octets per step for CRC-16, whose tables are small; 8 for
 * CRC-32C). Octets are read one by one: no alignment or byte-order assumptions, so the code is
 * the same on every architecture.
 */
#include "link.h"

enum { SLICES = 8, SLICES16 = 16 };

static uint16_t crc16_table[SLICES16][256];
static uint32_t crc32c_table[SLICES][256];
static int crc_ready;

void as_crc_init(void)
{
    int slice;
    unsigned value, bit;

    if (crc_ready) {
        return;
    }
    for (value = 0; value < 256; value++) {
        uint16_t c16 = (uint16_t)(value << 8);
        uint32_t c32 = value;
        for (bit = 0; bit < 8; bit++) {
            unsigned shifted = (unsigned)c16 << 1;
            c16 = (uint16_t)((c16 & 0x8000u) ? shifted ^ 0x1021u : shifted);
            c32 = (c32 & 1u) ? (c32 >> 1) ^ 0x82F63B78u : c32 >> 1;
        }
        crc16_table[0][value] = c16;
        crc32c_table[0][value] = c32;
    }
    for (slice = 1; slice < SLICES16; slice++) {
        for (value = 0; value < 256; value++) {
            uint16_t p16 = crc16_table[slice - 1][value];
            crc16_table[slice][value] = (uint16_t)((p16 << 8) ^ crc16_table[0][p16 >> 8]);
        }
    }
    for (slice = 1; slice < SLICES; slice++) {
        for (value = 0; value < 256; value++) {
            uint32_t p32 = crc32c_table[slice - 1][value];
            crc32c_table[slice][value] = (p32 >> 8) ^ crc32c_table[0][p32 & 0xFFu];
        }
    }
    crc_ready = 1;
}

uint16_t as_crc16(const uint8_t *data, size_t length, uint16_t init)
{
    unsigned crc = init;

    if (!crc_ready) {
        as_crc_init();
    }
    if (data == NULL) {
        return init;
    }
    while (length >= SLICES16) {
        crc ^= ((unsigned)data[0] << 8) | data[1];
        crc = crc16_table[15][crc >> 8] ^ crc16_table[14][crc & 0xFFu] ^
              crc16_table[13][data[2]] ^ crc16_table[12][data[3]] ^ crc16_table[11][data[4]] ^
              crc16_table[10][data[5]] ^ crc16_table[9][data[6]] ^ crc16_table[8][data[7]] ^
              crc16_table[7][data[8]] ^ crc16_table[6][data[9]] ^ crc16_table[5][data[10]] ^
              crc16_table[4][data[11]] ^ crc16_table[3][data[12]] ^ crc16_table[2][data[13]] ^
              crc16_table[1][data[14]] ^ crc16_table[0][data[15]];
        data += SLICES16;
        length -= SLICES16;
    }
    while (length--) {
        crc = ((crc << 8) & 0xFFFFu) ^ crc16_table[0][(crc >> 8) ^ *data++];
    }
    return (uint16_t)crc;
}

uint32_t as_crc32c(const uint8_t *data, size_t length, uint32_t init)
{
    uint32_t crc = ~init;

    if (!crc_ready) {
        as_crc_init();
    }
    if (data == NULL) {
        return init;
    }
    while (length >= SLICES) {
        crc ^= (uint32_t)data[0] | ((uint32_t)data[1] << 8) | ((uint32_t)data[2] << 16) |
               ((uint32_t)data[3] << 24);
        crc = crc32c_table[7][crc & 0xFFu] ^ crc32c_table[6][(crc >> 8) & 0xFFu] ^
              crc32c_table[5][(crc >> 16) & 0xFFu] ^ crc32c_table[4][crc >> 24] ^
              crc32c_table[3][data[4]] ^ crc32c_table[2][data[5]] ^ crc32c_table[1][data[6]] ^
              crc32c_table[0][data[7]];
        data += SLICES;
        length -= SLICES;
    }
    while (length--) {
        crc = (crc >> 8) ^ crc32c_table[0][(crc ^ *data++) & 0xFFu];
    }
    return ~crc;
}
