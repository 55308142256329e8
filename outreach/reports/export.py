"""CSV exports and small-count suppression, as pure functions.

Shareable exports hide small counts. The method, per measure (encounters, people served,
each supply item, each referral type, ...), on its table of periods x zones with both
margins (period totals over zones, zone totals over the whole range, the grand total):

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

Participant counts are distinct counts: their totals are not sums of their cells, so no
subtraction recovers a hidden one; they get primary suppression only.

Suppression protects one export. Several exports of overlapping periods at different
granularities could be combined; share one export per report.
"""

from __future__ import annotations

import csv
import io
from collections import deque
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import date

from outreach.models import ALL_ZONES
from outreach.models import NO_ZONE
from outreach.reports.queries import Cells

# Text cells starting with these would run as formulas in spreadsheet programs.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CSV_BOM = "\ufeff"
ALL_KEY = "all"
NONE_KEY = "none"
HEADER = [
    "period",
    "period_start",
    "period_end",
    "zone",
    "zone_name",
    "measure",
    "key",
    "name",
    "value",
    "suppressed",
]
ENCOUNTER_MEASURES = (
    "encounters",
    "people_served",
    "syringes_collected",
    "naloxone_reversals_reported",
)
# Cost tiers for complementary cells: hide interior cells first, the grand total last.
MARGIN_COST = 10**6
GRAND_TOTAL_COST = 10**9


def safe_text(value: str) -> str:
    """Text a spreadsheet shows as text, never runs as a formula."""
    if value and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


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


def suppress(table: Table, threshold: int) -> set[tuple[int, int]]:
    """Choose the cells to hide (primary, then complementary until none can be pinned)."""
    primary = primary_cells(table, threshold)
    hidden = set(primary)
    if not table.additive or not primary:
        table.suppressed = hidden
        return hidden
    for cell in sorted(_exposed(table, hidden, primary)):
        if can_change(table, hidden, cell):
            continue
        for extra in _rectangles(table, hidden, cell):
            if can_change(table, hidden | extra, cell):
                hidden |= extra
                break
        else:  # pragma: no cover - the margin rectangle always frees a cell (module doc)
            raise AssertionError("no complementary cells found")
    table.suppressed = hidden
    return hidden


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


# --- tables from the roll-ups --------------------------------------------------------------


@dataclass(frozen=True)
class Labels:
    """Names to print: measures, zones (by id) and catalogue entries (by id)."""

    measures: dict[str, str]
    zones: dict[int, tuple[str, str]]  # id → (key, name); NO_ZONE included
    items: dict[int, tuple[str, str]]
    referral_types: dict[int, tuple[str, str]]
    all_zones: str
    item_order: Sequence[int] = ()
    referral_order: Sequence[int] = ()


