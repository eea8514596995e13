"""Which cells of the whole linked grid of periods are withheld, decided once for every table
together so that no query can reveal a small count (issue 19). The grid, the four steps of the
decision and why each is safe: docs/statistics.md, "The query model and the suppression decision"."""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.stats.periods import index_of, month_of

if TYPE_CHECKING:  # numpy, scipy and HiGHS are imported where the solver runs: every command starts faster
    import numpy as np
    from scipy import sparse

log = logging.getLogger("safeshare.stats")

LEVELS = ("month", "quarter", "year", "fy", "since", "past")  # past: a since-launch published before
COARSE = frozenset(LEVELS[1:])  # tables only ever asked over ranges (the summary's shares, equality)
GROUP_LIMIT = 10  # rule 3: a column under this many, all in one category, is a group disclosure
MAX_ROUNDS = 250  # a round is a few ms of LPs; small services with many small cells need 100+
TOL = 1e-6


# --- periods --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    label: str
    first: int  # month index (inclusive)
    last: int
    level: str  # month, quarter, year, fy, since

    @property
    def months(self) -> list[str]:
        return [month_of(i) for i in range(self.first, self.last + 1)]


def fy_label(month: str) -> str:
    """The UK financial year (April to March) holding `month`: `2024/25`."""
    y, m = int(month[:4]), int(month[5:7])
    start = y if m >= 4 else y - 1
    return f"{start}/{(start + 1) % 100:02d}"


def grid_start(first_month: str) -> int:
    """The first month of the grid: the earlier of the calendar and the financial year's start
    holding the first case (months before the first case are zeros everyone knows)."""
    y, m = int(first_month[:4]), int(first_month[5:7])
    jan = index_of(f"{y:04d}-01")
    apr = index_of(f"{y if m >= 4 else y - 1:04d}-04")
    return min(jan, apr)


def grid_periods(first_month: str, last_settled: str, since_end: str | None = None) -> list[Period]:
    """Every period of the grid, months first; since launch runs to `since_end` (the last month
    with a case, when it is settled; else the last settled month)."""
    start, end = grid_start(first_month), index_of(last_settled)
    out = [Period(month_of(i), i, i, "month") for i in range(start, end + 1)]
    quarters = []
    for i in range(start, end + 1):
        if i % 3 == 0 and i + 2 <= end:
            m = month_of(i)
            quarters.append(Period(f"{m[:4]}-Q{i % 12 // 3 + 1}", i, i + 2, "quarter"))
    out += quarters
    for i in range(start, end + 1):
        if i % 12 == 0 and i + 11 <= end:
            out.append(Period(month_of(i)[:4], i, i + 11, "year"))
        if i % 12 == 3 and i + 11 <= end:
            out.append(Period(fy_label(month_of(i)), i, i + 11, "fy"))
    first = index_of(first_month)
    stop = min(end, index_of(since_end)) if since_end else end
    if first <= stop:
        out.append(Period(f"{first_month}..{month_of(stop)}", first, stop, "since"))
    return out


def children(p: Period, months: Mapping[int, Period], quarters: Mapping[int, Period]) -> list[Period]:
    """The periods one level down that make up `p` (the grid's relations)."""
    if p.level == "month":
        return []
    if p.level == "quarter":
        return [months[i] for i in range(p.first, p.last + 1)]
    parts: list[Period] = []
    i = p.first
    while i <= p.last:
        q = quarters.get(i)
        if q is not None and q.last <= p.last:
            parts.append(q)
            i += 3
        else:
            parts.append(months[i])
            i += 1
    return parts


# --- the tables of one solve ----------------------------------------------------------------------

@dataclass
class TableIn:
    rows: list[Any]
    counts: Mapping[tuple[Any, str], int]  # (row, month) -> n, settled months only matter
    public: frozenset[Any] = frozenset()  # always shown, never complementary (contacts recorded late)
    neutral: frozenset[Any] = frozenset()  # no attribute of anyone: exempt from rule 3
    levels: frozenset[str] = frozenset(LEVELS)  # the kinds of period this table is published for


TOTAL = ("__total__",)  # the key of a period total in a Decision


@dataclass
class Decision:
    periods: list[Period]
    withheld: set[tuple[str, Hashable, str]] = field(default_factory=set)  # (table, row | TOTAL, period)
    groups: set[tuple[str, str]] = field(default_factory=set)  # rule-3 columns (table, period)
    rounds: int = 0
    ok: bool = True

    def shown(self, table: str, row: Hashable, period: str) -> bool:
        return self.ok and (table, row, period) not in self.withheld

    def total_shown(self, period: str) -> bool:
        return self.ok and ("", TOTAL, period) not in self.withheld


