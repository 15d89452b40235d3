"""The corpus JPEG is a well-formed baseline JPEG (ITU-T T.81), checked segment by segment."""

from __future__ import annotations

import struct

from harness.mime.jpeg import tiny_jpeg

SOI, EOI, APP0, DQT, SOF0, DHT, SOS = 0xD8, 0xD9, 0xE0, 0xDB, 0xC0, 0xC4, 0xDA


def segments(data: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """(marker, payload) pairs up to SOS, and the entropy-coded data between SOS and EOI."""
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
    found: list[tuple[int, bytes]] = []
    position = 2
    while True:
        assert data[position] == 0xFF
        marker = data[position + 1]
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        found.append((marker, data[position + 4 : position + 2 + length]))
        position += 2 + length
        if marker == SOS:
            return found, data[position:-2]


def test_markers_lengths_and_frame() -> None:
    found, _ = segments(tiny_jpeg())
    assert [marker for marker, _ in found] == [APP0, DQT, SOF0, DHT, DHT, SOS]
    app0 = found[0][1]
    assert app0[:5] == b"JFIF\x00" and app0[5:7] == b"\x01\x01"
    dqt = found[1][1]
    assert len(dqt) == 65 and dqt[0] == 0  # 8-bit table 0, 64 entries
    precision, height, width, components = struct.unpack(">BHHB", found[2][1][:6])
    assert (precision, height, width, components) == (8, 8, 8, 1)
    assert found[5][1] == bytes([1, 1, 0x00, 0, 63, 0])  # one component, tables 0/0, spectral 0-63


def test_huffman_tables_and_scan_decode_to_one_flat_block() -> None:
    found, entropy = segments(tiny_jpeg())
    tables = {payload[0]: payload[1:] for marker, payload in found if marker == DHT}
    for table_class in (0x00, 0x10):  # DC table 0, AC table 0
        counts, symbols = tables[table_class][:16], tables[table_class][16:]
        assert counts[0] == 1 and sum(counts) == 1 == len(symbols) and symbols == b"\x00"
    # One code of length 1: the code is the bit 0. DC reads "0" -> category 0 (no extra bits, difference 0);
    # AC reads "0" -> symbol 0x00, end of block. The remaining six bits must be 1 (T.81 F.1.2.3 padding).
    bits = "".join(f"{octet:08b}" for octet in entropy)
    assert bits == "00" + "1" * 6
