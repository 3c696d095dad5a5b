"""A road graph's core: dead-end trees and chains of two-neighbour vertices taken out (pure).

Most of a road graph's vertices lie on dead-end branches (cul-de-sacs, farm tracks) or on
chains between two junctions (a road bending, or split where a way changes). A search only
has to visit the *core*: junctions with three or more neighbours that lie on cycles. Every
other vertex belongs to one *piece* (a chain with the branches hanging from it, or the
branches hanging from one junction), joined to the core at one or two *attachment* vertices,
and any way out of a piece leaves through one of them.

So the search runs on the core alone, where each chain is one shortcut arc each way (the sum
of its costs; a one-way piece closes that direction). A vertex in a piece then gets its
distance from its attachments (its own, fixed cost to each, worked out once here, plus the
attachment's distance). When the destination itself lies in a piece, that piece is searched
on its own first (it is small), which gives the attachments their entry costs into the core
search, and the piece's vertices their direct ways to the destination.

Distances here follow the *reversed* graph of :mod:`gis.roadgraph`: from a vertex to the
destination. ``full`` is that reversed graph's CSR matrix (``n`` square, row ``v`` holding
``v``'s in-arcs of the road graph).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

INF = float("inf")


@dataclass(frozen=True)
class Core:
    """The core of one graph and how every other vertex hangs from it."""

    full: Any
    """The reversed graph, all vertices (``n`` square CSR)."""
    core_of: npt.NDArray[np.int64]
    """Core index of each vertex, -1 for vertices in pieces."""
    graph: Any
    """The reversed core graph with chain shortcuts, ``m + 1`` square CSR: vertex ``m``
    (:attr:`size`) is the destination, its row free slots (:func:`min_csr`)."""
    piece_of: npt.NDArray[np.int64]
    """Piece of each vertex, -1 for core vertices."""
    members: list[npt.NDArray[np.int64]]
    """The vertices of each piece."""
    attach: npt.NDArray[np.int64]
    """``pieces x 2``: the attachment vertices of each piece, -1 where there is none."""
    to_attach: npt.NDArray[np.float64]
    """``n x 2``: cost from each piece vertex to its piece's attachments (inside the piece)."""

    @property
    def size(self) -> int:
        """Core vertices (the destination's index in :attr:`graph`)."""
        return int(self.graph.shape[0]) - 1

    @property
    def nbytes(self) -> int:
        arrays = [self.core_of, self.piece_of, self.attach, self.to_attach]
        arrays += [self.graph.data, self.graph.indices, self.graph.indptr]
        return sum(int(a.nbytes) for a in arrays) + sum(int(m.nbytes) for m in self.members)

    def entries(self, into: Mapping[int, float]) -> tuple[dict[int, float], dict[int, Any]]:
        """The destination's ways in, ``into`` (vertex -> cost to the destination), as ways
        into the core (core index -> cost), and the distances inside each piece they touch
        (piece -> array aligned with :attr:`members` plus the piece's attachments)."""
        core: dict[int, float] = {}
        touched: dict[int, dict[int, float]] = {}
        for v, cost in into.items():
            c = int(self.core_of[v])
            if c >= 0:
                core[c] = min(cost, core.get(c, INF))
            else:
                touched.setdefault(int(self.piece_of[v]), {})[v] = cost
        inside: dict[int, Any] = {}
        for piece, ways in touched.items():
            ends = [int(a) for a in self.attach[piece] if a >= 0]
            local = np.concatenate((self.members[piece], np.asarray(ends, dtype=np.int64)))
            sub = self.full[local][:, local]
            position = {int(v): k for k, v in enumerate(local.tolist())}
            found = np.full(len(local), INF)
            for v, cost in ways.items():
                found = np.minimum(found, cost + dijkstra(sub, directed=True, indices=position[v]))
            inside[piece] = found
            for k, a in enumerate(ends):
                c = int(self.core_of[a])
                core[c] = min(float(found[len(local) - len(ends) + k]), core.get(c, INF))
        return core, inside

    def distances(
        self,
        vertices: npt.NDArray[np.int64],
        core_distances: npt.NDArray[np.float64],
        inside: Mapping[int, Any],
    ) -> npt.NDArray[np.float64]:
        """Distances of ``vertices`` to the destination, from the core search's."""
        out = np.full(len(vertices), INF)
        c = self.core_of[vertices]
        on_core = c >= 0
        out[on_core] = core_distances[c[on_core]]
        off = np.flatnonzero(~on_core)
        if len(off) == 0:
            return out
        v = vertices[off]
        pieces = self.piece_of[v]
        for k in range(2):
            ends = self.attach[pieces, k]
            has = ends >= 0
            via = np.full(len(v), INF)
            via[has] = self.to_attach[v[has], k] + core_distances[self.core_of[ends[has]]]
            out[off] = np.minimum(out[off], via)
        for n, (vertex, piece) in enumerate(zip(v.tolist(), pieces.tolist(), strict=True)):
            if piece in inside:
                where = int(np.searchsorted(self.members[piece], vertex))
                out[off[n]] = min(out[off[n]], float(inside[piece][where]))
        return out


