"""Migration revisions, written by hand; branches start at ``0001_foundation``."""
