"""kombu's filesystem transport (the broker that needs no server), publishing atomically.

kombu's own `_put` creates the message file and then writes it; a worker polling the
folder at that moment takes the empty file and its consumer stops on the JSON error (seen
with beat publishing every few seconds). Here the message is written under another name
that no consumer reads (`….msg.partial`) and renamed into place, which is atomic.
"""

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue: str, message: Any, **kwargs: Any) -> None:  # type: ignore[override]
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = f"{final}.partial"
        try:
            with open(partial, "wb") as handle:
                handle.write(str_to_bytes(dumps(message)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {name!r} to the broker's folder") from exc


class Transport(filesystem.Transport):
    Channel = Channel
