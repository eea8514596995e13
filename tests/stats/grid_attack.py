"""The attacker over the linked grid (issue 19): every number the statistics publish, as integer
programmes over the true month cells.

Every answer is a sum of published grid cells (`LinkedGrid.cell`), so the attacker takes each grid
period's published cells and totals as equations; the tables count the same contacts each month
(ties). What the attacker also knows, from the pattern alone: a column showing a 0 withholds no
zero, so its withheld cells are at least 1; a column showing no 0 may withhold zeros (rule 3), so
its withheld cells are only at least 0. For each withheld non-zero cell, the integer minimum and
maximum (HiGHS, integrality on) must differ: nothing pinned. For each column under 10 held by one
category, another category must be possible: no group disclosed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from app.stats.suppression import GROUP_LIMIT, LinkedGrid, Period


class GridAttack:
    def __init__(self, grids: Mapping[str, LinkedGrid], periods: list[Period], first: str) -> None:
        self.grids = dict(grids)
        self.periods = [p for p in periods]
        months = sorted({m for p in periods for m in p.months})
        self.months = months
        self.atom: dict[tuple[str, Any, str], int] = {}
        for name, g in self.grids.items():
            for r in g.rows:
                for m in months:
                    self.atom[(name, r, m)] = len(self.atom)
        self.truth = np.array([self.grids[n].count(r, m) for (n, r, m) in self.atom], dtype=float)
        eq_rows: list[dict[int, float]] = []
        eq_rhs: list[float] = []
        self.withheld: list[tuple[str, Any, Period]] = []
        self.columns: list[tuple[str, Period]] = []
        lower_one: list[dict[int, float]] = []
        names = list(self.grids)
        for p in self.periods:
            t0 = self.grids[names[0]]
            total = t0.total(p.months)
            if total is not None:
                eq_rows.append({self.atom[(names[0], r, m)]: 1.0 for r in t0.rows for m in p.months})
                eq_rhs.append(float(total))
            for name, g in self.grids.items():
                if p.level not in g.levels:
                    continue
                values = {r: g.cell(r, p.months) for r in g.rows}
                shows_zero = any(v == 0 for r, v in values.items() if r not in g.public)
                for r, v in values.items():
                    coefs = {self.atom[(name, r, m)]: 1.0 for m in p.months}
                    if v is not None:
                        eq_rows.append(coefs)
                        eq_rhs.append(float(v))
                    else:
                        if g.cell(r, p.months) is None and sum(g.count(r, m) for m in p.months) > 0:
                            self.withheld.append((name, r, p))
                        if shows_zero:
                            lower_one.append(coefs)
                self.columns.append((name, p))
        for other in names[1:]:
            for m in months:
                row = {self.atom[(names[0], r, m)]: 1.0 for r in self.grids[names[0]].rows}
                for r in self.grids[other].rows:
                    row[self.atom[(other, r, m)]] = row.get(self.atom[(other, r, m)], 0.0) - 1.0
                eq_rows.append(row)
                eq_rhs.append(0.0)
        n = len(self.atom)
        self.n = n

        def matrix(rows: list[dict[int, float]]) -> sparse.csr_matrix:
            ri = [i for i, row in enumerate(rows) for _ in row]
            ci = [j for row in rows for j in row]
            vs = [v for row in rows for v in row.values()]
            return sparse.csr_matrix((vs, (ri, ci)), shape=(len(rows), n))

        self.constraints = [LinearConstraint(matrix(eq_rows), lb=np.array(eq_rhs), ub=np.array(eq_rhs))]
        if lower_one:
            self.constraints.append(LinearConstraint(matrix(lower_one), lb=1.0, ub=np.inf))
        assert all(float(v) == float(eq_rhs[i]) for i, v in enumerate(matrix(eq_rows) @ self.truth)), "published numbers disagree with the truth"

    def _extreme(self, coefs: Mapping[int, float], sign: float) -> float | None:
        c = np.zeros(self.n)
        for j, v in coefs.items():
            c[j] = sign * v
        res = milp(c, integrality=np.ones(self.n), bounds=Bounds(0, 10_000), constraints=self.constraints)
        return None if res.x is None else float(sign * res.fun)

    def _solve(self, c: np.ndarray) -> np.ndarray | None:
        res = milp(c, integrality=np.ones(self.n), bounds=Bounds(0, 10_000), constraints=self.constraints)
        return None if res.x is None else np.round(res.x)

    def pinned(self) -> list[tuple[str, Any, str]]:
        """Withheld cells with one integer value only. Integer solutions found for sums of many
        cells at once (up, down, random signs) show most cells can move; each other cell gets its
        own minimum and maximum."""
        rows = [np.array([self.atom[(name, r, m)] for m in p.months]) for name, r, p in self.withheld]
        truth = np.array([self.truth[ix].sum() for ix in rows])
        moved = np.zeros(len(rows), dtype=bool)
        rnd = np.random.default_rng(5)
        for attempt in range(6):
            todo = np.flatnonzero(~moved)
            if not len(todo):
                break
            signs = np.ones(len(todo)) * (1 if attempt == 0 else -1) if attempt < 2 else rnd.choice([-1.0, 1.0], len(todo))
            c = np.zeros(self.n)
            for k, sgn in zip(todo, signs, strict=True):
                c[rows[k]] += sgn
            x = self._solve(c)
            if x is not None:
                moved |= np.array([x[ix].sum() != t for ix, t in zip(rows, truth, strict=True)])
        out = []
        for k in np.flatnonzero(~moved):
            name, r, p = self.withheld[k]
            coefs = {int(j): 1.0 for j in rows[k]}
            lo, hi = self._extreme(coefs, 1.0), self._extreme(coefs, -1.0)
            if lo is not None and hi is not None and round(hi) - round(lo) < 1:
                out.append((name, r, p.label))
        return out

    def groups_disclosed(self) -> list[tuple[str, str]]:
        out = []
        for name, p in self.columns:
            g = self.grids[name]
            true_total = sum(g.true_total(m) for m in p.months)
            if not 0 < true_total < GROUP_LIMIT:
                continue
            for r in g.rows:
                if r in g.public or r in g.neutral or sum(g.count(r, m) for m in p.months) != true_total:
                    continue
                others = {self.atom[(name, q, m)]: 1.0 for q in g.rows if q != r for m in p.months}
                best = self._extreme(others, -1.0)
                if best is not None and round(best) < 1:
                    out.append((name, p.label))
        return out
