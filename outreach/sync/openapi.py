"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json.

The encounter schema is generated from the contract (``outreach.encounters.contract``);
this module adds the HTTP surface around it: paths, statuses and errors.
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC
from datetime import datetime

from outreach.encounters import contract
from outreach.overdoses import contract as overdose_contract


def _error_response(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


NAMED_KEY = {
    "type": "object",
    "required": ["key", "name"],
    "properties": {"key": {"type": "string"}, "name": {"type": "string"}},
}

SPEC = {
    "openapi": "3.1.0",
    "info": {
        "title": "Outreach phone API",
        "version": "1",
        "description": (
            "Session, catalogue and idempotent encounter sync for the Outreach worker app. "
            "Every answer is JSON; nothing redirects. Signed-in session cookie required; "
            "writes need the X-CSRFToken header from GET /session."
        ),
    },
    "servers": [{"url": "/api/v1"}],
    "components": {
        "securitySchemes": {
            "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            "csrf": {
                "type": "apiKey",
                "in": "header",
                "name": "X-CSRFToken",
                "description": "The csrf_token from GET /session",
            },
        },
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error", "message"],
                "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
            },
            **contract.json_schemas(),
            "OverdoseResponse": overdose_contract.json_schema(),
            "SyncResult": {
                "type": "object",
                "required": ["id", "status"],
                "properties": {
                    "id": {"type": ["string", "null"]},
                    # duplicate: this account stored the id already; conflict: a record
                    # another account sent holds it (send the record again under a new id).
                    "status": {"enum": ["created", "duplicate", "conflict", "rejected"]},
                    "errors": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            },
        },
    },
    "security": [{"session": []}],
    "paths": {
        "/session": {
            "get": {
                "operationId": "getSession",
                "summary": "Who is signed in, and a CSRF token for writes",
                "responses": {
                    "200": {
                        "description": "Signed in",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["user", "csrf_token"],
                                    "properties": {
                                        "user": {
                                            "type": "object",
                                            "required": ["username", "role"],
                                            "properties": {
                                                "username": {"type": "string"},
                                                "role": {"enum": ["worker", "supervisor", "admin"]},
                                            },
                                        },
                                        "csrf_token": {"type": "string"},
                                        "seal_key": {
                                            "type": "object",
                                            "description": "Public P-256 JWK with its kid",
                                        },
                                        "lock_after_seconds": {"type": "integer"},
                                    },
                                }
                            }
                        },
                    },
                    "401": _error_response("Signed out"),
                    "429": _error_response("Too many requests"),
                    "503": _error_response("Database unavailable; retry later"),
                },
            }
        },
        "/catalog": {
            "get": {
                "operationId": "getCatalog",
                "summary": "Active supply items, referral types and zones",
                "responses": {
                    "200": {
                        "description": "The catalogue",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["version", "supplies", "referral_types", "zones"],
                                    "properties": {
                                        "version": {"type": "string"},
                                        "supplies": {
                                            "type": "array",
                                            "items": {
                                                "type": "object",
                                                "required": ["key", "name", "unit"],
                                                "properties": {
                                                    "key": {"type": "string"},
                                                    "name": {"type": "string"},
                                                    "unit": {"type": "string"},
                                                },
                                            },
                                        },
                                        "referral_types": {"type": "array", "items": NAMED_KEY},
                                        "zones": {"type": "array", "items": NAMED_KEY},
                                    },
                                }
                            }
                        },
                    },
                    "401": _error_response("Signed out"),
                    "429": _error_response("Too many requests"),
                    "503": _error_response("Database unavailable; retry later"),
                },
            }
        },
        "/sync": {
            "post": {
                "operationId": "syncEncounters",
                "summary": "Store a batch of records; one result per record, in order",
                "security": [{"session": [], "csrf": []}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["encounters"],
                                "properties": {
                                    "encounters": {
                                        "type": "array",
                                        "maxItems": 500,
                                        "items": {"$ref": "#/components/schemas/Encounter"},
                                    },
                                    "overdose_responses": {
                                        "type": "array",
                                        "maxItems": 500,
                                        "description": (
                                            "Optional. Answered under the same key; the "
                                            "record limit counts every kind together."
                                        ),
                                        "items": {"$ref": "#/components/schemas/OverdoseResponse"},
                                    },
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "One result per record, in order",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["results"],
                                    "properties": {
                                        "results": {
                                            "type": "array",
                                            "items": {"$ref": "#/components/schemas/SyncResult"},
                                        },
                                        "overdose_responses": {
                                            "type": "array",
                                            "description": "Only when the request sent them",
                                            "items": {"$ref": "#/components/schemas/SyncResult"},
                                        },
                                    },
                                }
                            }
                        },
                    },
                    "400": _error_response("Unreadable body"),
                    "401": _error_response("Signed out (checked before CSRF)"),
                    "403": _error_response("Missing or stale CSRF token, or forbidden"),
                    "413": _error_response("Over SYNC_MAX_RECORDS records (500) or 1 MiB"),
                    "429": _error_response(
                        "Too many requests (rate_limited) or records (record_budget) for "
                        "this account; see Retry-After"
                    ),
                    "503": _error_response("Database unavailable; retry later"),
                },
            }
        },
    },
}


