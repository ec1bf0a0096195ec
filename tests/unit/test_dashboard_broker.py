"""The filesystem broker publishes atomically: a message half written is never taken."""

from pathlib import Path
from queue import Empty

import pytest
from kombu import Connection

from dashboard.broker import Channel, Transport


def test_a_message_is_renamed_into_place_and_a_partial_one_is_left_alone(tmp_path: Path) -> None:
    options = {"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path)}
    with Connection(transport=Transport, transport_options=options) as connection:
        channel: Channel = connection.channel()  # type: ignore[assignment]
        (tmp_path / "1_x.q.msg.partial").write_bytes(b"")  # a write under way
        with pytest.raises(Empty):
            channel._get("q")
        channel._put("q", {"body": "hello"})
        names = {p.name for p in tmp_path.iterdir()} - {"1_x.q.msg.partial"}
        assert len(names) == 1 and names.pop().endswith(".q.msg")
        assert (tmp_path / "1_x.q.msg.partial").exists()
        assert channel._get("q") == {"body": "hello"}
