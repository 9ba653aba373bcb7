"""Events out of the hub: CloudEvents envelopes, the outbox relay, the buses, outbound webhooks."""
