"""CICIDS2017 class labels: canonical names and the BENIGN/ATTACK mapping of the binary task."""

from __future__ import annotations

import re

BENIGN = "BENIGN"
ATTACK = "ATTACK"

# Every class of the CICIDS2017 release, spelled as in the dataset (after fixing the dash).
CANONICAL_LABELS: tuple[str, ...] = (
    BENIGN,
    "Bot",
    "DDoS",
    "DoS GoldenEye",
    "DoS Hulk",
    "DoS Slowhttptest",
    "DoS slowloris",
    "FTP-Patator",
    "Heartbleed",
    "Infiltration",
    "PortScan",
    "SSH-Patator",
    "Web Attack - Brute Force",
    "Web Attack - Sql Injection",
    "Web Attack - XSS",
)

_NOT_ASCII_ALNUM = re.compile(r"[^A-Za-z0-9]+")


def _key(label: str) -> str:
    # The web-attack dash is mis-encoded differently in every copy of the dataset ("\ufffd",
    # "ï¿½", an en dash, a lone cp1252 0x96 byte), so labels are matched on their ASCII letters and
    # digits only: every mis-encoding is made of non-ASCII characters and falls away.
    return _NOT_ASCII_ALNUM.sub("", label).lower()


# ATTACK is no CICIDS2017 class, but a recording labelled from what its user knows (`ids-inference
# flows --label ATTACK ...`) may say no more than that: binary training reads it as any attack.
_BY_KEY: dict[str, str] = {_key(name): name for name in (*CANONICAL_LABELS, ATTACK)}
_CANONICAL = frozenset(CANONICAL_LABELS)


class UnknownLabelError(ValueError):
    """A label that is none of the CICIDS2017 classes."""


def canonical_label(raw: str) -> str:
    """The canonical class name for a label as written in any CICIDS2017 CSV file.

    Case, spaces, dashes and mis-encoded characters do not matter: `Web Attack \ufffd XSS`,
    `Web Attack \u2013 XSS` and ` web attack - xss` are all `Web Attack - XSS`. `ATTACK`, the
    label of an attack of no named class in a labelled recording, is accepted too.
    """
    canonical = _BY_KEY.get(_key(raw))
    if canonical is None:
        raise UnknownLabelError(
            f"unknown label {raw!r}: not a CICIDS2017 class ({', '.join(CANONICAL_LABELS)}) "
            f"nor {ATTACK}"
        )
    return canonical


def binary_label(canonical: str) -> str:
    """BENIGN stays BENIGN; every attack class (and ATTACK itself) becomes ATTACK."""
    if canonical == BENIGN:
        return BENIGN
    if canonical != ATTACK and canonical not in _CANONICAL:
        raise UnknownLabelError(f"unknown label {canonical!r}: expected a canonical class name")
    return ATTACK
