"""The closing table on stderr: flows per label, and the top talkers of each label."""

from __future__ import annotations

from collections import Counter

from detect.verdicts import Verdicts
from flows.records import FlowBatch

TOP_TALKERS = 3


class Summary:
    """Counts flows per label and per (source, destination) address pair within each label."""

    def __init__(self) -> None:
        self.flows = 0
        self.per_label: Counter[str] = Counter()
        self.talkers: dict[str, Counter[tuple[str, str]]] = {}

    def add(self, batch: FlowBatch, verdicts: Verdicts) -> None:
        self.flows += len(batch)
        self.per_label.update(verdicts.labels)
        pairs = zip(batch.src_ips(), batch.dst_ips(), strict=True)
        for label, pair in zip(verdicts.labels, pairs, strict=True):
            self.talkers.setdefault(label, Counter())[pair] += 1

    def table(self) -> str:
        if not self.flows:
            return "no flows"
        width = max(len("label"), *(len(label) for label in self.per_label))
        lines = [
            f"{'label':<{width}}  {'flows':>9}  {'share':>6}  top talkers (source -> dest: flows)"
        ]
        for label, count in self.per_label.most_common():
            top = self.talkers[label].most_common(TOP_TALKERS)
            talkers = ", ".join(f"{src} -> {dst}: {n:,}" for (src, dst), n in top)
            share = 100 * count / self.flows
            lines.append(f"{label:<{width}}  {count:>9,}  {share:>5.1f}%  {talkers}")
        return "\n".join(lines)
