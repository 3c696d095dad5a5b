"""Contingency plans (预案): model, versions, matching, activation into tasks. Next milestone."""