def _neighbours(full: Any, n: int) -> list[list[int]]:
    """Undirected neighbours of each vertex (no self-loops, no repeats)."""
    pattern = csr_matrix((np.ones(len(full.indices)), full.indices, full.indptr), shape=(n, n))
    sym = (pattern + pattern.T).tocsr()
    indptr, indices = sym.indptr.tolist(), sym.indices.tolist()
    return [[u for u in indices[indptr[v] : indptr[v + 1]] if u != v] for v in range(n)]


def min_csr(
    rows: npt.NDArray[np.int64],
    cols: npt.NDArray[np.int64],
    weights: npt.NDArray[np.float64],
    n: int,
    slots: int = 0,
) -> Any:
    """A CSR graph of ``n`` vertices from arcs, keeping the cheapest of parallel arcs and
    dropping self-loops. With ``slots``, one more vertex (index ``n``) whose row holds that
    many free arcs, at the very end of the arrays (self-loops of no cost until written)."""
    keep = rows != cols
    rows, cols, weights = rows[keep], cols[keep], weights[keep]
    order = np.lexsort((weights, cols, rows))
    rows, cols, weights = rows[order], cols[order], weights[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    rows, cols, weights = rows[first], cols[first], weights[first]
    size = n + 1 if slots else n
    counts = np.bincount(rows, minlength=size)
    if slots:
        counts[n] = slots
    indptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int32)
    indices = np.concatenate((cols, np.full(slots, n))).astype(np.int32)
    data = np.concatenate((weights, np.zeros(slots)))
    return csr_matrix((data, indices, indptr), shape=(size, size))


