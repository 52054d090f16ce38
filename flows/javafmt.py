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
    magnitude = abs(value)
    if value == 0 or 1e-3 <= magnitude < 1e7:
        text = repr(value)
        if "e" in text:  # repr goes to exponents only below 1e-4 or from 1e16
            return _plain(value)
        return text
    return _scientific(value)


def _plain(value: float) -> str:
    digits, exponent = _digits(value)
    sign = "-" if value < 0 else ""
    point = exponent + 1  # digits before the decimal point
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{sign}{digits}{'0' * (point - len(digits))}.0"
    return f"{sign}{digits[:point]}.{digits[point:]}"


def _scientific(value: float) -> str:
    digits, exponent = _digits(value)
    sign = "-" if value < 0 else ""
    fraction = digits[1:] or "0"
    return f"{sign}{digits[0]}.{fraction}E{exponent}"


def _digits(value: float) -> tuple[str, int]:
    """The shortest significant digits of `value` and the exponent of the first one."""
    mantissa, _, exponent = f"{abs(value):.17e}".partition("e")
    shortest = repr(abs(value))
    if "e" in shortest:
        mantissa, _, exponent = shortest.partition("e")
    else:
        # repr has no exponent: normalise "1234.5" / "0.00123" to digits and exponent.
        whole, _, fraction = shortest.partition(".")
        if whole != "0":
            digits = (whole + fraction).rstrip("0")
            return digits or "0", len(whole) - 1
        stripped = fraction.lstrip("0")
        return stripped.rstrip("0") or "0", -(len(fraction) - len(stripped)) - 1
    digits = mantissa.replace(".", "").rstrip("0") or "0"
    return digits, int(exponent)


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
