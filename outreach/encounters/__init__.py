"""The encounter record: its contract, the writes that change it, and the roll-ups kept in step.

Everything that creates, voids or bulk-loads an encounter goes through this package, so the
daily roll-ups (``rollups``) can never disagree with the records. HTTP lives in
``outreach.sync`` (phones) and ``outreach.reports`` (voids from the supervisor's list), which
call in here; reports only read. A new kind of record (stock events, overdose responses) gets
a package of its own beside this one, built the same way: a contract, a resolve step, the
writes and any roll-ups they keep.
"""