def build_core(full: Any, slots: int) -> Core:
    """Contract ``full`` (see the module's docstring). The core graph gets one more vertex,
    index :attr:`Core.size`, with ``slots`` free out-arcs: the destination of a search."""
    n = full.shape[0]
    indptr, indices, data = full.indptr.tolist(), full.indices.tolist(), full.data.tolist()

    def forward(u: int, v: int) -> float:
        """Cost of the road from u to v (the reversed graph's arc v -> u)."""
        best = INF
        for k in range(indptr[v], indptr[v + 1]):
            if indices[k] == u and data[k] < best:
                best = data[k]
        return best

    nb = _neighbours(full, n)
    degree = [len(x) for x in nb]
    alive = [True] * n
    parent = [-1] * n
    order: list[int] = []
    stack = [v for v in range(n) if degree[v] <= 1]
    while stack:
        v = stack.pop()
        if not alive[v]:
            continue
        alive[v] = False
        order.append(v)
        for u in nb[v]:
            if alive[u]:
                parent[v] = u
                degree[u] -= 1
                if degree[u] == 1:
                    stack.append(u)
    # Branches: each vertex's way up to where its branch hangs (its root), and the cost.
    root = [-1] * n
    up = [INF] * n
    for v in reversed(order):
        p = parent[v]
        if p < 0:
            continue
        if alive[p]:
            root[v], up[v] = p, forward(v, p)
        elif root[p] >= 0:
            root[v], up[v] = root[p], forward(v, p) + up[p]
    kept = [alive[v] and degree[v] != 2 for v in range(n)]
    for v in range(n):
        if not alive[v] and root[v] < 0:
            kept[v] = True  # a branch hanging from nothing (a whole tree): left as it is
    # Chains between kept vertices.
    piece_of = [-1] * n
    attach: list[tuple[int, int]] = []
    to_a = [INF] * n
    to_b = [INF] * n
    shortcuts: list[tuple[int, int, float]] = []  # forward road (from, to, cost)
    for a in range(n):
        if not (kept[a] and alive[a]):
            continue
        for first in nb[a]:
            if not alive[first] or kept[first] or piece_of[first] >= 0:
                continue
            piece = len(attach)
            chain = []
            prev, cur = a, first
            while alive[cur] and not kept[cur]:
                chain.append(cur)
                piece_of[cur] = piece
                step = [u for u in nb[cur] if alive[u] and u != prev]
                prev, cur = cur, step[0]
            b = cur
            attach.append((a, b))
            back = 0.0
            last = a
            for v in chain:
                back = forward(v, last) + back
                to_a[v] = back
                last = v
            ahead = 0.0
            last = b
            for v in reversed(chain):
                ahead = forward(v, last) + ahead
                to_b[v] = ahead
                last = v
            shortcuts.append((a, b, forward(a, chain[0]) + to_b[chain[0]]))
            shortcuts.append((b, a, forward(b, chain[-1]) + to_a[chain[-1]]))
    for v in range(n):
        if alive[v] and not kept[v] and piece_of[v] < 0:
            kept[v] = True  # a loop of chain vertices with no junction: left as it is
    # Branches join the piece of their root (a chain's, or one piece per kept junction).
    at_junction: dict[int, int] = {}
    for v in range(n):
        r = root[v]
        if kept[v] or r < 0:
            continue
        if kept[r]:
            if r not in at_junction:
                at_junction[r] = len(attach)
                attach.append((r, -1))
            piece_of[v] = at_junction[r]
            to_a[v] = up[v]
        else:
            piece_of[v] = piece_of[r]
            to_a[v] = up[v] + to_a[r]
            to_b[v] = up[v] + to_b[r]
    kept_arr = np.asarray(kept, dtype=bool)
    core_vertices = np.flatnonzero(kept_arr)
    m = len(core_vertices)
    core_of = np.full(n, -1, dtype=np.int64)
    core_of[core_vertices] = np.arange(m)
    # The core graph: reversed arcs between kept vertices, and the chains' shortcuts.
    coo = full.tocoo()
    both = kept_arr[coo.row] & kept_arr[coo.col]
    rows = core_of[coo.row[both]]
    cols = core_of[coo.col[both]]
    weights = coo.data[both]
    cut = [(b, a, w) for a, b, w in shortcuts if w < INF]  # reversed
    rows = np.concatenate((rows, core_of[np.asarray([c[0] for c in cut], dtype=np.int64)]))
    cols = np.concatenate((cols, core_of[np.asarray([c[1] for c in cut], dtype=np.int64)]))
    weights = np.concatenate((weights, np.asarray([c[2] for c in cut], dtype=np.float64)))
    piece_arr = np.asarray(piece_of, dtype=np.int64)
    ordering = np.argsort(piece_arr, kind="stable")
    bounds = np.searchsorted(piece_arr[ordering], np.arange(len(attach) + 1))
    members = [
        np.sort(ordering[bounds[p] : bounds[p + 1]]).astype(np.int64) for p in range(len(attach))
    ]
    return Core(
        full=full,
        core_of=core_of,
        graph=min_csr(rows, cols, weights, m, slots),
        piece_of=piece_arr,
        members=members,
        attach=np.asarray(attach, dtype=np.int64).reshape(-1, 2),
        to_attach=np.column_stack((to_a, to_b)).astype(np.float64),
    )
