"""The bag: what each worker carries, loaded, handed out, counted and adjusted.

contract.py   what a phone sends (pydantic; the OpenAPI document is generated from it)
ingest.py     a batch of stock events from a phone: idempotent by UUID, one result per record
ledger.py     the stock arithmetic, pure: a bag's history in, its figures out
services.py   reads: what each bag holds now, and the supervisor's figures for a period
voids.py      voiding a stock event entered by mistake (every read skips voided events)
views.py      /log/bag (the phone's bag screen, kept offline), /reports/stock and
              /reports/stock/events (the records, to void one)
"""
