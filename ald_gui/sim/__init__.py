"""The reactor simulator: a configuration's PLC served over Modbus TCP.

``server.Simulator`` (and ``server.run_simulator`` for ``ald-gui simulate``) serves a
``model.ReactorModel``: the register image (``image``) of every polled tag and the
plant's physics (``physics``) on an injectable clock. ``faults`` holds the request
faults tests switch on. No Qt here.
"""
