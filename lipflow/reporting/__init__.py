"""Reporting: problems (text, JSON, GitHub), plans, runs, and a run's live progress."""
