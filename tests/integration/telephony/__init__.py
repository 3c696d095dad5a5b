"""Telephony over real TCP (the AMI simulator), a real database and the live app."""