class _Problem:
    def __init__(self, tables: Mapping[str, TableIn], periods: list[Period], min_cell: int) -> None:
        import numpy as np
        self.tables = tables
        self.periods = periods
        self.min_cell = min_cell
        self.start = min(p.first for p in periods)
        self.n_months = max(p.last for p in periods) - self.start + 1
        self.month_p = {p.first: p for p in periods if p.level == "month"}
        self.quarter_p = {p.first: p for p in periods if p.level == "quarter"}
        # grid variables: cells, then one total per period
        self.keys: list[tuple[str, Hashable, str]] = []
        self.values: list[int] = []
        self.spans: list[tuple[int, int]] = []
        self.levels: list[str] = []
        self.index: dict[tuple[str, Hashable, str], int] = {}
        self.never: set[int] = set()  # month cells of tables never published by month
        prefix: dict[tuple[str, Hashable], np.ndarray] = {}
        for name, t in tables.items():
            for r in t.rows:
                arr = np.zeros(self.n_months + 1, dtype=np.int64)
                for i in range(self.n_months):
                    arr[i + 1] = arr[i] + t.counts.get((r, month_of(self.start + i)), 0)
                prefix[(name, r)] = arr
        self.prefix = prefix
        first_table = next(iter(tables))
        for p in periods:
            a, b = p.first - self.start, p.last - self.start + 1
            for name, t in tables.items():
                if p.level not in t.levels and p.level != "month":
                    continue
                for r in t.rows:
                    if p.level not in t.levels:
                        # never published (a table asked only over longer periods), but what the
                        # published periods say about it is checked like a withheld cell's
                        self.never.add(len(self.keys))
                    self._add((name, r, p.label), int(prefix[(name, r)][b] - prefix[(name, r)][a]), p)
            total = sum(int(prefix[(first_table, r)][b] - prefix[(first_table, r)][a]) for r in tables[first_table].rows)
            self._add(("", TOTAL, p.label), total, p)
        self.n = len(self.keys)
        # months before the first case are zeros everyone knows: not decisions, not unknowns
        nonzero = [i for (name, r), arr in prefix.items() for i in range(self.n_months) if arr[i + 1] > arr[i]]
        self.first_live = min(nonzero) if nonzero else self.n_months
        self.known = np.array([self.spans[j][1] - self.start < self.first_live for j in range(self.n)], dtype=bool)

    def _add(self, key: tuple[str, Hashable, str], value: int, p: Period) -> None:
        self.index[key] = len(self.keys)
        self.keys.append(key)
        self.values.append(value)
        self.spans.append((p.first, p.last))
        self.levels.append(p.level)

    # -- the master integer programme --------------------------------------------------------------
    def cost(self, j: int) -> float:
        row = self.keys[j][1]
        level = self.levels[j]
        weight = {"month": 1.0, "quarter": 4.0, "year": 12.0, "fy": 16.0, "since": 60.0, "past": 60.0}[level]
        if row == TOTAL:
            weight *= 200.0
        return weight * (1.0 + math.log1p(self.values[j]))

    def relations(self) -> list[list[int]]:
        """Every grid relation as the list of its members (the parent first)."""
        rels: list[list[int]] = []
        for p in self.periods:
            kids = children(p, self.month_p, self.quarter_p)
            for name, t in self.tables.items():
                if p.level not in t.levels:
                    continue
                # the column: total = its rows
                rels.append([self.index[("", TOTAL, p.label)]] + [self.index[(name, r, p.label)] for r in t.rows])
                if kids and all(k.level in t.levels for k in kids):
                    for r in t.rows:
                        rels.append([self.index[(name, r, p.label)]] + [self.index[(name, r, k.label)] for k in kids])
            if kids:
                rels.append([self.index[("", TOTAL, p.label)]] + [self.index[("", TOTAL, k.label)] for k in kids])
        return rels


def _digest(tables: Mapping[str, TableIn], periods: list[Period], min_cell: int, fixed: Any) -> str:
    h = hashlib.sha256()
    h.update(repr((min_cell, [(p.label, p.first, p.last) for p in periods], fixed)).encode())
    for name in sorted(tables):
        t = tables[name]
        h.update(repr((name, [repr(r) for r in t.rows], sorted(repr(r) for r in t.public),
                       sorted(repr(r) for r in t.neutral),
                       sorted((repr(k), v) for k, v in t.counts.items() if v))).encode())
    return h.hexdigest()


