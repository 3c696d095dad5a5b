"""Telephony: the Asterisk AMI bridge, calls and seats, text/alarm intake, the AMI simulator.

Domain core (pure): ``calls``, ``seats``, ``stats``, ``tracker`` (AMI messages to domain events).
Adapters: ``ami_protocol`` and ``ami_client`` (the wire), ``bridge`` (the live connection and the
call-centre actions), ``store`` and ``tables`` (SQL), ``simulator`` (an Asterisk 22 AMI server
for the demo and the tests). Imports nothing of ours but ``gis`` value types.
"""
