"""Quanta's dark theme: one palette and stylesheet shared by every widget.

Long sessions need low glare: the background is a warm dark grey rather than black (pure black
against bright notes tires the eyes), text is off-white, and a single accent colour (teal)
marks what is selected or active. Custom-painted widgets (piano roll, timing view) take their
colours from :data:`COLORS` so the whole window reads as one surface.

Call :func:`apply_theme` once on the QApplication, before widgets are shown.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

#: Named colours (hex) for custom painting and the stylesheet.
COLORS: dict[str, str] = {
    "window": "#1e2024",
    "base": "#17191c",  # editors, lists, the piano roll's background
    "alt_base": "#202328",
    "panel": "#25282d",  # docks, toolbars
    "raised": "#2e3238",  # buttons
    "raised_hover": "#383d44",
    "border": "#3a3f46",
    "text": "#d8dade",
    "text_dim": "#8a9099",
    "text_disabled": "#5c626b",
    "accent": "#3fb8af",  # selection, active toggles, playhead
    "accent_dim": "#2a7f79",
    "warning": "#e0a040",
    "error": "#e05561",
    # Piano roll
    "roll_bg": "#1a1c20",
    "roll_black_key_row": "#16181b",
    "roll_white_key_row": "#1d2024",
    "roll_octave_line": "#3a3f46",
    "roll_bar_line": "#565d67",
    "roll_beat_line": "#353a41",
    "roll_grid_line": "#272b30",
    "roll_swing_line": "#4a3f2a",  # swung off-beats: warm so they read as "moved"
    "key_white": "#c9ccd1",
    "key_black": "#2a2d32",
    "key_pressed": "#3fb8af",
    "note_low": "#3b6ea8",  # quiet notes: cool blue
    "note_high": "#e8784a",  # loud notes: warm orange
    "note_border": "#0d0e10",
    "note_selected": "#f2f2c8",
    "ghost": "#5ce1ff",  # quantize preview outlines: cyan, distinct from selected notes
    "note_other": "#8a93a0",  # other tracks' notes behind the current one (drawn faint)
    "playhead": "#3fb8af",
    "loop": "#d6a93a",  # the loop (cycle) range: yellow as in Logic, when looping is on
    "loop_off": "#6b6f76",  # the same range while looping is off
    "rubber_band": "#3fb8af",
    "before": "#e8784a",  # timing view: raw onsets
    "after": "#3fb8af",  # timing view: quantized onsets
    "groove": "#b48ef0",  # timing view: the groove's points
}


def color(name: str) -> QColor:
    """A theme colour as a QColor (for QPainter code)."""
    return QColor(COLORS[name])


def velocity_color(velocity: int) -> QColor:
    """Note fill colour for a velocity (1..127): blue when soft through green and yellow to
    orange when loud. Interpolated in hue, not RGB, so mid velocities stay vivid instead of a
    muddy grey."""
    t = max(0.0, min(1.0, (int(velocity) - 1) / 126.0))
    hue = 215 - t * 195  # 215° blue -> 20° orange
    sat = 0.42 + 0.25 * t
    val = 0.66 + 0.26 * t
    return QColor.fromHsvF(hue / 360.0, sat, val)


def palette() -> QPalette:
    """The Qt palette behind native-drawn widgets (menus, scroll bars, dialogs)."""
    c = {k: QColor(v) for k, v in COLORS.items()}
    p = QPalette()
    for group in (QPalette.Active, QPalette.Inactive):
        p.setColor(group, QPalette.Window, c["window"])
        p.setColor(group, QPalette.WindowText, c["text"])
        p.setColor(group, QPalette.Base, c["base"])
        p.setColor(group, QPalette.AlternateBase, c["alt_base"])
        p.setColor(group, QPalette.ToolTipBase, c["panel"])
        p.setColor(group, QPalette.ToolTipText, c["text"])
        p.setColor(group, QPalette.PlaceholderText, c["text_dim"])
        p.setColor(group, QPalette.Text, c["text"])
        p.setColor(group, QPalette.Button, c["raised"])
        p.setColor(group, QPalette.ButtonText, c["text"])
        p.setColor(group, QPalette.BrightText, c["error"])
        p.setColor(group, QPalette.Highlight, c["accent_dim"])
        p.setColor(group, QPalette.HighlightedText, QColor("#ffffff"))
        p.setColor(group, QPalette.Link, c["accent"])
        p.setColor(group, QPalette.Mid, c["border"])
        p.setColor(group, QPalette.Dark, c["base"])
        p.setColor(group, QPalette.Light, c["raised_hover"])
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        p.setColor(QPalette.Disabled, role, c["text_disabled"])
    p.setColor(QPalette.Disabled, QPalette.Base, c["window"])
    p.setColor(QPalette.Disabled, QPalette.Button, c["panel"])
    return p


STYLESHEET = f"""
QWidget {{ color: {COLORS["text"]}; }}
QMainWindow, QDialog {{ background: {COLORS["window"]}; }}
QDockWidget {{ titlebar-close-icon: none; }}
QDockWidget::title {{ background: {COLORS["panel"]}; padding: 4px 8px; }}
QToolBar {{ background: {COLORS["panel"]}; border: none; spacing: 4px; padding: 2px; }}
QStatusBar {{ background: {COLORS["panel"]}; color: {COLORS["text_dim"]}; }}
QGroupBox {{
    border: 1px solid {COLORS["border"]}; border-radius: 4px; margin-top: 14px; padding-top: 6px;
}}
QGroupBox::title {{
    subcontrol-origin: margin; left: 8px; padding: 0 4px; color: {COLORS["text_dim"]};
}}
QPushButton, QToolButton {{
    background: {COLORS["raised"]}; border: 1px solid {COLORS["border"]};
    border-radius: 3px; padding: 4px 10px;
}}
QPushButton:hover, QToolButton:hover {{ background: {COLORS["raised_hover"]}; }}
QPushButton:pressed, QToolButton:pressed {{ background: {COLORS["accent_dim"]}; }}
QPushButton:checked, QToolButton:checked {{
    background: {COLORS["accent_dim"]}; border-color: {COLORS["accent"]};
}}
QPushButton:disabled, QToolButton:disabled {{ color: {COLORS["text_disabled"]}; }}
QPushButton#primary {{ background: {COLORS["accent_dim"]}; border-color: {COLORS["accent"]}; }}
QComboBox, QSpinBox, QDoubleSpinBox, QLineEdit {{
    background: {COLORS["base"]}; border: 1px solid {COLORS["border"]};
    border-radius: 3px; padding: 2px 6px; selection-background-color: {COLORS["accent_dim"]};
}}
QComboBox:focus, QSpinBox:focus, QDoubleSpinBox:focus, QLineEdit:focus {{
    border-color: {COLORS["accent"]};
}}
QComboBox QAbstractItemView {{
    background: {COLORS["panel"]}; selection-background-color: {COLORS["accent_dim"]};
}}
QSlider::groove:horizontal {{ height: 4px; background: {COLORS["border"]}; border-radius: 2px; }}
QSlider::sub-page:horizontal {{ background: {COLORS["accent_dim"]}; border-radius: 2px; }}
QSlider::handle:horizontal {{
    background: {COLORS["text"]}; width: 12px; margin: -5px 0; border-radius: 6px;
}}
QSlider::handle:horizontal:hover {{ background: {COLORS["accent"]}; }}
QSlider::groove:horizontal:disabled {{ background: {COLORS["panel"]}; }}
QSlider::sub-page:horizontal:disabled {{ background: {COLORS["border"]}; }}
QSlider::handle:horizontal:disabled {{ background: {COLORS["text_disabled"]}; }}
QComboBox:disabled, QSpinBox:disabled, QDoubleSpinBox:disabled, QLineEdit:disabled {{
    color: {COLORS["text_disabled"]}; background: {COLORS["window"]};
}}
QCheckBox:disabled {{ color: {COLORS["text_disabled"]}; }}
QCheckBox::indicator {{
    width: 14px; height: 14px; border: 1px solid {COLORS["border"]};
    border-radius: 3px; background: {COLORS["base"]};
}}
QCheckBox::indicator:checked {{ background: {COLORS["accent"]}; border-color: {COLORS["accent"]}; }}
QHeaderView::section {{
    background: {COLORS["panel"]}; border: none; border-right: 1px solid {COLORS["border"]};
    padding: 4px;
}}
QTableView, QListView, QTreeView {{
    background: {COLORS["base"]}; alternate-background-color: {COLORS["alt_base"]};
    gridline-color: {COLORS["border"]}; border: 1px solid {COLORS["border"]};
}}
QScrollBar:horizontal, QScrollBar:vertical {{ background: {COLORS["base"]}; border: none; }}
QScrollBar:horizontal {{ height: 12px; }}
QScrollBar:vertical {{ width: 12px; }}
QScrollBar::handle {{ background: {COLORS["raised"]}; border-radius: 4px; min-width: 24px; min-height: 24px; margin: 2px; }}
QScrollBar::handle:hover {{ background: {COLORS["raised_hover"]}; }}
QScrollBar::add-line, QScrollBar::sub-line {{ width: 0; height: 0; }}
QScrollBar::add-page, QScrollBar::sub-page {{ background: none; }}
QToolTip {{
    background: {COLORS["panel"]}; color: {COLORS["text"]}; border: 1px solid {COLORS["border"]};
    padding: 4px;
}}
QMenu {{ background: {COLORS["panel"]}; border: 1px solid {COLORS["border"]}; }}
QMenu::item:selected {{ background: {COLORS["accent_dim"]}; }}
QLabel#dim {{ color: {COLORS["text_dim"]}; }}
"""


def apply_theme(app: QApplication) -> None:
    """Style the whole application: Fusion style (crisp at any DPI), palette, stylesheet."""
    app.setStyle("Fusion")
    app.setPalette(palette())
    app.setStyleSheet(STYLESHEET)
    font = app.font()
    if font.pointSizeF() < 9.5:
        font.setPointSizeF(9.5)
    font.setHintingPreference(QFont.PreferNoHinting)
    app.setFont(font)


def configure_high_dpi() -> None:
    """Call BEFORE creating the QApplication: fractional scale factors (150 %) then give crisp
    text and lines instead of being rounded to 1x or 2x."""
    QApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
