"""Sets of file octets as sorted, disjoint, half-open intervals.

The receiver records what arrived (and derives the gaps it NAKs); the sender queues what the
receiver asked for again. Segments mostly arrive in order, so extending the last interval is the
fast path; anything else is a bisect and one slice assignment.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right


class Ranges:
    __slots__ = ("starts", "ends", "total")

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.total = 0  # octets covered

    def __bool__(self) -> bool:
        return bool(self.starts)

    def __len__(self) -> int:
        return len(self.starts)

    def intervals(self) -> list[tuple[int, int]]:
        return list(zip(self.starts, self.ends, strict=True))

    def add(self, start: int, end: int) -> int:
        """Cover [start, end); returns how many of those octets were not covered before."""
        if start >= end:
            return 0
        starts, ends = self.starts, self.ends
        if not ends or start > ends[-1]:
            starts.append(start)
            ends.append(end)
            self.total += end - start
            return end - start
        if start == ends[-1]:
            ends[-1] = end
            self.total += end - start
            return end - start
        i = bisect_left(ends, start)  # first interval ending at or after start (touching merges)
        j = bisect_right(starts, end)  # intervals before j start at or before end
        if i == j:
            starts.insert(i, start)
            ends.insert(i, end)
            self.total += end - start
            return end - start
        overlap = 0
        for k in range(i, j):
            overlap += max(0, min(ends[k], end) - max(starts[k], start))
        new_start = min(start, starts[i])
        new_end = max(end, ends[j - 1])
        starts[i:j] = [new_start]
        ends[i:j] = [new_end]
        fresh = end - start - overlap
        self.total += fresh
        return fresh

    def covers(self, start: int, end: int) -> bool:
        """True when every octet of [start, end) is covered (always for an empty span)."""
        if start >= end:
            return True
        i = bisect_right(self.starts, start) - 1
        return i >= 0 and self.ends[i] >= end

    def gaps(self, start: int, end: int) -> list[tuple[int, int]]:
        """The uncovered spans of [start, end), in order."""
        out = []
        pos = start
        starts, ends = self.starts, self.ends
        i = max(0, bisect_right(starts, start) - 1)
        n = len(starts)
        while pos < end and i < n:
            s, e = starts[i], ends[i]
            if e <= pos:
                i += 1
                continue
            if s >= end:
                break
            if s > pos:
                out.append((pos, s))
            pos = max(pos, e)
            i += 1
        if pos < end:
            out.append((pos, end))
        return out

    def pop_front(self, limit: int) -> tuple[int, int] | None:
        """Remove and return the first at most `limit` octets of the first interval."""
        if not self.starts:
            return None
        start, end = self.starts[0], self.ends[0]
        stop = min(end, start + limit)
        if stop == end:
            del self.starts[0]
            del self.ends[0]
        else:
            self.starts[0] = stop
        self.total -= stop - start
        return start, stop

    def clear(self) -> None:
        self.starts.clear()
        self.ends.clear()
        self.total = 0
