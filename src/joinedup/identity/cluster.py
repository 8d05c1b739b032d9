"""Turning scored pairs into clusters (for batch and table linkage), with a union-find."""

from __future__ import annotations

from collections.abc import Hashable, Iterable


class UnionFind:
    """Disjoint sets over hashable items; the smallest item (by sort order) names each set."""

    def __init__(self, items: Iterable[Hashable] = ()) -> None:
        self.parent: dict[Hashable, Hashable] = {item: item for item in items}

    def find(self, item: Hashable) -> Hashable:
        """The representative of the item's set (adding the item if new)."""
        parent = self.parent.setdefault(item, item)
        root = item
        while parent != root:
            root = parent
            parent = self.parent[root]
        while item != root:
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, left: Hashable, right: Hashable) -> None:
        """Join the sets of two items."""
        a, b = self.find(left), self.find(right)
        if a == b:
            return
        if str(b) < str(a):
            a, b = b, a
        self.parent[b] = a

    def groups(self) -> dict[Hashable, list[Hashable]]:
        """Representative -> members."""
        result: dict[Hashable, list[Hashable]] = {}
        for item in self.parent:
            result.setdefault(self.find(item), []).append(item)
        return result
