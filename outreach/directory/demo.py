"""Fictional directory entries for demos (`flask demo-directory`); never part of `seed`.

Every name ends in "(demo)" and every phone number is in the 555-01xx range kept for fiction.
"""

from __future__ import annotations

import sqlalchemy as sa

from outreach.directory.hours import DAYS
from outreach.directory.services import ServiceValues
from outreach.directory.services import save_service
from outreach.extensions import db
from outreach.models import DirectoryService
from outreach.models import ReferralType

WEEKDAYS = DAYS[:5]


def _hours(days, *ranges) -> dict:
    return {day: [list(r) for r in ranges] for day in days}


DEMO_SERVICES = [
    ServiceValues(
        name="Riverbend Harm Reduction Center (demo)",
        referral_keys=[
            "wound_care",
            "hiv_testing_prep",
            "hepatitis_c",
            "vaccination",
            "sti_testing",
            "moud",
        ],
        address="120 Example Avenue, Anytown",
        phone="(555) 555-0101",
        languages="English, Spanish",
        access="walk_in",
        hours={**_hours(WEEKDAYS, ("10:00", "18:00")), "sat": [["12:00", "16:00"]]},
        public_notes="Syringes, naloxone and wound care. No ID needed.",
        staff_notes="Ask for the duty nurse for same-day wound checks.",
    ),
    ServiceValues(
        name="Lantern Street Community Clinic (demo)",
        referral_keys=["medical_care", "wound_care", "vaccination", "hepatitis_c"],
        address="45 Lantern Street, Anytown",
        phone="(555) 555-0102",
        languages="English, Spanish, Haitian Creole",
        access="both",
        hours=_hours(DAYS[:4], ("08:00", "12:00"), ("13:00", "17:00")),
        public_notes="Sliding-scale fees; no one is turned away for inability to pay.",
        staff_notes="Front desk can fit in one outreach referral each afternoon.",
    ),
    ServiceValues(
        name="Northside Treatment Program (demo)",
        referral_keys=["moud", "detox"],
        address="9 North Corridor Road, Anytown",
        phone="(555) 555-0103",
        languages="English",
        access="walk_in",
        hours={**_hours(WEEKDAYS, ("06:00", "14:00")), "sat": [["07:00", "10:00"]]},
        public_notes="Same-day buprenorphine starts; methadone intake on weekdays.",
        staff_notes="",
    ),
    ServiceValues(
        name="Harbor Night Shelter (demo)",
        referral_keys=["housing", "food"],
        address="300 Harbor Way, Anytown",
        phone="(555) 555-0104",
        languages="English, Spanish",
        access="walk_in",
        hours=_hours(DAYS, ("19:00", "07:00")),
        public_notes="Beds are first come, first served from 7 pm. Pets welcome.",
        staff_notes="Call ahead after 10 pm; the night manager can hold a bed for 30 minutes.",
    ),
    ServiceValues(
        name="Open Table Community Kitchen (demo)",
        referral_keys=["food"],
        address="77 Market Square, Anytown",
        phone="(555) 555-0105",
        languages="English, Spanish",
        access="walk_in",
        hours=_hours(DAYS, ("11:30", "13:30")),
        public_notes="Hot lunch every day. Take-away bags on Fridays.",
        staff_notes="",
    ),
    ServiceValues(
        name="Safe Harbor Support Line (demo)",
        referral_keys=["domestic_violence", "housing", "mental_health"],
        address="",
        phone="(555) 555-0106",
        languages="English, Spanish",
        access="appointment",
        hours=_hours(DAYS, ("00:00", "24:00")),
        public_notes="Confidential phone support day and night; can arrange safe shelter.",
        staff_notes="Location is confidential: never give it out.",
    ),
    ServiceValues(
        name="Bridge Counseling Collective (demo)",
        referral_keys=["mental_health"],
        address="18 Bridge Street, Suite 2, Anytown",
        phone="(555) 555-0107",
        languages="English",
        access="both",
        hours={"tue": [["12:00", "20:00"]], "thu": [["12:00", "20:00"]]},
        public_notes="Drop-in group on Thursdays at 5 pm.",
        staff_notes="",
    ),
    ServiceValues(
        name="Paperwork Help Desk (demo)",
        referral_keys=["id_benefits"],
        address="Anytown Public Library, 2 Library Lane",
        phone="(555) 555-0108",
        languages="English, Spanish",
        access="appointment",
        hours={"wed": [["09:00", "13:00"]], "sat": [["10:00", "12:00"]]},
        public_notes="Help with ID, birth certificates, SNAP and Medicaid forms.",
        staff_notes="",
    ),
]


def add_demo_services() -> int:
    """Add the demo services that are not there yet (matched by name); return how many."""
    known_names = set(db.session.scalars(sa.select(DirectoryService.name)))
    known_types = set(db.session.scalars(sa.select(ReferralType.key)))
    added = 0
    for values in DEMO_SERVICES:
        if values.name in known_names:
            continue
        keys = [key for key in values.referral_keys if key in known_types]
        save_service(None, ServiceValues(**{**values.__dict__, "referral_keys": keys}), None)
        added += 1
    return added
