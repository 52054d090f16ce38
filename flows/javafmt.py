"""Numbers and times written as the reference's Java code writes them.

`Double.toString`: the shortest decimal that reads back as the same double, written plainly for
magnitudes in [1e-3, 1e7) (`88.0`, `0.25`) and as `d.dddE[-]n` otherwise (`1.4212290502793297E7`,
`1.0E-4`); `Infinity`, `-Infinity`, `NaN`. Python's `repr` finds the same digits; only the layout
differs. Timestamps: `dd/MM/yyyy hh:mm:ss a` in local time, English AM/PM.
"""

from __future__ import annotations

import math
import time


def java_double(value: float) -> str:
    """`Double.toString(value)`."""
    if value != value:
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        return repr(value)  # plain in this range: repr uses exponents below 1e-4 and from 1e16
    digits, exponent = _digits(repr(abs(value)))
    sign = "-" if value < 0 else ""
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{exponent}"


def _digits(text: str) -> tuple[str, int]:
    """The significant digits of a positive float's repr, and the exponent of the first."""
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    if exponent:
        return (whole + fraction).rstrip("0") or "0", int(exponent)
    if whole != "0":
        return (whole + fraction).rstrip("0") or "0", len(whole) - 1
    significant = fraction.lstrip("0")
    return significant.rstrip("0"), len(significant) - len(fraction) - 1


_AM_PM = ("AM", "PM")


def java_timestamp(start_us: int) -> str:
    """The reference's Timestamp: `flowStartTime / 1000` ms, local time, `dd/MM/yyyy hh:mm:ss a`."""
    millis = -(-start_us // 1000) if start_us < 0 else start_us // 1000  # Java's / truncates
    local = time.localtime(millis // 1000)
    hour = local.tm_hour % 12 or 12
    return (
        f"{local.tm_mday:02d}/{local.tm_mon:02d}/{local.tm_year:04d} "
        f"{hour:02d}:{local.tm_min:02d}:{local.tm_sec:02d} {_AM_PM[local.tm_hour >= 12]}"
    )
