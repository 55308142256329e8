"""The bulk pieces of a fast ingest agree with the plain ways they replace.

- ``rollups._chain_difference`` (only around the days that change) with comparing every
  (day, previous day) pair of both chains (``rollups._chain_pairs``);
- ``privacy.checked_participant_code`` with ``participant_code_problem`` and
  ``normalise_participant_code`` called one after the other;
- ``writes.insert_rows`` and ``writes.existing_ids`` with what SQLAlchemy stores and reads.
"""

from __future__ import annotations

import uuid
from datetime import date
from datetime import datetime
from datetime import timedelta

import sqlalchemy as sa
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from outreach import privacy
from outreach.encounters import rollups
from outreach.encounters.writes import existing_ids
from outreach.encounters.writes import insert_rows
from outreach.extensions import db
from outreach.models import Encounter
from outreach.models import EncounterSupply

START = date(2026, 1, 1)


@settings(max_examples=400, deadline=None)
@given(
    st.sets(st.integers(0, 40), min_size=1, max_size=25).flatmap(
        lambda days: st.tuples(
            st.just(sorted(days)), st.sets(st.sampled_from(sorted(days)), min_size=1)
        )
    )
)
def test_chain_difference_is_the_difference_of_every_pair(chain_and_removed):
    longer_offsets, removed_offsets = chain_and_removed
    longer = [START + timedelta(days=n) for n in longer_offsets]
    removed = {START + timedelta(days=n) for n in removed_offsets}
    shorter = [day for day in longer if day not in removed]
    longer_pairs = set(rollups._chain_pairs(dict.fromkeys(longer, 1)))
    shorter_pairs = set(rollups._chain_pairs(dict.fromkeys(shorter, 1)))

    only_longer, only_shorter = rollups._chain_difference(longer, removed)

    assert sorted(only_longer) == sorted(longer_pairs - shorter_pairs)
    assert sorted(only_shorter) == sorted(shorter_pairs - longer_pairs)


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.text(max_size=80),
        st.from_regex(r"\s{0,3}[A-Za-z0-9 \-_./@()+]{1,20}\s{0,3}", fullmatch=True),
    ).filter(lambda code: code.strip())
)
def test_checked_code_is_the_check_then_the_normal_form(code):
    problem, normalised = privacy.checked_participant_code(code)
    assert problem == privacy.participant_code_problem(code)
    if problem is None:
        assert normalised == privacy.normalise_participant_code(code)
    else:
        assert normalised is None


def test_insert_rows_stores_what_sqlalchemy_reads_back(app):
    """Every column type of an encounter row (UUID, times, day, nulls) and its lines."""
    ids = [uuid.uuid4() for _ in range(3)]
    received = datetime(2026, 11, 21, 22, 15, 0, 123456)
    rows = [
        (ids[0], datetime(2026, 11, 21, 3, 4, 5, 6), date(2026, 11, 20), None, None, 1, 0, 0, 0,
         None, received),
        (ids[1], datetime(2026, 1, 2, 0, 0), date(2026, 1, 1), 1, "a" * 64, 3, 20, 1, 250,
         None, received),
    ]  # fmt: skip
    columns = (
        "id", "occurred_at", "local_date", "zone_id", "participant_hash", "people_served",
        "syringes_collected", "naloxone_reversals_reported", "syringes_collected_grams",
        "worker_id", "received_at",
    )  # fmt: skip
    with app.app_context():
        with db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                inserted = insert_rows(
                    connection, Encounter.__table__, columns, rows, skip_conflicts_on="id"
                )
                assert sorted(inserted) == sorted(ids[:2])
                # Again: both ids are stored now, so nothing is inserted or returned.
                again = insert_rows(
                    connection, Encounter.__table__, columns, rows, skip_conflicts_on="id"
                )
                assert again == []
            else:
                insert_rows(connection, Encounter.__table__, columns, rows)
            insert_rows(
                connection,
                EncounterSupply.__table__,
                ("encounter_id", "item_id", "quantity"),
                [(ids[0], 1, 20), (ids[1], 1, 5), (ids[1], 2, 1)],
            )
            assert existing_ids(connection, Encounter.__table__.c.id, ids) == set(ids[:2])
        stored = db.session.execute(
            sa.select(*(Encounter.__table__.c[name] for name in columns)).order_by(
                Encounter.local_date
            )
        ).all()
        assert [tuple(row) for row in stored] == sorted(rows, key=lambda row: row[2])
        lines = db.session.execute(
            sa.select(
                EncounterSupply.encounter_id, EncounterSupply.item_id, EncounterSupply.quantity
            )
        ).all()
        assert sorted(map(tuple, lines)) == sorted(
            [(ids[0], 1, 20), (ids[1], 1, 5), (ids[1], 2, 1)]
        )
