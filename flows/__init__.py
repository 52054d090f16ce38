"""Packets (pcap, pcapng, live interfaces) to flow records with CICIDS2017's 78 features.

Keep this file free of imports: the server imports `flows.columns` (the column-name table), and
the serving image has none of the packet libraries of the `flows` extra.
"""
