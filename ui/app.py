"""The QApplication: high-DPI policy, identity (for QSettings), theme, and startup.

High-DPI scaling must be configured before the QApplication exists, so every entry point
(the ``quanta`` command, tests, screenshot scripts) goes through :func:`create_app`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QSettings, QTimer
from PySide6.QtWidgets import QApplication

from ui.theme import apply_theme, configure_high_dpi

ORGANIZATION = "Quanta"
APPLICATION = "Quanta"


def create_app(argv: list[str] | None = None) -> QApplication:
    """The one QApplication, themed (reused if it exists, e.g. under pytest-qt)."""
    app = QApplication.instance()
    if app is None:
        configure_high_dpi()
        app = QApplication(list(argv) if argv else [sys.argv[0] if sys.argv else "quanta"])
    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APPLICATION)
    apply_theme(app)
    return app


def grab_window(window, path: str | Path) -> Path:
    """Render the whole window (menus, docks, status) to a PNG, offscreen or not."""
    app = QApplication.instance()
    for _ in range(3):  # let layouts settle and deferred (0 ms) updates run
        app.processEvents()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(path), "PNG"):
        from engine.errors import QuantaError

        raise QuantaError(f"{path}: cannot write the screenshot")
    return path


def run(
    file: str | None = None,
    screenshot: str | None = None,
    size: tuple[int, int] = (1280, 800),
    start_engine: bool = True,
    settings: QSettings | None = None,
) -> int:
    """Open the main window (the demo song when no file is given) and run the event loop.

    With ``screenshot``, render the window to that PNG and return without waiting for the user.
    """
    app = create_app()
    # Load (or, after an install, compile) the numba kernels off the GUI thread.
    import threading

    from app.warmup import warm_up

    threading.Thread(target=warm_up, name="quanta-warm-up", daemon=True).start()
    scratch = None
    if screenshot and settings is None:
        # A screenshot must not depend on (or change) the user's saved layout and devices;
        # its throwaway settings folder is removed afterwards.
        import tempfile

        scratch = tempfile.mkdtemp(prefix="quanta-shot-")
        settings = QSettings(str(Path(scratch) / "settings.ini"), QSettings.IniFormat)
    try:
        return _open_window(app, file, screenshot, size, start_engine, settings)
    finally:
        if scratch is not None:
            import shutil

            shutil.rmtree(scratch, ignore_errors=True)


def _open_window(app, file, screenshot, size, start_engine, settings) -> int:
    from engine.errors import QuantaError
    from ui.main_window import MainWindow
    from ui.window_files import read_file

    project, error = None, ""
    if file:
        try:
            project = read_file(file)
        except QuantaError as exc:
            if screenshot:
                raise
            error = str(exc)
            print(f"quanta: error: {error}", file=sys.stderr)
    # No document given: the window opens the demo song under its name ("Demo Song").
    window = MainWindow(settings=settings, start_engine=start_engine and not screenshot)
    if project is not None:
        window.load_project(project, file)
    window.resize(*size)
    window.show()
    if screenshot:
        grab_window(window, screenshot)
        window.doc.undo_stack.setClean()
        window.close()
        return 0
    if error:
        window.show_error(error)
    else:
        QTimer.singleShot(0, window.offer_recovery)
    return app.exec()
