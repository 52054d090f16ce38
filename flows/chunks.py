"""A file read in bounded chunks: whole records are framed in a chunk, a record cut by the chunk's
end is carried to the front of the next one. Memory is the chunk (or the largest record), never the
file."""

from __future__ import annotations

from io import BufferedIOBase

import numpy as np

from flows.packets import Column

CHUNK_BYTES = 8 << 20  # large enough that numpy's per-call cost vanishes over a chunk's frames
MIN_CHUNK_BYTES = 64  # every fixed header a reader peeks at fits


class Chunks:
    """`buffer[:filled]` holds file bytes from `file_offset`; records before `used` are done."""

    def __init__(self, file: BufferedIOBase, size: int = CHUNK_BYTES, file_offset: int = 0) -> None:
        self.file = file
        self.buffer = bytearray(max(size, MIN_CHUNK_BYTES))
        self.filled = 0
        self.used = 0
        self.file_offset = file_offset  # of buffer[0]
        self.eof = False

    def refill(self, need: int = 0) -> bool:
        """Drop the used bytes, read more; False once the file has nothing more to add.

        `need`: the buffer grows to hold at least that many bytes from `used` (a record larger
        than a chunk)."""
        tail = self.filled - self.used
        if self.used:
            self.buffer[:tail] = self.buffer[self.used : self.filled]
            self.file_offset += self.used
            self.used = 0
            self.filled = tail
        if need > len(self.buffer):
            self.buffer.extend(bytes(need - len(self.buffer)))
        if self.eof:
            return False
        view = memoryview(self.buffer)
        added = 0
        while self.filled < len(self.buffer):
            got = self.file.readinto(view[self.filled :])
            if not got:
                self.eof = True
                break
            self.filled += got
            added += got
        view.release()
        return added > 0

    def array(self) -> Column:
        """The filled bytes as a uint8 array over the buffer (no copy): drop it before `refill`,
        which cannot grow a buffer that an array still looks at."""
        return np.frombuffer(self.buffer, np.uint8, count=self.filled)
