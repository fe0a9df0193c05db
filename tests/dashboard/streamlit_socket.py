"""A raw WebSocket client of a running Streamlit server, speaking its protocol (protobuf BackMsg
and ForwardMsg over ``/_stcore/stream``) as the browser does, without a browser. An attacker's
tool: it can offer any session id to reattach to, and fill in and submit forms by widget id.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.sync.client import connect


@dataclass
class Run:
    """What one script run sent back: every ForwardMsg, in order."""

    messages: list[ForwardMsg] = field(default_factory=list)

    @property
    def session_id(self) -> str | None:
        for message in self.messages:
            if message.WhichOneof("type") == "new_session":
                return message.new_session.initialize.session_id
        return None

    def elements(self, kind: str | None = None) -> list:
        """The new elements of the run's deltas (``kind``: e.g. "text_input", "button", "alert")."""
        found = []
        for message in self.messages:
            if message.WhichOneof("type") == "delta" and message.delta.WhichOneof("type") == "new_element":
                element = message.delta.new_element
                if kind is None or element.WhichOneof("type") == kind:
                    found.append(getattr(element, element.WhichOneof("type")))
        return found

    def text(self) -> str:
        """Everything the run drew, as protobuf text (labels, bodies, table bytes, URLs)."""
        return "\n".join(str(element) for element in self.elements())

    def widget_id(self, kind: str, label: str) -> str:
        for element in self.elements(kind):
            if element.label == label:
                return element.id
        raise AssertionError(f"no {kind} labelled {label!r} in the run: {self.text()[:2000]}")


class StreamlitSocket:
    """One WebSocket connection to ``/_stcore/stream``; ``session_id`` asks to reattach to a session."""

    def __init__(self, server: str, session_id: str | None = None, timeout: float = 30) -> None:
        url = server.replace("http://", "ws://", 1).rstrip("/") + "/_stcore/stream"
        # The browser offers [subprotocol, XSRF token, session id to reattach] in this header.
        protocols = ["streamlit", "no-xsrf-token"] + ([session_id] if session_id else [])
        self.timeout = timeout
        self._connection = connect(url, subprotocols=protocols, open_timeout=timeout, max_size=None)
        self.socket = self._connection.__enter__()

    def close(self) -> None:
        self._connection.__exit__(None, None, None)

    def __enter__(self) -> StreamlitSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send_run(self, widget_states: list[tuple[str, str, object]] = (), page_script_hash: str = "") -> None:
        """Ask for a script run with these widget values: (widget id, kind, value), kind one of
        "string" (a text input) or "trigger" (a button)."""
        message = BackMsg()
        state = message.rerun_script
        state.query_string = ""
        state.page_script_hash = page_script_hash
        for widget_id, kind, value in widget_states:
            widget = state.widget_states.widgets.add()
            widget.id = widget_id
            if kind == "string":
                widget.string_value = str(value)
            elif kind == "trigger":
                widget.trigger_value = bool(value)
            else:
                raise ValueError(kind)
        self.socket.send(message.SerializeToString())

    def receive_run(self) -> Run:
        """The messages up to the end of the next script run."""
        run = Run()
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            data = self.socket.recv(timeout=max(0.1, deadline - time.monotonic()))
            message = ForwardMsg()
            message.ParseFromString(data)
            run.messages.append(message)
            if message.WhichOneof("type") == "script_finished":
                return run
        raise TimeoutError(f"no script_finished within {self.timeout} s")

    def run(self, widget_states: list[tuple[str, str, object]] = ()) -> Run:
        self.send_run(widget_states)
        return self.receive_run()

    def sign_in(self, form: Run, username: str, password: str) -> Run:
        """Fill the sign-in form drawn by ``form`` and submit it, as the browser does."""
        self.send_sign_in(form, username, password)
        return self.receive_run()

    def send_sign_in(self, form: Run, username: str, password: str) -> None:
        self.send_run(
            [
                (form.widget_id("text_input", "Username"), "string", username),
                (form.widget_id("text_input", "Password"), "string", password),
                (form.widget_id("button", "Sign in"), "trigger", True),
            ]
        )