_cache: dict[str, Decision] = {}
_cache_lock = threading.Lock()
CACHE_SIZE = 512


def _cached(key: str) -> Decision | None:
    with _cache_lock:
        return _cache.get(key)


def _keep(key: str, decision: Decision) -> None:
    with _cache_lock:
        if len(_cache) >= CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[key] = decision


def decide_over_time(tables: Mapping[str, TableIn], first_month: str, grid_end: str, since_end: str | None,
                     min_cell: int, live_from: str | None) -> Decision:
    """The decision as it stands at `grid_end`, every earlier decision held fixed (docs rule 4).

    Month by month from the first settled month after going live (`live_from`, the first month
    with a contact recorded as it came; history loaded before that is one snapshot), each month's
    solve keeps every cell the previous month's decision showed shown and every cell it withheld
    withheld, and carries the since-launch tables published before as periods of their own
    (`past`), so the attacker compares the new since-launch with each of them. The counts of a
    settled month do not change (late contacts go to their own public row), so the chain can be
    worked out again from the counts alone; each step is cached by its digest.
    """
    end = index_of(grid_end)
    if index_of(first_month) > end:
        return Decision([])
    full_key = _digest(tables, grid_periods(first_month, grid_end, since_end), min_cell, ("chain", live_from))
    hit = _cached(full_key)
    if hit is not None:
        return hit
    start = end if live_from is None else max(index_of(first_month), index_of(live_from) - 2)
    start = min(start, end)
    previous: Decision | None = None
    prev_key: str | None = None
    for h in range(start, end + 1):
        month = month_of(h)
        periods = grid_periods(first_month, month, since_end)
        if previous is not None:
            labels = {p.label for p in periods}
            periods += [Period(p.label, p.first, p.last, "past") for p in previous.periods
                        if p.level in ("since", "past") and p.label not in labels]
        # Rows always shown in full (contacts recorded late) take no part: the attacker subtracts
        # them, and a late contact must not change a decision already published.
        step_tables = {name: TableIn([r for r in t.rows if r not in t.public],
                                     {k: v for k, v in t.counts.items() if k[1] <= month and k[0] not in t.public},
                                     frozenset(), t.neutral, t.levels) for name, t in tables.items()}
        key = _digest(step_tables, periods, min_cell, prev_key)
        decision = _cached(key)
        if decision is None:
            decision = _solve(step_tables, periods, min_cell, previous)
            _keep(key, decision)
        previous, prev_key = decision, key
    assert previous is not None
    _keep(full_key, previous)
    return previous


