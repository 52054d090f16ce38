"""Bytes and JSON to numpy and back: every wire format the server speaks, free of Starlette."""