def build_tables(
    cells: Cells,
    periods: Sequence[tuple[date, date]],
    zone_ids: Sequence[int],
    participants: dict[tuple[int, int], int],
    range_participants: dict[int, int],
    labels: Labels,
) -> list[Table]:
    """One table per measure over the periods (rows) and zones (columns)."""
    period_of = {}
    for index, (start, end) in enumerate(periods):
        for ordinal in range(start.toordinal(), end.toordinal() + 1):
            period_of[date.fromordinal(ordinal)] = index
    zone_index = {zone_id: j for j, zone_id in enumerate(zone_ids)}
    shape = (len(periods), len(zone_ids))

    def empty() -> list[list[list[int]]]:
        return [[[0, 0] for _ in range(shape[1])] for _ in range(shape[0])]

    def frozen(grid) -> list[list[tuple[int, int]]]:
        return [[(v, c) for v, c in row] for row in grid]

    encounter_grids = {measure: empty() for measure in ENCOUNTER_MEASURES}
    for (local_date, zone_id), totals in cells.days.items():
        i, j = period_of.get(local_date), zone_index.get(zone_id)
        if i is None or j is None:
            continue
        for measure in ENCOUNTER_MEASURES:
            encounter_grids[measure][i][j][0] += totals[measure]
            encounter_grids[measure][i][j][1] += totals["encounters"]
    item_grids: dict[int, list] = {}
    for (local_date, zone_id, item_id), (encounters, quantity) in cells.supplies.items():
        i, j = period_of.get(local_date), zone_index.get(zone_id)
        if i is None or j is None:
            continue
        grid = item_grids.setdefault(item_id, empty())
        grid[i][j][0] += quantity
        grid[i][j][1] += encounters
    referral_grids: dict[int, list] = {}
    for (local_date, zone_id, type_id), encounters in cells.referrals.items():
        i, j = period_of.get(local_date), zone_index.get(zone_id)
        if i is None or j is None:
            continue
        grid = referral_grids.setdefault(type_id, empty())
        grid[i][j][0] += encounters
        grid[i][j][1] += encounters

    tables = [
        additive_table(
            "encounters", "", labels.measures["encounters"], frozen(encounter_grids["encounters"])
        ),
        participants_table(shape, zone_ids, participants, range_participants, labels),
    ]
    for measure in ENCOUNTER_MEASURES[1:]:
        tables.append(
            additive_table(measure, "", labels.measures[measure], frozen(encounter_grids[measure]))
        )
    for item_id in _ordered(item_grids, labels.item_order):
        key, name = labels.items[item_id]
        tables.append(additive_table("supplies", key, name, frozen(item_grids[item_id])))
    for type_id in _ordered(referral_grids, labels.referral_order):
        key, name = labels.referral_types[type_id]
        tables.append(additive_table("referrals", key, name, frozen(referral_grids[type_id])))
    return tables


def _ordered(grids: dict[int, list], order: Sequence[int]) -> list[int]:
    known = [item_id for item_id in order if item_id in grids]
    return known + sorted(set(grids) - set(known))


def participants_table(
    shape: tuple[int, int],
    zone_ids: Sequence[int],
    participants: dict[tuple[int, int], int],
    range_participants: dict[int, int],
    labels: Labels,
) -> Table:
    """Distinct participants per period and zone; totals are distinct counts too."""
    rows = shape[0]
    values = [
        [participants.get((i, zone_id), 0) for zone_id in zone_ids]
        + [participants.get((i, ALL_ZONES), 0)]
        for i in range(rows)
    ]
    values.append(
        [range_participants.get(zone_id, 0) for zone_id in zone_ids]
        + [range_participants.get(ALL_ZONES, 0)]
    )
    return Table(
        "participants",
        "",
        labels.measures["participants"],
        values,
        [list(row) for row in values],
        additive=False,
    )


def table_rows(
    tables: Iterable[Table],
    period: str,
    periods: Sequence[tuple[date, date]],
    zone_ids: Sequence[int],
    labels: Labels,
) -> Iterator[list]:
    """CSV rows (after the header) of every table, suppressed cells left blank."""
    first, last = periods[0][0], periods[-1][1]
    row_labels = [(period, start, end) for start, end in periods] + [("all", first, last)]
    column_labels = [labels.zones[zone_id] for zone_id in zone_ids] + [(ALL_KEY, labels.all_zones)]
    for table in tables:
        for i, (period_name, start, end) in enumerate(row_labels):
            for j, (zone_key, zone_name) in enumerate(column_labels):
                hidden = (i, j) in table.suppressed
                yield [
                    period_name,
                    start.isoformat(),
                    end.isoformat(),
                    zone_key,
                    safe_text(zone_name),
                    table.measure,
                    table.key,
                    safe_text(table.name),
                    "" if hidden else table.values[i][j],
                    "yes" if hidden else "",
                ]


def write_csv(rows: Iterable[Sequence], header: Sequence[str] = HEADER) -> str:
    """RFC 4180 CSV with a UTF-8 byte order mark (so spreadsheets read accents right)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return CSV_BOM + buffer.getvalue()


def zone_label(zone_id: int, zones: dict[int, tuple[str, str]], no_zone: str) -> tuple[str, str]:
    """(key, name) of a zone id, NO_ZONE included."""
    if zone_id == NO_ZONE:
        return NONE_KEY, no_zone
    return zones[zone_id]
