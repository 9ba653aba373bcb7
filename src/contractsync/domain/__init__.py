"""The canonical contract-to-cash model: value objects, entities and their invariants. No I/O."""