def _solve(tables: Mapping[str, TableIn], periods: list[Period], min_cell: int,
           previous: Decision | None = None) -> Decision:
    import numpy as np
    from scipy import sparse
    from scipy.optimize import Bounds, LinearConstraint, milp
    if not periods:
        return Decision(periods)
    pb = _Problem(tables, periods, min_cell)
    n = pb.n
    # One more binary per column (table x period) holding a zero: "withhold this column's zeros".
    # A zero is withheld exactly when its column's flag is set, so a column either shows every
    # zero (and then its withheld cells are known to be >= 1) or none.
    columns: dict[tuple[str, str], list[int]] = {}
    for j, (table, row, label) in enumerate(pb.keys):
        if table and row not in tables[table].public and j not in pb.never:
            columns.setdefault((table, label), []).append(j)
    col_keys = [k for k, js in columns.items() if any(pb.values[j] == 0 for j in js) and not pb.known[js[0]]]
    col_index = {k: n + i for i, k in enumerate(col_keys)}
    n_all = n + len(col_keys)
    lower = np.zeros(n_all)
    upper = np.ones(n_all)
    groups: set[tuple[str, str]] = set()
    for j, (table, row, _label) in enumerate(pb.keys):
        v = pb.values[j]
        if pb.known[j] or (table and row in tables[table].public):
            upper[j] = 0.0
        elif v == 0 and not table:
            upper[j] = 0.0  # a zero total is never withheld
        elif 0 < v < min_cell:
            lower[j] = 1.0
    if previous is not None:
        # what was published stays published, what was withheld stays withheld
        before = {p.label for p in previous.periods}
        for j, key in enumerate(pb.keys):
            if key[2] not in before or upper[j] == 0:
                continue
            if not previous.ok or key in previous.withheld:
                lower[j] = 1.0
            else:
                upper[j] = 0.0
                lower[j] = 0.0
    for p in periods:
        total = pb.values[pb.index[("", TOTAL, p.label)]]
        if not 0 < total < GROUP_LIMIT:
            continue
        for name, t in tables.items():
            if p.level not in t.levels:
                continue
            if any(pb.values[pb.index[(name, r, p.label)]] == total for r in t.rows
                   if r not in t.public and r not in t.neutral):
                groups.add((name, p.label))
                for j in columns[(name, p.label)]:
                    lower[j] = 1.0
                if (name, p.label) in col_index:
                    lower[col_index[(name, p.label)]] = 1.0
    for k, i in col_index.items():
        if any(upper[j] == 0 and pb.values[j] == 0 for j in columns[k]):
            upper[i] = 0.0  # a zero already published stays shown, so its column's zeros do
    np.minimum(lower, upper, out=lower)  # what was published stays published, whatever a rule now says
    for j in pb.never:
        lower[j] = upper[j] = 0.0 if pb.known[j] else 1.0  # never shown: no choice, no cost
    if not lower[:n].any():
        return Decision(periods, groups=groups)  # nothing small, no group: nothing to protect
    cost = np.zeros(n_all)
    cost[:n] = [0.0 if j in pb.never else pb.cost(j) for j in range(n)]
    for k, i in col_index.items():
        cost[i] = 0.25 * sum(pb.cost(j) for j in columns[k] if pb.values[j] == 0)
    rows_i: list[int] = []
    cols_i: list[int] = []
    vals: list[float] = []
    r_count = 0

    def add(coefs: Mapping[int, float]) -> None:
        nonlocal r_count
        for col, v in coefs.items():
            rows_i.append(r_count)
            cols_i.append(col)
            vals.append(v)
        r_count += 1

    eq_rows_start = 0
    # a zero is withheld exactly when its column's flag is: s_j - z = 0 (two inequalities)
    for k, js in columns.items():
        if k not in col_index:
            continue
        for j in js:
            if pb.values[j] == 0:
                add({j: 1.0, col_index[k]: -1.0})
                add({j: -1.0, col_index[k]: 1.0})
    del eq_rows_start
    # any relation holding a withheld non-zero cell holds at least two withheld cells
    for members in pb.relations():
        free = [j for j in members if upper[j] > 0]
        for m in free:
            if pb.values[m] == 0:
                continue
            coefs = {j: 1.0 for j in free}
            coefs[m] = coefs[m] - 2.0
            add(coefs)
    base = sparse.csr_matrix((vals, (rows_i, cols_i)), shape=(r_count, n_all)) if r_count else None
    cuts: list[list[int]] = []
    checker = _Attacker(pb, columns, col_index, groups, upper[:n] > 0)
    decision = Decision(periods, groups=groups)
    for round_ in range(1, MAX_ROUNDS + 1):
        constraints = []
        if base is not None:
            constraints.append(LinearConstraint(base, lb=0.0, ub=np.inf))
        if cuts:
            ci = [i for i, c in enumerate(cuts) for _ in c]
            cj = [j for c in cuts for j in c]
            constraints.append(LinearConstraint(sparse.csr_matrix((np.ones(len(cj)), (ci, cj)), shape=(len(cuts), n_all)),
                                                lb=1.0, ub=np.inf))
        res = milp(cost, integrality=np.ones(n_all), bounds=Bounds(lower, upper), constraints=constraints,
                   options={"time_limit": 60.0, "mip_rel_gap": 0.02})
        if res.x is None:
            log.warning("statistics suppression: no solution (%s); withholding everything", res.message)
            return Decision(periods, groups=groups, rounds=round_, ok=False)
        s = res.x > 0.5
        new_cuts = checker.cuts(s)
        if not new_cuts:
            decision.withheld = {pb.keys[j] for j in range(n) if s[j]}
            decision.rounds = round_
            return decision
        cuts.extend(new_cuts)
    log.warning("statistics suppression: not settled after %d rounds; withholding everything", MAX_ROUNDS)
    return Decision(periods, groups=groups, rounds=MAX_ROUNDS, ok=False)


@dataclass
class _Result:
    status: int  # 0 optimal, 3 unbounded, 2 anything else (as scipy's linprog numbers them)
    x: np.ndarray
    fun: float
    eq_duals: np.ndarray
    ub_duals: np.ndarray


