"""Packets (pcap, pcapng, live interfaces) to flow records with CICIDS2017's 78 features."""
