"""Property-based fuzzing of report parameters: any query string gets 200 or a clear 400."""

from __future__ import annotations

from urllib.parse import urlencode

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

FUZZ = settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

dates = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.text(max_size=24),
    st.sampled_from(["", "2026-02-30", "2026-13-01", "0000-01-01", "9999-12-31", "2026-1-1"]),
)
values = st.one_of(st.text(max_size=24), st.sampled_from(["riverside", "day", "week", "month"]))
params = st.fixed_dictionaries(
    {},
    optional={
        "start": dates,
        "end": dates,
        "zone": values,
        "period": values,
        "suppress": values,
        "worker": values,
        "item": values,
        "preset": values,
    },
)


@FUZZ
@given(query=params)
def test_summary_json_answers_200_or_a_clear_400(supervisor_client, query):
    response = supervisor_client.get("/reports/summary.json?" + urlencode(query))
    assert response.status_code in (200, 400), (query, response.status_code)
    assert response.is_json
    body = response.get_json()
    if response.status_code == 400:
        assert isinstance(body.get("message") or body.get("error"), str)
    else:
        assert {"start", "end", "encounters", "participants"} <= set(body)


@FUZZ
@given(query=params)
def test_export_and_dashboard_never_fail_on_odd_parameters(supervisor_client, query):
    for path in ("/reports/export.csv", "/reports"):
        response = supervisor_client.get(path + "?" + urlencode(query))
        assert response.status_code in (200, 400), (path, query, response.status_code)
