"""Provider API clients: build requests, parse responses, classify errors."""
