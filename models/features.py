"""The 78 CICIDS2017 flow features, in the order every model of this project expects them."""

from __future__ import annotations

from flows.columns import FEATURES

# From the one table of flow columns (flows/columns.py), which also knows each feature's names in
# CICFlowMeter's and CSE-CIC-IDS2018's files.
FEATURE_NAMES: tuple[str, ...] = FEATURES

N_FEATURES = len(FEATURE_NAMES)
assert N_FEATURES == 78

# Features CICFlowMeter computes as means, deviations, rates or sizes per packet; every other
# feature is a whole number (a count, a byte total, a microsecond time, a flag) even where a file
# writes "51885.0".
FRACTIONAL_FEATURES: frozenset[str] = frozenset(
    name
    for name in FEATURE_NAMES
    if name.endswith((" Mean", " Std", " Variance", "/s", " Segment Size"))
    or name == "Average Packet Size"
)
INTEGER_FEATURES: tuple[str, ...] = tuple(
    name for name in FEATURE_NAMES if name not in FRACTIONAL_FEATURES
)
