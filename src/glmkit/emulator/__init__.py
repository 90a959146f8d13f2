"""An offline, faithful Z.AI API: ``create_app()`` for ASGI, ``glm emulate`` for a server.

The emulator never imports the client (sharing its transport, it could share its bugs); it shares
the wire types, the error table and the SSE encoder.
"""

from glmkit.emulator.app import EmulatorConfig, create_app
from glmkit.emulator.faults import Fault

__all__ = ["EmulatorConfig", "Fault", "create_app"]
