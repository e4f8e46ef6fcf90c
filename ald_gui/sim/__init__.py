"""The reactor simulator: a configuration's PLC served over Modbus TCP.

``server.Simulator`` (and ``server.run_simulator`` for ``ald-gui simulate``) serves a
``model.ReactorModel``: the register image (``image``) of every polled tag and the
plant's physics (``physics``, with the film it grows in ``film``) on an injectable
clock, and the PLC's own pulse timers (``pulse_timer``). ``faults`` holds the request
faults tests switch on. No Qt here.
"""