def build_spec(
    supply_keys: list[str], referral_keys: list[str], zone_keys: list[str], max_records: int
) -> dict:
    """The description with this server's catalogue keys and a valid example batch."""
    spec = copy.deepcopy(SPEC)
    encounter = spec["components"]["schemas"]["Encounter"]["properties"]
    # The catalogue keys this server knows (active or not), so generated examples use them.
    overdose = spec["components"]["schemas"]["OverdoseResponse"]["properties"]
    if zone_keys:
        encounter["zone"]["anyOf"] = [{"enum": [*zone_keys, "", None]}]
        overdose["zone"]["anyOf"] = [{"enum": [*zone_keys, "", None]}]
    if supply_keys:
        encounter["supplies"]["anyOf"][0]["propertyNames"] = {"enum": supply_keys}
    if referral_keys:
        encounter["referrals"]["anyOf"][0]["items"] = {"enum": referral_keys}
    example = {
        "id": str(uuid.uuid4()),
        "occurred_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "zone": zone_keys[0] if zone_keys else None,
        "people_served": 1,
        "supplies": {key: 10 for key in supply_keys[:2]},
        "syringes_collected": 5,
        "naloxone_reversals_reported": 0,
        "referrals": referral_keys[:1],
    }
    body = spec["paths"]["/sync"]["post"]["requestBody"]["content"]["application/json"]
    body["schema"]["properties"]["encounters"]["maxItems"] = max_records
    body["schema"]["properties"]["overdose_responses"]["maxItems"] = max_records
    body["example"] = {"encounters": [example]}
    _add_stock_events(spec, supply_keys, max_records)
    return spec


def _add_stock_events(spec: dict, supply_keys: list[str], max_records: int) -> None:
    """The bag's record kind, sent beside "encounters" and answered beside "results"."""
    from outreach.stock import contract as stock_contract

    schema = stock_contract.json_schema()
    if supply_keys:
        schema["properties"]["items"]["propertyNames"] = {"enum": supply_keys}
    spec["components"]["schemas"]["StockEvent"] = schema
    post = spec["paths"]["/sync"]["post"]
    post["requestBody"]["content"]["application/json"]["schema"]["properties"]["stock_events"] = {
        "type": "array",
        "maxItems": max_records,
        "items": {"$ref": "#/components/schemas/StockEvent"},
    }
    answer = post["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
    session = spec["paths"]["/session"]["get"]["responses"]["200"]["content"]
    session["application/json"]["schema"]["properties"]["bag"] = {
        "type": "object",
        "description": (
            "What the server expects this worker's bag to hold: tracked item key to a whole "
            "number (negative when more was handed out than loaded); started is false "
            "before the first load-out or count."
        ),
        "properties": {
            "started": {"type": "boolean"},
            "items": {"type": "object", "additionalProperties": {"type": "integer"}},
        },
    }
    answer["stock_events"] = {
        "type": "array",
        "description": "Present when the body had stock_events: one result per event, in order.",
        "items": {"$ref": "#/components/schemas/SyncResult"},
    }
