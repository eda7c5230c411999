"""The visualization link: byte-compatible with aws-lambda-power-tuning's."""

from __future__ import annotations

import base64
import struct

import pytest

from powertuning.visualization import DEFAULT_VISUALIZATION_URL, Point, build_url, decode, encode

# The example link of aws-lambda-power-tuning's README.
REFERENCE_FRAGMENT = "gAAAAQACAAQABsAL;ZooQR4yvkUa/pQRGRC5zRaADHUVjOftE;QdWhOEMkoziDT5Q4xhiIOMYYiDi6RNc4"


def test_reference_sizes_decode_to_the_default_power_values():
    points = decode(REFERENCE_FRAGMENT)
    assert [p.power for p in points] == [128, 256, 512, 1024, 1536, 3008]


def test_reference_durations_and_costs_decode_as_float32():
    points = decode(REFERENCE_FRAGMENT)
    # CPU-bound example: each doubling of memory roughly halves the duration
    assert points[0].duration == pytest.approx(37002.4, abs=0.1)
    assert points[-1].duration == pytest.approx(2009.79, abs=0.01)
    assert all(0 < p.cost < 0.001 for p in points)


def test_reencoding_the_reference_gives_the_same_bytes():
    assert encode(decode(REFERENCE_FRAGMENT)) == REFERENCE_FRAGMENT


def test_sizes_field_is_little_endian_int16():
    fragment = encode([Point(128, 1.0, 0.1), Point(3008, 2.0, 0.2)])
    sizes = base64.b64decode(fragment.split(";")[0])
    assert sizes == struct.pack("<hh", 128, 3008)
    assert sizes == b"\x80\x00\xc0\x0b"


def test_encode_sorts_points_by_power():
    unsorted = [Point(1024, 10.0, 3.0), Point(128, 80.0, 1.0), Point(512, 20.0, 2.0)]
    assert [p.power for p in decode(encode(unsorted))] == [128, 512, 1024]
    assert encode(unsorted) == encode(sorted(unsorted, key=lambda p: p.power))


def test_round_trip_keeps_values_to_float32_precision():
    # GIVEN values Float32 cannot hold exactly WHEN round-tripped THEN they come back to ~7 digits
    points = [
        Point(128, 1234.5678901, 0.000002083334),
        Point(1769, 0.123456789, 0.0000000021),
        Point(10240, 98765.4321, 0.01666670001),
    ]
    back = decode(encode(points))
    assert [p.power for p in back] == [128, 1769, 10240]
    for original, decoded in zip(points, back, strict=True):
        assert decoded.duration == pytest.approx(original.duration, rel=1e-7)
        assert decoded.cost == pytest.approx(original.cost, rel=1e-7)
        # and exactly the Float32 value
        assert decoded.duration == struct.unpack("<f", struct.pack("<f", original.duration))[0]


def test_decode_accepts_a_leading_hash():
    assert decode("#" + REFERENCE_FRAGMENT) == decode(REFERENCE_FRAGMENT)


def test_decode_tolerates_missing_fields():
    points = decode("gAAAAQ==")
    assert points == [Point(128, 0.0, 0.0), Point(256, 0.0, 0.0)]


def test_empty_list_encodes_to_three_empty_fields():
    assert encode([]) == ";;"
    assert decode(encode([])) == []


def test_build_url_uses_the_default_base_and_a_hash():
    url = build_url(decode(REFERENCE_FRAGMENT))
    assert url == DEFAULT_VISUALIZATION_URL + "#" + REFERENCE_FRAGMENT
    assert DEFAULT_VISUALIZATION_URL == "https://lambda-power-tuning.show/"


def test_build_url_base_is_configurable():
    url = build_url([Point(128, 1.0, 0.5)], "https://viz.example.com/")
    assert url.startswith("https://viz.example.com/#")
    assert decode(url.split("#", 1)[1]) == [Point(128, 1.0, 0.5)]
