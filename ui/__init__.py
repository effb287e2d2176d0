"""The desktop app (PySide6 only). Talks to the engine through its narrow interface."""
