"""Fill msgstr entries of a .po catalogue from a Python dict file (development helper).

Usage: python scripts/po_fill.py outreach/translations/es/LC_MESSAGES/messages.po FILE.py
where FILE.py defines T = {"English": "Spanish", ...}. Existing translations are kept
unless the dict gives a new one.
"""

from __future__ import annotations

import runpy
import sys

from babel.messages.pofile import read_po
from babel.messages.pofile import write_po


def main(po_path: str, table_path: str) -> None:
    table = runpy.run_path(table_path)["T"]
    with open(po_path, "rb") as handle:
        catalog = read_po(handle)
    missing = []
    for message in catalog:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        if key in table:
            message.string = table[key]
            message.flags.discard("fuzzy")
        elif not message.string:
            missing.append(key)
    with open(po_path, "wb") as handle:
        write_po(handle, catalog, width=100)
    for key in missing:
        print("untranslated:", key)


if __name__ == "__main__":
    main(*sys.argv[1:3])
