"""The fault suite: steady load, one fault at a time, and a check of every acknowledged item."""
