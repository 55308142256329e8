"""Disclosure control: which figures may be shown or shared, as pure functions.

**Shareable exports** (``/reports/export.csv?suppress=1``) are published from fixed tables,
so that no combination of them says more than one table does:

- One *published table* per calendar year and measure (encounters, people served, each
  supply item, each referral type, ...): the year's twelve calendar months by the zones that
  had encounters that year, with both margins (month totals over zones, year totals per
  zone, the year's grand total). Whatever dates are asked for, a shareable file holds whole
  months copied from these tables, with the tables' own suppression pattern, and their year
  totals only when the request covers the whole year. Weeks, days and totals over part of a
  year are never shareable: a total over some months, or a week that overlaps a month, is a
  new sum over the same records, and differences between overlapping sums give back hidden
  cells (two weekly files, 2 to 15 and 2 to 22 November, subtracted, did exactly that). Different
  years share no records and no published sum, so their tables are independent.

Within a table:

1. *Primary suppression*: a cell is hidden when its value is 1..threshold-1, or when fewer
   than ``threshold`` encounters make it up (a quantity of 200 syringes handed out in two
   encounters says as much about those two people as a count of 2). Zeros are published.
2. *Complementary suppression*: additive tables are audited as a whole. The table with its
   margins is a circulation (cells flow from period nodes to zone nodes, zone totals to a
   grand-total node, the grand total on to a margin node, period totals back to the
   periods), so a hidden cell can change while every published number stays the same
   exactly when the graph of hidden cells carries a cycle through it: along a cycle, cells
   alternately gain and lose the same amount. The audit assumes the reader also knows that
   every hidden value is at least 1 (zeros are never hidden), so a cycle that would take
   some hidden cell below 1 does not count. While some primary cell can be pinned to one
   value, the cheapest rectangle of extra cells that frees it is hidden too (interior
   cells before period or zone totals, the grand total last). Hiding a cell can only free
   others, so the loop ends, at worst with every non-zero cell hidden.

Participant counts are distinct counts: a zone's or a year's total is not the sum of its
cells. But they are not free of sums: a first visit falls in exactly one period, so new
participants add up over time, and participants over a period before which nobody was seen
*are* new participants. Which participant figures are published at all, everywhere (screens,
summary.json, both CSVs, funder reports), is decided by ``participant_figures``: ended
calendar months, quarters and years only, new and returning of a quarter or year only as the
sum of shown months. What it withholds reaches a table as ``Table.withheld``; small counts
get primary suppression here, as on every screen ("fewer than N").
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field

# Cost tiers for complementary cells: hide interior cells first, the grand total last.
MARGIN_COST = 10**6
GRAND_TOTAL_COST = 10**9


def is_small(value: int, threshold: int) -> bool:
    """Whether a count is too small to show (1..threshold-1; zero is shown)."""
    return 1 <= value < threshold


def hidden_count(value: int, threshold: int) -> int | None:
    """The count as it may be shown: None when it must read "fewer than threshold"."""
    return None if is_small(value, threshold) else value


@dataclass
class Table:
    """One measure over periods x zones, with its margins in the last row and column.

    ``values[i][j]`` for i < len(periods), j < len(zones) is a cell; row index len(periods)
    holds zone totals over all periods, column index len(zones) holds period totals over all
    zones, and the corner the grand total. ``contributors`` counts the encounters behind
    each value.
    """

    measure: str
    key: str
    name: str
    values: list[list[int]]
    contributors: list[list[int]]
    additive: bool = True
    suppressed: set[tuple[int, int]] = field(default_factory=set)
    # Cells not published whatever their value (participant figures outside the calendar
    # rule, ``participant_figures``): always among the suppressed cells.
    withheld: set[tuple[int, int]] = field(default_factory=set)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.values), len(self.values[0])


def additive_table(measure: str, key: str, name: str, cells: list[list[tuple[int, int]]]) -> Table:
    """A table from (value, contributors) cells, with margins as sums."""
    rows, columns = len(cells), len(cells[0]) if cells else 0
    values = [[v for v, _c in row] + [sum(v for v, _c in row)] for row in cells]
    contributors = [[c for _v, c in row] + [sum(c for _v, c in row)] for row in cells]
    values.append([sum(values[i][j] for i in range(rows)) for j in range(columns + 1)])
    contributors.append([sum(contributors[i][j] for i in range(rows)) for j in range(columns + 1)])
    return Table(measure, key, name, values, contributors)


# --- suppression ---------------------------------------------------------------------------


def primary_cells(table: Table, threshold: int) -> set[tuple[int, int]]:
    """Cells too small to publish: value or contributors 1..threshold-1 (zeros are kept)."""
    rows, columns = table.shape
    return {
        (i, j)
        for i in range(rows)
        for j in range(columns)
        if table.values[i][j] >= 1
        and (table.values[i][j] < threshold or 1 <= table.contributors[i][j] < threshold)
    }


def suppress(
    table: Table, threshold: int, must_hide: set[tuple[int, int]] | None = None
) -> set[tuple[int, int]]:
    """Choose the cells to hide (primary, then complementary until none can be pinned).

    ``must_hide`` adds primary cells: a table summed from other tables (naloxone kits, the
    sum of every naloxone item) hides every cell hidden in one of its parts, or the sum
    less the published parts would give a hidden part back.
    """
    primary = primary_cells(table, threshold) | {
        (i, j) for i, j in must_hide or () if table.values[i][j] >= 1
    }
    hidden = set(primary)
    if not table.additive or not primary:
        table.suppressed = hidden | table.withheld
        return table.suppressed
    for cell in sorted(_exposed(table, hidden, primary)):
        if can_change(table, hidden, cell):
            continue
        for extra in _rectangles(table, hidden, cell):
            if can_change(table, hidden | extra, cell):
                hidden |= extra
                break
        else:  # pragma: no cover - the margin rectangle always frees a cell (module doc)
            raise AssertionError("no complementary cells found")
    table.suppressed = hidden | table.withheld
    return table.suppressed


def _edge(table: Table, cell: tuple[int, int]) -> tuple[str, str]:
    """The circulation edge (from node, to node) of a cell (module docstring)."""
    rows, columns = table.shape
    i, j = cell
    last_row, last_column = rows - 1, columns - 1
    if i < last_row and j < last_column:
        return f"p{i}", f"z{j}"
    if i < last_row:  # period total: margin node to the period
        return "zt", f"p{i}"
    if j < last_column:  # zone total: the zone to the grand-total node
        return f"z{j}", "pt"
    return "pt", "zt"


def can_change(table: Table, hidden: set[tuple[int, int]], cell: tuple[int, int]) -> bool:
    """Whether the hidden ``cell`` has another value consistent with everything published.

    Residual graph of the other hidden cells: each can grow (arc along its edge) and, if
    it is at least 2, shrink (arc against it). The cell can grow when its head reaches its
    tail, and shrink (if at least 2) when its tail reaches its head.
    """
    arcs: dict[str, list[str]] = {}
    for other in hidden:
        if other == cell:
            continue
        tail, head = _edge(table, other)
        arcs.setdefault(tail, []).append(head)
        if table.values[other[0]][other[1]] >= 2:
            arcs.setdefault(head, []).append(tail)
    tail, head = _edge(table, cell)
    if _reaches(arcs, head, tail):
        return True
    return table.values[cell[0]][cell[1]] >= 2 and _reaches(arcs, tail, head)


def _exposed(
    table: Table, hidden: set[tuple[int, int]], cells: set[tuple[int, int]]
) -> set[tuple[int, int]]:
    """The cells ``can_change`` might refuse, found fast for the whole table at once.

    A cell of 1 only grows, along arcs that all exist in the residual graph of every hidden
    cell: it can change exactly when its ends are strongly connected. A cell of 2 or more
    can change when it lies on a cycle of hidden cells that are all at least 2 (each can
    move either way): when it is no bridge of that graph. Cells passing neither check are
    audited one by one.
    """
    arcs: dict[str, list[str]] = {}
    two_way: dict[str, list[tuple[str, tuple[int, int]]]] = {}
    for cell in hidden:
        tail, head = _edge(table, cell)
        arcs.setdefault(tail, []).append(head)
        if table.values[cell[0]][cell[1]] >= 2:
            arcs.setdefault(head, []).append(tail)
            two_way.setdefault(tail, []).append((head, cell))
            two_way.setdefault(head, []).append((tail, cell))
    component = _strong_components(arcs)
    bridges = _bridges(two_way)
    exposed = set()
    for cell in cells:
        tail, head = _edge(table, cell)
        if table.values[cell[0]][cell[1]] >= 2:
            if cell in bridges:
                exposed.add(cell)
        elif component.get(tail) is None or component.get(tail) != component.get(head):
            exposed.add(cell)
    return exposed


def _strong_components(arcs: dict[str, list[str]]) -> dict[str, int]:
    """Tarjan's strongly connected components, iteratively: node → component number."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    component: dict[str, int] = {}
    components_found: list[str] = []
    counter = 0
    for root in list(arcs):
        if root in index:
            continue
        work = [(root, iter(arcs.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(arcs.get(child, ()))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                number = len(components_found)
                components_found.append(node)
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component[member] = number
                    if member == node:
                        break
    return component


def _bridges(edges: dict[str, list[tuple[str, tuple[int, int]]]]) -> set[tuple[int, int]]:
    """The bridges of an undirected graph given as node → [(neighbour, edge id)]."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    bridges: set[tuple[int, int]] = set()
    counter = 0
    for root in list(edges):
        if root in order:
            continue
        order[root] = low[root] = counter
        counter += 1
        work = [(root, None, iter(edges[root]))]
        while work:
            node, via, neighbours = work[-1]
            advanced = False
            for neighbour, edge in neighbours:
                if edge == via:
                    continue
                if neighbour not in order:
                    order[neighbour] = low[neighbour] = counter
                    counter += 1
                    work.append((neighbour, edge, iter(edges[neighbour])))
                    advanced = True
                    break
                low[node] = min(low[node], order[neighbour])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
                if low[node] > order[parent]:
                    bridges.add(via)
    return bridges


def _reaches(arcs: dict[str, list[str]], source: str, target: str) -> bool:
    seen = {source}
    queue = deque([source])
    while queue:
        node = queue.popleft()
        if node == target:
            return True
        for following in arcs.get(node, ()):
            if following not in seen:
                seen.add(following)
                queue.append(following)
    return False


def _cost(table: Table, cell: tuple[int, int]) -> int:
    rows, columns = table.shape
    i, j = cell
    value = table.values[i][j]
    if i == rows - 1 and j == columns - 1:
        return GRAND_TOTAL_COST + value
    if i == rows - 1 or j == columns - 1:
        return MARGIN_COST + value
    return value


def _rectangles(
    table: Table, hidden: set[tuple[int, int]], cell: tuple[int, int]
) -> Iterator[set[tuple[int, int]]]:
    """Sets of extra cells completing a rectangle with ``cell``, cheapest first."""
    rows, columns = table.shape
    i, j = cell
    candidates = []
    for other_row in range(rows):
        if other_row == i:
            continue
        for other_column in range(columns):
            if other_column == j:
                continue
            corners = {(i, other_column), (other_row, j), (other_row, other_column)}
            if any(table.values[a][b] < 1 for a, b in corners):
                continue
            extra = corners - hidden
            cost = sum(_cost(table, corner) for corner in extra)
            candidates.append((cost, sorted(extra)))
    candidates.sort()
    for _cost_value, extra in candidates:
        yield set(extra)