class _LP:
    """One attacker's linear programme, built once and re-solved for each objective.

    The constraints stay, only the costs change, so HiGHS starts each solve from the last basis:
    the check of a decision is thousands of small LPs, and this is several times faster than
    building each one afresh through `scipy.optimize.linprog`.
    """

    def __init__(self, A_eq: sparse.csr_matrix, b_eq: np.ndarray, A_ub: sparse.csr_matrix | None,
                 b_ub: np.ndarray | None, bounds: Sequence[tuple[float, float | None]]) -> None:
        import highspy
        import numpy as np
        from scipy import sparse
        # rows: the equations, then G x >= 1 for the cells known to be at least 1 (A_ub = -G, b_ub = -1)
        A = A_eq if A_ub is None else sparse.vstack([A_eq, -A_ub])
        A = sparse.csc_matrix(A)
        inf = highspy.kHighsInf
        self.n_eq = A_eq.shape[0]
        lp = highspy.HighsLp()
        lp.num_col_ = A.shape[1]
        lp.num_row_ = A.shape[0]
        lp.col_cost_ = np.zeros(A.shape[1])
        lp.col_lower_ = np.array([lo for lo, _hi in bounds], dtype=float)
        lp.col_upper_ = np.array([inf if hi is None else hi for _lo, hi in bounds], dtype=float)
        lower = np.asarray(b_eq, dtype=float)
        upper = np.asarray(b_eq, dtype=float)
        if A_ub is not None and b_ub is not None:
            lower = np.concatenate([lower, -np.asarray(b_ub, dtype=float)])
            upper = np.concatenate([upper, np.full(len(b_ub), inf)])
        lp.row_lower_ = lower
        lp.row_upper_ = upper
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = A.indptr
        lp.a_matrix_.index_ = A.indices
        lp.a_matrix_.value_ = A.data
        h = highspy.Highs()  # type: ignore[no-untyped-call]
        h.setOptionValue("output_flag", False)
        h.setOptionValue("presolve", "off")  # keeps the basis between solves, and unboundedness exact
        h.passModel(lp)
        self.h = h
        self.n = A.shape[1]
        self.cols = np.arange(self.n, dtype=np.int32)

    def solve(self, c: np.ndarray) -> _Result:
        import highspy
        import numpy as np
        h = self.h
        h.changeColsCost(self.n, self.cols, np.asarray(c, dtype=float))
        h.run()
        status = h.getModelStatus()
        empty = np.zeros(0)
        if status == highspy.HighsModelStatus.kUnbounded:
            return _Result(3, empty, -math.inf, empty, empty)
        if status != highspy.HighsModelStatus.kOptimal:
            return _Result(2, empty, math.nan, empty, empty)
        sol = h.getSolution()
        duals = np.asarray(sol.row_dual)
        return _Result(0, np.asarray(sol.col_value), float(h.getInfo().objective_function_value),
                       duals[: self.n_eq], duals[self.n_eq:])


