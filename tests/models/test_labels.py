from __future__ import annotations

import pytest

from models.labels import (
    ATTACK,
    BENIGN,
    CANONICAL_LABELS,
    UnknownLabelError,
    binary_label,
    canonical_label,
)


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        pytest.param("Web Attack \ufffd Brute Force", "Web Attack - Brute Force", id="U+FFFD"),
        pytest.param("Web Attack ï¿½ XSS", "Web Attack - XSS", id="U+FFFD read as latin-1"),
        pytest.param("Web Attack \u2013 Sql Injection", "Web Attack - Sql Injection", id="en dash"),
        pytest.param("Web Attack \x96 XSS", "Web Attack - XSS", id="cp1252 dash byte as latin-1"),
        pytest.param(
            "Web Attack \u00e2\u20ac\u201c XSS", "Web Attack - XSS", id="en dash as cp1252"
        ),
        pytest.param("Web Attack  Brute Force", "Web Attack - Brute Force", id="dash lost"),
        pytest.param("Web Attack - Brute Force", "Web Attack - Brute Force", id="canonical"),
        pytest.param(" BENIGN\r", "BENIGN", id="spaces and CR"),
        pytest.param("benign", "BENIGN", id="lower case"),
        pytest.param("DoS  Hulk", "DoS Hulk", id="double space"),
        pytest.param("DoS Slowloris", "DoS slowloris", id="case of the dataset kept"),
        pytest.param("FTP Patator", "FTP-Patator", id="space for hyphen"),
        pytest.param("Port Scan", "PortScan", id="split word"),
    ],
)
def test_labels_are_normalised_by_pattern(raw: str, canonical: str) -> None:
    assert canonical_label(raw) == canonical


def test_every_canonical_label_maps_to_itself() -> None:
    assert [canonical_label(label) for label in CANONICAL_LABELS] == list(CANONICAL_LABELS)
    assert len(CANONICAL_LABELS) == 15


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("Web Attack - CSRF", id="unknown web attack"),
        pytest.param("", id="empty"),
        pytest.param("Malware", id="unknown class"),
    ],
)
def test_unknown_label_is_an_error_naming_it(raw: str) -> None:
    with pytest.raises(UnknownLabelError, match=f"unknown label {raw!r}"):
        canonical_label(raw)


@pytest.mark.parametrize(
    ("canonical", "binary"),
    [
        pytest.param(BENIGN, BENIGN, id="benign"),
        pytest.param("DDoS", ATTACK, id="ddos"),
        pytest.param("Web Attack - XSS", ATTACK, id="web attack"),
        pytest.param(ATTACK, ATTACK, id="already binary"),
    ],
)
def test_binary_label(canonical: str, binary: str) -> None:
    assert binary_label(canonical) == binary


def test_binary_label_refuses_a_raw_label() -> None:
    with pytest.raises(UnknownLabelError, match="Web Attack \ufffd XSS"):
        binary_label("Web Attack \ufffd XSS")
