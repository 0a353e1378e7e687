import json
from decimal import Decimal

import ecrules

policy = ecrules.load("export.ecp")
print(policy.name, policy.version, [rule.id for rule in policy.rules])

record = {
    "id": "TX-10", "date": "2026-03-02", "destination": "JP",
    "end_user": {"name": "Example Instruments KK", "country": "JP", "type": "commercial"},
    "end_use": "civilian",
    "items": [{"code": "6A005", "kind": "goods", "value": Decimal("1600.00"), "quantity": 1}],
    "total_value": Decimal("1600.00"),
}
decision = policy.evaluate(record)
print(decision.outcome, decision.fired, decision.obligations)
print(decision.basis[0])
print(json.dumps(decision.to_dict()))

# A stream of records: JSON Lines read with exact decimals, decided in order.
with open("transactions.jsonl", encoding="utf-8") as f:
    records = [json.loads(line, parse_float=Decimal) for line in f if line.startswith("{")]
for d in policy.evaluate_many(records):
    print(d.id, d.outcome, d.error.to_dict() if d.error else "")

# A policy that does not load raises PolicyError, with every diagnostic.
try:
    ecrules.load("broken.ecp")
except ecrules.PolicyError as exc:
    for diagnostic in exc.diagnostics:
        print(diagnostic.render())
