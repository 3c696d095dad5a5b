"""Call-taking: the call centre as the call-takers live it, over ``telephony``.

The bridge's consumer (calls and seats persisted with their events), screen pops to the console
of the seat a call is offered to, call-centre actions (transfer, listen-in, recording ...),
text and alarm intake, and the simulated switch of the demo.
"""
