"""Use cases over the canonical model: validation, schedules, amendment planning, policy. No I/O."""
