"""Dispatching: what the dispatcher does over ``dispatch`` and ``gis``.

Assigning units to incidents (``assignments``), a unit's status reports and the status board
(``unit_status``), which units to send (``recommendation``), and the status timers that raise
alerts (``timers``).
"""
