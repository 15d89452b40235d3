"""A tiny valid JPEG, built in code so the corpus needs no image files (ITU-T T.81, JFIF 1.01).

One 8x8 block of mid grey, baseline sequential, one component. The Huffman tables each hold a
single one-bit code "0": in the DC table for category 0 (difference 0), in the AC table for
end-of-block. The scan is therefore the bits 0 (DC) and 0 (EOB), padded with 1-bits to
0b00111111 (T.81 F.1.2.3). Decoders show a uniform grey square.
"""

from __future__ import annotations

import struct
from typing import Final

SIZE: Final = 8  # pixels per side: one block


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def _single_code_table(table_class: int, symbol: int) -> bytes:
    counts = bytes([1] + [0] * 15)  # one code of length 1 (the code 0), none longer
    return bytes([table_class << 4]) + counts + bytes([symbol])


def tiny_jpeg() -> bytes:
    jfif = b"JFIF\x00" + bytes([1, 1, 0]) + struct.pack(">HH", 1, 1) + bytes([0, 0])
    quantization = bytes([0]) + bytes([1] * 64)  # table 0, 8-bit precision, all steps 1
    frame = struct.pack(">BHHB", 8, SIZE, SIZE, 1) + bytes([1, 0x11, 0])  # component 1: 1x1 sampling, table 0
    scan = bytes([1, 1, 0x00, 0, 63, 0])  # component 1 with DC/AC tables 0; full spectral range
    return b"".join(
        (
            b"\xff\xd8",  # SOI
            _segment(0xE0, jfif),  # APP0
            _segment(0xDB, quantization),  # DQT
            _segment(0xC0, frame),  # SOF0: baseline
            _segment(0xC4, _single_code_table(0, 0x00)),  # DHT: DC table 0, category 0
            _segment(0xC4, _single_code_table(1, 0x00)),  # DHT: AC table 0, EOB
            _segment(0xDA, scan),  # SOS
            bytes([0b00111111]),  # DC "0", EOB "0", then 1-bit padding
            b"\xff\xd9",  # EOI
        )
    )