class _Attacker:
    """The attacker's linear programmes over the true month cells (for the cut loop).

    Checked table by table with every month total known to the attacker (more than is published,
    so a table safe here is safe beside the others: given the month totals, the tables share
    nothing else), and the withheld totals over every table at once with the ties between them.
    """

    def __init__(self, pb: _Problem, columns: Mapping[tuple[str, str], list[int]],
                 col_index: Mapping[tuple[str, str], int], groups: set[tuple[str, str]],
                 can_hide: np.ndarray) -> None:
        import numpy as np
        from scipy import sparse
        self.pb = pb
        self.can_hide = can_hide
        self.column_of = {j: k for k, js in columns.items() for j in js}
        self.col_index = col_index
        self.groups = groups
        self.values = np.array(pb.values, dtype=float)
        self.passed: set[tuple[str, bytes, bytes]] = set()
        names = list(pb.tables)
        self.atom: dict[tuple[str, Hashable, int], int] = {}
        for name in names:
            for r in pb.tables[name].rows:
                for i in range(pb.n_months):
                    self.atom[(name, r, i)] = len(self.atom)
        self.truth = np.zeros(len(self.atom))
        for (name, r, i), a_ in self.atom.items():
            self.truth[a_] = pb.tables[name].counts.get((r, month_of(pb.start + i)), 0)
        self.scope_vars: dict[str, np.ndarray] = {}
        self.G: dict[str, sparse.csr_matrix] = {}
        self.extra: dict[str, tuple[sparse.csr_matrix, np.ndarray]] = {}
        self.cols: dict[str, np.ndarray] = {}
        self.bounds: dict[str, list[tuple[float, float | None]]] = {}
        month_totals = np.zeros(pb.n_months)
        first = names[0]
        for r in pb.tables[first].rows:
            for i in range(pb.n_months):
                month_totals[i] += self.truth[self.atom[(first, r, i)]]
        for name in [*names, ""]:
            tables = names if name == "" else [name]
            cols = np.array([self.atom[(t, r, i)] for t in tables for r in pb.tables[t].rows for i in range(pb.n_months)])
            local = {int(c): k for k, c in enumerate(cols)}
            self.cols[name] = cols
            self.bounds[name] = [(0.0, 0.0 if i < pb.first_live else None)
                                 for t in tables for _r in pb.tables[t].rows for i in range(pb.n_months)]
            vars_ = [j for j, key in enumerate(pb.keys) if key[0] in ("", name)]
            self.scope_vars[name] = np.array(vars_, dtype=int)
            ri: list[int] = []
            ci: list[int] = []
            for j in vars_:
                table, row, _label = pb.keys[j]
                a, b = pb.spans[j]
                a -= pb.start
                b -= pb.start
                owner = tables[0] if row == TOTAL else table
                rows = pb.tables[owner].rows if row == TOTAL else [row]
                for r in rows:
                    for i in range(a, b + 1):
                        ri.append(j)
                        ci.append(local[self.atom[(owner, r, i)]])
            self.G[name] = sparse.csr_matrix((np.ones(len(ri)), (ri, ci)), shape=(pb.n, len(cols)))
            ti: list[int] = []
            tj: list[int] = []
            tv: list[float] = []
            k = 0
            if name:
                for i in range(pb.n_months):  # the month totals, known
                    for r in pb.tables[name].rows:
                        ti.append(k)
                        tj.append(local[self.atom[(name, r, i)]])
                        tv.append(1.0)
                    k += 1
                rhs = month_totals.copy()
            else:
                for other in names[1:]:  # ties: every table sums to the same month total
                    for i in range(pb.n_months):
                        for r in pb.tables[names[0]].rows:
                            ti.append(k)
                            tj.append(local[self.atom[(names[0], r, i)]])
                            tv.append(1.0)
                        for r in pb.tables[other].rows:
                            ti.append(k)
                            tj.append(local[self.atom[(other, r, i)]])
                            tv.append(-1.0)
                        k += 1
                rhs = np.zeros(k)
            self.extra[name] = (sparse.csr_matrix((tv, (ti, tj)), shape=(k, len(cols))), rhs)

    def cuts(self, s_all: np.ndarray) -> list[list[int]]:
        pb = self.pb
        s = s_all[: pb.n]
        out: list[list[int]] = []
        for name in pb.tables:
            key = (name, s_all[self.scope_vars[name]].tobytes(), s_all[pb.n:].tobytes())
            if key in self.passed:
                continue  # this table's pattern was already checked and held
            found = self._scope(s_all, name)
            if not found:
                self.passed.add(key)
            out += found
        if any(s[j] and pb.values[j] > 0 and pb.keys[j][0] == "" for j in range(pb.n)):
            out += self._scope(s_all, "")
        return [c for c in {tuple(c): c for c in out}.values()]

    def _scope(self, s_all: np.ndarray, name: str) -> list[list[int]]:
        import numpy as np
        from scipy import sparse
        pb = self.pb
        s = s_all[: pb.n]

        def zeros_hidden(j: int) -> bool:
            k = self.column_of.get(j)
            i = self.col_index.get(k) if k is not None else None
            return i is not None and bool(s_all[i])

        scope = self.scope_vars[name]
        G = self.G[name]
        truth = self.truth[self.cols[name]]
        shown = np.array([j for j in scope if not s[j] and not pb.known[j]], dtype=int)
        never = pb.never
        withheld = [int(j) for j in scope if s[j] and pb.values[j] > 0 and j not in never]
        # what is checked: this table's cells (or, over every table, the withheld totals), and the
        # small cells of months never published (nothing may pin them either)
        hidden = np.array([j for j in withheld if (pb.keys[j][0] == "") == (name == "")]
                          + [int(j) for j in scope if j in never and 0 < pb.values[j] < pb.min_cell
                             and pb.keys[j][0] == name], dtype=int)
        groups = sorted((g for g in self.groups if g[0] == name), key=repr)
        if len(hidden) == 0 and not groups:
            return []
        extra_A, extra_b = self.extra[name]
        A_eq = sparse.vstack([G[shown], extra_A]).tocsr()
        beq = np.concatenate([self.values[shown], extra_b])
        need_one = [j for j in withheld if not zeros_hidden(j)]
        A_ub = -G[need_one] if need_one else None
        b_ub = -np.ones(len(need_one)) if need_one else None
        # withholding a column's zeros takes away "its withheld cells are >= 1": a cut may do that too
        relax = [self.col_index.get(self.column_of.get(j, ("", ""))) for j in need_one]

        def support_of(res: _Result) -> set[int]:
            out = {int(shown[i]) for i in np.flatnonzero(np.abs(res.eq_duals[: len(shown)]) > 1e-9)
                   if self.can_hide[shown[i]]}
            if need_one:
                out |= {int(r) for r in (relax[i] for i in np.flatnonzero(np.abs(res.ub_duals) > 1e-9))
                        if r is not None}
            return out

        lp = _LP(A_eq, beq, A_ub, b_ub, self.bounds[name])
        run = lp.solve

        H = G[hidden] if len(hidden) else None
        cuts: list[list[int]] = []
        if H is not None:
            truth_h = H @ truth
            lo = truth_h.copy()
            hi = truth_h.copy()

            def note(x: np.ndarray) -> None:
                vals = H @ x
                np.minimum(lo, vals, out=lo)
                np.maximum(hi, vals, out=hi)

            def open_(k: int) -> bool:
                return bool(math.floor(hi[k] + TOL) - math.ceil(lo[k] - TOL) >= 1)

            # Cover many cells per LP: push the unresolved ones up together, then down, while that helps.
            rng = np.random.default_rng(19)
            todo = [k for k in range(len(hidden)) if not open_(k)]
            for attempt in range(8):
                if not todo:
                    break
                before = len(todo)
                if attempt < 2:
                    weights = np.ones(len(todo)) * (1.0 if attempt == 0 else -1.0)
                else:
                    weights = rng.choice([-1.0, 1.0], size=len(todo))
                c = np.asarray(H[todo].T @ weights).ravel()
                for sign in (-1.0, 1.0):
                    res = run(sign * c)
                    if res.status == 0:
                        note(res.x)
                todo = [k for k in todo if not open_(k)]
                if attempt >= 2 and len(todo) == before:
                    break
            for k in todo:
                j = hidden[k]
                if open_(k):
                    continue
                support: set[int] = set()
                bounded = True
                for sign in (1.0, -1.0):
                    res = run(sign * np.asarray(G[j].todense()).ravel())
                    if res.status == 3:  # unbounded: the cell can grow without limit
                        bounded = False
                        break
                    if res.status != 0:
                        continue
                    note(res.x)
                    support |= support_of(res)
                if not bounded or open_(k):
                    continue
                cuts.append(sorted(support) if support else [int(x) for x in shown if self.can_hide[x]])
        # rule-3 columns: some other category must be possible
        for table, label in groups:
            t = pb.tables[table]
            total_j = pb.index[("", TOTAL, label)]
            for r in t.rows:
                if r in t.public or r in t.neutral or pb.values[pb.index[(table, r, label)]] != pb.values[total_j]:
                    continue
                others = [pb.index[(table, q, label)] for q in t.rows if q != r]
                res = run(-np.asarray(G[others].sum(axis=0)).ravel())
                if res.status == 3 or (res.status == 0 and -res.fun >= 1 - TOL):
                    continue
                support = support_of(res) if res.status == 0 else set()
                cuts.append(sorted(support) if support else [int(x) for x in shown if self.can_hide[x]])
        return cuts


