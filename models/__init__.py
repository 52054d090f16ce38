"""Training room: CICIDS2017 data layer, synthetic flows, and the service's pickle set."""
