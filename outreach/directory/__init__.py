"""The local referral directory: public listing, opening hours, admin editing and CSV."""