# --- answering queries from the decision ----------------------------------------------------------

class LinkedGrid:
    """One table's counts with the grid decision: the Grid interface of app/stats/disclosure.py.

    `cell(row, months)` / `total(months)` answer a contiguous run of months with a sum of published
    grid cells over disjoint periods, or None. Months before the first case are known zeros; months
    not yet settled (`opaque`) show only their total (when it is 0 or at least `min_cell`).
    """

    def __init__(self, name: str, table: TableIn, decision: Decision, min_cell: int,
                 first_month: str | None, opaque: Iterable[str] = (), last_month: str | None = None) -> None:
        self.name = name
        self.rows = list(table.rows)
        self.public = table.public
        self.neutral = table.neutral
        self.min_cell = min_cell
        self.levels = table.levels
        self.decision = decision
        self.opaque = frozenset(opaque)
        self.first = index_of(first_month) if first_month else None
        self.last = index_of(last_month) if last_month else None
        self._counts = {k: v for k, v in table.counts.items() if v}
        self._columns: dict[str, dict[Any, int]] = {}
        for (row, month), n in self._counts.items():
            self._columns.setdefault(month, {})[row] = n
        self._by_start: dict[int, list[Period]] = {}
        for p in decision.periods:
            self._by_start.setdefault(p.first, []).append(p)
        self.grid_end = max((p.last for p in decision.periods), default=-1)

    # the Grid interface
    def months(self) -> list[str]:
        return sorted(self._columns)

    def keys(self) -> list[tuple[Any, str]]:
        return list(self._counts)

    def count(self, row: Any, month: str) -> int:
        return self._counts.get((row, month), 0)

    def true_total(self, month: str) -> int:
        return sum(self._columns.get(month, {}).values())

    def hidden(self, row: Any, month: str) -> bool:
        return self.cell(row, [month]) is None

    def _value(self, row: Any, months: Sequence[str]) -> int:
        if row == TOTAL:
            return sum(self.true_total(m) for m in months)
        return sum(self.count(row, m) for m in months)

    def _known_zero(self, i: int) -> bool:
        """Before the first or after the last month with a case (both public: the default range)."""
        return self.first is None or i < self.first or (self.last is not None and i > self.last)

    def _published(self, row: Any, p: Period) -> bool:
        if row == TOTAL:
            return self.decision.total_shown(p.label)
        return p.level in self.levels and self.decision.shown(self.name, row, p.label)

    def _cover(self, row: Any, months: Sequence[str]) -> list[str] | None:
        """Disjoint published pieces covering the months (labels), or None."""
        if not months:
            return []
        a, b = index_of(months[0]), index_of(months[-1])
        best: dict[int, list[str]] = {a: []}
        for i in range(a, b + 1):
            if i not in best:
                continue
            path = best[i]
            steps: list[tuple[int, str]] = []
            m = month_of(i)
            if self._known_zero(i):
                steps.append((i + 1, m))
            elif i > self.grid_end and row == TOTAL:
                # not settled: a month's total shows when it is 0 or not small; its rows never do
                n = self.true_total(m)
                if n == 0 or n >= self.min_cell:
                    steps.append((i + 1, m))
            for p in self._by_start.get(i, []):
                if p.last <= b and self._published(row, p):
                    steps.append((p.last + 1, p.label))
            for nxt, label in steps:
                cand = [*path, label]
                if nxt not in best or len(cand) < len(best[nxt]):
                    best[nxt] = cand
        return best.get(b + 1)

    def cell(self, row: Any, months: Iterable[str]) -> int | None:
        ms = sorted(months)
        if self._cover(row, ms) is None:
            return None
        return self._value(row, ms)

    def total(self, months: Iterable[str]) -> int | None:
        ms = sorted(months)
        if self._cover(TOTAL, ms) is None:
            return None
        return self._value(TOTAL, ms)

    def pieces(self, months: Sequence[str]) -> list[tuple[str, list[str]]]:
        """The published grid periods (label, months) whose totals make up `months`, or []."""
        labels = self._cover(TOTAL, sorted(months)) or []
        spans = {p.label: p.months for p in self.decision.periods}
        return [(label, spans.get(label, [label])) for label in labels]

    def published_periods(self, months: Sequence[str]) -> list[str]:
        """The grid periods whose totals make up `months`; if they do not, the largest published ones
        inside it; if none, the nearest published period around it (or overlapping it)."""
        ms = sorted(months)
        cover = self._cover(TOTAL, ms)
        if cover is not None:
            return cover
        a, b = index_of(ms[0]), index_of(ms[-1])
        inside = [p for p in self.decision.periods if a <= p.first and p.last <= b and self._published(TOTAL, p)]
        inside.sort(key=lambda p: (p.first, -(p.last - p.first)))
        out: list[str] = []
        reach = a - 1
        for p in inside:
            if p.first > reach:
                out.append(p.label)
                reach = p.last
        if out:
            return out
        # nothing published inside it: the nearest published period around it, or overlapping it
        published = [p for p in self.decision.periods if self._published(TOTAL, p) and p.first <= b and p.last >= a]
        around = [p for p in published if p.first <= a and p.last >= b]
        pool = around or published
        if not pool:
            return []
        best = min(pool, key=lambda p: (p.last - p.first, p.first))
        return [best.label]


def last_settled(months: Iterable[str], opaque: Iterable[str]) -> str | None:
    closed = set(opaque)
    settled = [m for m in months if m not in closed]
    return max(settled) if settled else None
